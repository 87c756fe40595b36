"""The partnership workflow (product.md §3.3): a councillor proposes reviving a dormant
partnership or opening a new one; the Healthy City Office reviews and scores; the Policy and
Finance Committee and then Council decide, and an adoption updates the inventory."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy.orm import object_session

from models import Case, Partnership
from workflows.definition import OWNER, Guard, Transition, Workflow, field_error, incomplete, named
from workflows.partnership.inventory import (REVIVABLE, Live, Snapshot, adopt, lock_entry, lock_inventory, same_place,
                                             snapshot)
from workflows.partnership.schemas import PartnershipDecisionArgs, PartnershipData, ResubmitArgs
from workflows.scoring import has_complete_score, not_recused, scored_by_recommender

STATES = ("draft", "submitted", "under_review", "revision_requested", "committee_review", "deferred",
          "council_review", "adopted", "declined", "withdrawn")


#: The fields as the proposal form names them, in its order: what a refused submit lists.
FIELD_NAMES = {"proposal_type": "kind of proposal", "partnership_id": "inventory partnership",
               "partner_city": "partner city", "partner_country": "partner country",
               "sponsor_organization": "sponsoring organization", "sponsor_funding_secured": "sponsor's funding secured",
               "sponsor_amount": "sponsor's contribution", "city_contribution": "City's contribution",
               "focus_areas": "focus areas", "lead_department": "lead department", "duration_months": "duration",
               "rationale": "rationale", "expected_outcomes": "expected outcomes"}


def _complete(ctx) -> str | tuple | None:
    errors = incomplete(PartnershipData, ctx.data)
    if not errors:
        return None
    return f"The proposal is not complete or not valid: {named(errors, FIELD_NAMES)}.", {"data": errors}


def _adopting(ctx) -> bool:
    """Lock the inventory if this step is Council's adoption, and say whether it is: two adoptions
    at once are then decided one after the other (the second sees the first's change and is
    refused)."""
    adopting = ctx.transition is not None and ctx.transition.dest == "adopted"
    if adopting:
        lock_inventory(ctx.session)
    return adopting


def _entry(ctx, pid: int | None) -> Partnership | None:
    """Return the inventory entry a proposal names: when adopting, as committed now, locked."""
    if not pid:
        return None
    if getattr(ctx, "inventory", None) is not None:
        return ctx.inventory.get(pid)
    return lock_entry(ctx.session, pid) if _adopting(ctx) else ctx.session.get(Partnership, pid)


def _inventory(ctx) -> Live | Snapshot:
    """Return the inventory a check reads: the offer's snapshot, or the database as it is now."""
    return getattr(ctx, "inventory", None) or Live(ctx.session)


def _names_inventory_entry(ctx) -> str | tuple | None:
    data = ctx.data
    pid = data.get("partnership_id")
    entry = _entry(ctx, pid)
    if data.get("proposal_type") == "revival":
        if entry is None or entry.status not in REVIVABLE:
            return field_error("partnership_id", "A revival must name a dormant or completed partnership "
                                                  "of the inventory.")
        if not same_place(data["partner_city"], entry.city):
            return field_error("partner_city", f"The partnership revived is with {entry.city}; "
                                                "the partner city must be the same.")
        if not same_place(data.get("partner_country") or "", entry.country):
            return field_error("partner_country", f"The partnership revived is with {entry.city}, {entry.country}; "
                                                   "the partner country must be the same.")
    elif pid and (entry is None or entry.status != "prospective"):
        return field_error("partnership_id", "A new proposal may name only a prospective entry of the "
                                              "inventory; to revive a partnership, propose a revival.")
    elif entry is not None and not same_place(data.get("partner_country") or "", entry.country):
        return field_error("partnership_id", f"The prospective entry named is for {entry.country}; "
                                              "the partner country must be the same.")
    return None


def _not_a_duplicate(ctx) -> str | tuple | None:
    # Neither a new partnership nor a revived one may stand beside an active one with the same city.
    data = ctx.data
    if data.get("proposal_type") not in ("new", "revival") or not data.get("partner_city"):
        return None
    _adopting(ctx)  # (then after any adoption of the same city that is under way)
    active = _inventory(ctx).active_with_city(data["partner_city"], exclude=data.get("partnership_id"))
    if active is not None:
        return field_error("partner_city", f"The City already has an active partnership with {active.city}, {active.country} "
                                            f"(inventory #{active.id}).")
    return _not_beside_a_dormant_one(ctx)


def _not_beside_a_dormant_one(ctx) -> str | tuple | None:
    # A new partnership with the city of a dormant entry would leave that entry dormant for ever,
    # and its later revival refused as a duplicate: the proposal revives it instead. (A completed
    # partnership may be followed by a new one: Cape Town.) The city alone, as for an active entry
    # ("Sao Paulo, Brasil" stood beside the dormant "Sao Paulo, Brazil"); a city of the same name
    # elsewhere comes in through an entry an administrator adds, which the proposal then names.
    data = ctx.data
    if data.get("proposal_type") != "new":
        return None
    named = _entry(ctx, data.get("partnership_id"))
    if named is not None and same_place(named.city, data["partner_city"]):
        return None  # (an entry of its own for this city: one of the same name elsewhere)
    dormant = _inventory(ctx).dormant_with_city(data["partner_city"])
    if dormant is None:
        return None
    return field_error("partner_city", f"The City's partnership with {dormant.city}, {dormant.country} is "
                                        f"dormant (inventory #{dormant.id}): propose a revival of inventory "
                                        f"#{dormant.id} instead of a new partnership. If the partner is another "
                                        f"city of that name, an administrator adds it to the inventory (as "
                                        "prospective), and the proposal names it.")


def _names_its_dialogue(ctx) -> str | tuple | None:
    # A new partnership where the City is in dialogue (a prospective entry of its city or country)
    # is that dialogue's outcome: adopted apart, it left the entry prospective beside it for ever.
    # Asked when the proposal is made, not at its adoption (an entry added meanwhile is no reason
    # for Council to refuse it).
    data = ctx.data
    if data.get("proposal_type") != "new" or data.get("partnership_id") or not data.get("partner_city"):
        return None
    prospective = _inventory(ctx).prospective_for(data["partner_city"], data.get("partner_country") or "")
    if prospective is None:
        return None
    return field_error("partnership_id", f"The City is in dialogue about a partnership with {prospective.city} "
                                          f"(inventory #{prospective.id}, prospective): name that entry in the "
                                          "proposal.")


def _adoption_still_possible(case: Case) -> str | None:
    """Return why Council cannot adopt the proposal as the inventory stands now (it changed since
    the proposal was checked: the entry revived meanwhile, another proposal adopted), or None:
    the step is then not offered, and Council is told why, instead of a refusal naming a field
    it cannot mend. When the step is taken, the same checks come first, under lock."""
    session = object_session(case)
    ctx = SimpleNamespace(data=case.data or {}, session=session, transition=None, inventory=snapshot(session))
    found = _names_inventory_entry(ctx) or _not_a_duplicate(ctx)
    if found is None:
        return None
    message = found if isinstance(found, str) else found[0]
    return (f"The inventory changed since the proposal was checked: {message} Decline the proposal, or ask an "
            "administrator (who keeps the inventory) to correct it.")


complete = Guard("proposal_complete", _complete, "every required field is valid")
adoption_still_possible = Guard("adoption_still_possible", _adoption_still_possible,
                                "the inventory still allows the adoption", ahead=True)
names_inventory_entry = Guard("names_inventory_entry", _names_inventory_entry,
                              "a revival names a dormant or completed inventory entry")
not_a_duplicate = Guard("not_a_duplicate", _not_a_duplicate,
                        "no proposal duplicates an active partnership with the same city, nor proposes anew "
                        "a dormant one")
names_its_dialogue = Guard("names_its_dialogue", _names_its_dialogue,
                           "a new partnership names the prospective entry of its city or country")


def _take_review(ctx) -> None:
    ctx.case.assignee_id = ctx.actor.id


def _adopt(ctx) -> None:
    entry = adopt(ctx.session, ctx.actor, ctx.case)
    if ctx.case.data.get("partnership_id") != entry.id:
        ctx.case.data = {**ctx.case.data, "partnership_id": entry.id}


def _project(case: Case) -> None:
    data = case.data
    case.country = data.get("partner_country")
    case.category = data.get("proposal_type")
    amount = data.get("city_contribution")
    case.amount_requested = Decimal(amount) if amount is not None else None


def _decision(trigger: str, source: str, dest: str, roles: tuple[str, ...], label: str, **kw) -> Transition:
    # A body's decision is recorded in the audit event, never merged into the proposal's data.
    return Transition(trigger, (source,), dest, roles, label, payload=PartnershipDecisionArgs, merge_payload=False,
                      may=not_recused, **kw)


WORKFLOW = Workflow(
    name="partnership",
    title="Partnership proposal",
    states=STATES,
    data_schema=PartnershipData,
    field_names=FIELD_NAMES,
    readers=("hco", "committee", "council", "cao"),
    creators=("councillor",),
    editable_states=("draft", "revision_requested"),
    project=_project,
    scored=True,
    scorers=("hco",),
    claimed_by=("hco",),
    claimed_states=("under_review",),
    scoring_states=("under_review",),
    decided_states=("adopted", "declined", "withdrawn"),
    state_labels={"committee_review": "At committee", "council_review": "At Council", "adopted": "Adopted"},
    transitions=(
        Transition("submit", ("draft",), "submitted", (OWNER,), "Submit",
                   guards=(complete, names_inventory_entry, not_a_duplicate, names_its_dialogue)),
        Transition("start_review", ("submitted",), "under_review", ("hco",), "Start review", effect=_take_review),
        Transition("request_revision", ("under_review",), "revision_requested", ("hco",), "Request revision",
                   may=not_recused, comment_required=True),
        Transition("resubmit", ("revision_requested",), "under_review", (OWNER,), "Resubmit", payload=ResubmitArgs,
                   guards=(complete, names_inventory_entry, not_a_duplicate, names_its_dialogue)),
        # A proposal that fails a knock-out goes on too, its recommendation "ineligible" for the
        # committee to read and decide on (product.md: the officer has no step that declines it).
        Transition("recommend", ("under_review",), "committee_review", ("hco",), "Recommend to committee",
                   may=not_recused, guards=(has_complete_score, scored_by_recommender)),
        # An officer who declared a conflict of interest in review and sits on the committee, or
        # clerks for Council, takes no decision on the proposal there either (as in relief).
        _decision("defer", "committee_review", "deferred", ("committee",), "Defer", comment_required=True),
        Transition("reconsider", ("deferred",), "committee_review", ("committee",), "Reconsider", may=not_recused),
        _decision("approve", "committee_review", "council_review", ("committee",), "Approve and refer to Council"),
        _decision("decline", "committee_review", "declined", ("committee",), "Decline", comment_required=True),
        _decision("approve", "council_review", "adopted", ("council",), "Adopt",
                  guards=(names_inventory_entry, not_a_duplicate, adoption_still_possible), effect=_adopt),
        _decision("decline", "council_review", "declined", ("council",), "Decline", comment_required=True),
        Transition("withdraw", ("draft", "submitted", "under_review", "revision_requested"), "withdrawn", (OWNER,),
                   "Withdraw"),
    ),
)
