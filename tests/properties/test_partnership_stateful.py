"""Partnerships under random use: random people fire random steps and decisions on a few proposals,
and after every step the proposals, their trails and the inventory still agree."""
from __future__ import annotations

from collections import defaultdict

from hypothesis import strategies as st
from hypothesis.stateful import invariant
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Case, Partnership
from tests.properties.conftest import ODD_MONEY, WorkflowMachine, cents, run_machine
from workflows.audit import check_chain
from workflows.partnership.schemas import SPONSORS, PartnershipData, PartnershipDecisionArgs

# Longer than the indexed country column (80) yet within the field (120): PostgreSQL must take it.
LONG_COUNTRY = "The Federal Democratic Republic of the Island Municipalities of the Southern Ocean Basin"
NEW_CITIES = st.sampled_from([("Durban", "South Africa"), ("Kigali", "Rwanda"), ("Cape Town", "South Africa"),
                              ("Soyapango", "El Salvador"), ("Quito", LONG_COUNTRY)])
DECISIONS = st.fixed_dictionaries({}, optional={
    "meeting_reference": st.sampled_from(["2026.PF13.5", "2026.CC14.2"]),
    "motion": st.just("That Council revive the partnership."),
    "votes_for": st.integers(0, 40), "votes_against": st.integers(0, 40),
    "interests_declared": st.lists(st.just("Councillor Ana Bailao"), max_size=2)})
BAD_DECISIONS = st.sampled_from([{"meeting_reference": "PF13"}, {"votes_for": -1}, {"votes_against": 1001},
                                 {"interests_declared": [""]}, {"outcome": "adopted"}, {"motion": "x" * 5001}])
DECIDED = ("defer", "approve", "decline")


@st.composite
def proposals(draw, inventory: dict[str, tuple[int, str]]) -> dict:
    """Return a complete proposal: a revival of an inventory entry, or a new partnership."""
    sponsor = draw(st.sampled_from(SPONSORS))
    secured = sponsor != "none" and draw(st.booleans())
    data = {"sponsor_organization": sponsor, "sponsor_funding_secured": secured,
            "city_contribution": draw(cents(0, 10_000_000)),
            "focus_areas": draw(st.lists(st.sampled_from(["Waste management", "Healthy City approach",
                                                          "Emergency services"]), min_size=1, max_size=3)),
            "lead_department": "Solid Waste Management", "duration_months": draw(st.integers(1, 120)),
            "rationale": "Both cities ask to renew the exchange on waste and health.",
            "expected_outcomes": "A joint landfill-gas study and two staff exchanges a year."}
    if secured:
        data["sponsor_amount"] = draw(cents(0, 10_000_000))
    if draw(st.booleans()):
        # A revival names an entry: dormant or completed as it should, or one that is active or prospective.
        city = draw(st.sampled_from(sorted(inventory)))
        pid, country = inventory[city]
        return {**data, "proposal_type": "revival", "partnership_id": pid, "partner_country": country,
                "partner_city": city if draw(st.integers(0, 5)) else "Durban"}
    city, country = draw(NEW_CITIES)
    # A new proposal may name a prospective entry (Botswana), or wrongly a dormant one.
    named = draw(st.sampled_from([None, None, None, "Botswana", "Sao Paulo"]))
    return {**data, "proposal_type": "new", "partner_city": city, "partner_country": country,
            **({"partnership_id": inventory[named][0]} if named else {})}


def spoiled(data: dict) -> st.SearchStrategy[dict]:
    """Return the proposal with one field made invalid."""
    faults = st.sampled_from([
        {"proposal_type": "merger"}, {"sponsor_organization": "UN"}, {"focus_areas": []},
        {"focus_areas": ["x"] * 13}, {"duration_months": 0}, {"duration_months": 121}, {"partnership_id": 0},
        {"sponsor_organization": "none", "sponsor_funding_secured": True}, {"partner_city": " "},
        {"proposal_type": "revival", "partnership_id": None}, {"meeting_reference": "2026.PF13.5"},
    ]) | ODD_MONEY.map(lambda odd: {"city_contribution": odd})
    return faults.map(lambda fault: {**data, **fault})


def partial(data: dict) -> st.SearchStrategy[dict]:
    """Return the proposal with a few fields left out (a draft)."""
    return st.sets(st.sampled_from(sorted(data)), min_size=1, max_size=3).map(
        lambda gone: {k: v for k, v in data.items() if k not in gone})


class PartnershipMachine(WorkflowMachine):
    workflow = "partnership"
    # Councillors propose, one of them sitting on the committee; staff may not.
    owners = ("cllr", "cllr_committee", "staff")
    reference: dict[int, str]  # the inventory's statuses when the test began
    admin: object  # who sets the inventory back between examples

    def prepare(self) -> None:
        # Every example starts from the reference inventory; entries earlier examples created are set
        # aside. Through the administrator's edit, which records it: a status set behind Accord's back
        # is what `flask audit verify` reports.
        from workflows.partnership.inventory import edit_entry

        entries = db.session.scalars(select(Partnership)).all()
        for entry in entries:
            if entry.status != (status := self.reference.get(entry.id, "completed")):
                edit_entry(db.session, self.admin, entry.id, {"status": status})
        self.inventory = {e.city: (e.id, e.country) for e in entries if e.id in self.reference}
        self.since = db.session.scalar(select(func.max(AuditEvent.id))) or 0

    def case_data(self, valid: bool) -> st.SearchStrategy[dict]:
        proposal = proposals(self.inventory)
        return st.one_of(proposal, proposal, proposal.flatmap(partial)) if valid else proposal.flatmap(spoiled)

    def edit_data(self, case: Case, valid: bool) -> st.SearchStrategy:
        proposal = proposals(self.inventory)
        return proposal if valid else proposal.flatmap(spoiled)

    def good_payload(self, trigger: str, case: Case):
        if trigger == "resubmit":
            return st.just({}) | proposals(self.inventory)
        return DECISIONS if trigger in DECIDED else None

    def bad_payload(self, trigger: str, case: Case):
        if trigger == "resubmit":
            return proposals(self.inventory).flatmap(spoiled)
        return BAD_DECISIONS if trigger in DECIDED else None

    def check_history(self, case: Case, events: list[AuditEvent]) -> None:
        decision_fields = set(PartnershipDecisionArgs().fields)
        for e in events:
            if e.action in DECIDED:
                assert set(e.payload) <= decision_fields, f"case {case.id}: {e.action} recorded {e.payload}"
        # Decisions are recorded in the trail, never merged into the proposal.
        assert set(case.data) <= set(PartnershipData().fields), f"case {case.id}: data holds {sorted(case.data)}"
        adopted = [e for e in events if e.to_state == "adopted"]
        assert len(adopted) == (case.state == "adopted")
        if adopted:
            entry = db.session.get(Partnership, case.data["partnership_id"])
            assert entry.status == "active", f"case {case.id}: adopted, yet entry {entry.id} is {entry.status}"
            if case.data["proposal_type"] == "revival":
                assert entry.city.lower() == case.data["partner_city"].lower(), \
                    f"case {case.id}: revived {case.data['partner_city']} as entry {entry.id}, {entry.city}"

    @invariant()
    def inventory_chains_hold(self) -> None:
        chains = defaultdict(list)
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.chain.like("partnership:%"))
                                    .order_by(AuditEvent.chain, AuditEvent.seq)):
            chains[e.chain].append(e)
        assert all(check_chain(events) is None for events in chains.values())
        # Only an adoption changes the inventory here, and each names its case.
        assert all(e.payload.get("case_id") in self.state_of for events in chains.values() for e in events
                   if e.id > self.since), "an inventory change without an adoption"


def test_partnership_keeps_its_rules_under_random_use(app, make_user, capsys):
    reference = dict(db.session.execute(select(Partnership.id, Partnership.status)).all())
    admin = make_user("ada.admin", "admin", department="Information and Technology")
    run_machine(PartnershipMachine, capsys, reference=reference, admin=admin)
