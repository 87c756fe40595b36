"""Disaster-relief assistance requests (product.md §3.2): triage, recommendation, decision, payment."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app

import clock
from models import Case, User
from models.types import utcnow
from workflows.definition import OWNER, Guard, Transition, Workflow, field_error, named
from workflows.relief.schemas import (ApproveArgs, CloseArgs, DisburseArgs, RecommendArgs, ReliefData,
                                      ReliefDataUpdate, asks_for_money, missing_fields)
from workflows.scoring import has_complete_score, is_eligible, not_recused, scored_by_recommender

STATES = ("draft", "submitted", "in_triage", "info_requested", "recommended", "council_review", "approved",
          "disbursed", "closed", "declined", "withdrawn")
#: The states in which a request waits for the Healthy City Office's triage.
TRIAGE_STATES = ("submitted", "in_triage")
# Councillors and staff enter relief requests (product.md §1).
CREATORS = ("staff", "councillor")


def amount(value) -> Decimal | None:
    """Return an amount kept in case data (a string) as a Decimal, or None."""
    return None if value in (None, "") else Decimal(str(value))


def cao_limit() -> Decimal:
    """Return the most the CAO may grant without Council (ACCORD_RELIEF_CAO_LIMIT)."""
    return Decimal(str(current_app.config["ACCORD_RELIEF_CAO_LIMIT"]))


def _sla() -> timedelta:
    return timedelta(hours=int(current_app.config["ACCORD_RELIEF_TRIAGE_SLA_HOURS"]))


def triage_deadline(case: Case) -> datetime | None:
    """Return when triage of a submitted request is due (naive UTC), or None if it was never submitted.

    Due within the SLA of its submission, moved on by the hours it waited for its owner's answer
    to a request for information, which are not the office's: kept in due_on by the submit and
    provide_info steps (migration 0015 gave it to the requests submitted before)."""
    return case.due_on


def _start_triage_clock(ctx) -> None:
    ctx.case.due_on = utcnow() + _sla()


def _resume_triage_clock(ctx) -> None:
    # The deadline moves on by the time the request waited in info_requested (it entered that
    # state at state_entered_at, which the engine moves on only after this effect): asking a
    # question neither clears a late request nor gives the office a new 48 hours.
    waited = utcnow() - ctx.case.state_entered_at
    ctx.case.due_on = triage_deadline(ctx.case) + waited


def hours_left(case: Case) -> float | None:
    """Return the hours before the triage deadline (negative once late, as triage_late says), or
    None outside triage. Exact: rounded, two minutes late read as 0.0 hours left beside the flag."""
    deadline = triage_deadline(case)
    if case.state not in TRIAGE_STATES or deadline is None:
        return None
    return (deadline - utcnow()).total_seconds() / 3600


def flags(case: Case) -> list[str]:
    """Return triage_late when a request waits for triage past its deadline."""
    deadline = triage_deadline(case)
    late = case.state in TRIAGE_STATES and deadline is not None and utcnow() > deadline
    return ["triage_late"] if late else []


def project(case: Case) -> None:
    """Copy the figures the annual report aggregates into the case's indexed columns."""
    data = case.data or {}
    case.country = data.get("country")
    case.category = data.get("disaster_type")
    case.amount_requested = amount(data.get("amount_requested"))
    case.amount_granted = amount(data.get("amount_granted"))
    case.amount_paid = amount(data.get("amount_paid"))


# ------------------------------------------------------------------ guards, routing and effects
#: The fields as the request form names them, in its order: what a refused submit lists.
FIELD_NAMES = {"city": "city struck", "country": "country", "partnership_id": "partner city in the inventory",
               "disaster_type": "kind of disaster", "disaster_date": "date of the disaster",
               "affected_population": "people affected", "description": "what happened and what is needed",
               "assistance_types": "kinds of help", "amount_requested": "amount requested",
               "channel": "delivering agency", "other_government_support": "support from other governments",
               "requesting_party": "who is asking for help", "party_type": "kind of organisation",
               "contact": "contact"}


def _complete(ctx) -> str | tuple | None:
    errors = missing_fields(ctx.data)
    if ctx.case.submitted_at is not None and "disaster_date" not in errors:
        # Corrected in answer to a question: the disaster came before the request about it (its
        # eligibility is judged as of the submission, where a later date would read as long ago).
        submitted = clock.city_date(ctx.case.submitted_at)
        when = ctx.data.get("disaster_date")
        if when and date.fromisoformat(str(when)) > submitted:
            errors["disaster_date"] = [f"The request was submitted on {submitted.isoformat()}: the disaster "
                                       "cannot have happened after it."]
    return (f"The request is not complete: {named(errors, FIELD_NAMES)}.", {"data": errors}) if errors else None


def _within_limit(ctx) -> bool:
    return (amount(ctx.data.get("amount_granted")) or Decimal("0")) <= cao_limit()


def _above_limit(ctx) -> bool:
    return not _within_limit(ctx)


def _grant_within_request(ctx) -> str | tuple | None:
    """Refuse a grant (proposed on recommend, or as revised on approve) above the amount requested,
    or any grant of money when no financial help was asked for."""
    granted = amount(ctx.data.get("amount_granted")) or Decimal("0")
    if not asks_for_money(ctx.data):
        if granted > 0:
            return field_error("amount_granted", "No financial help was asked for: the amount granted must be "
                                                  "0.00.")
        return None
    requested = amount(ctx.data.get("amount_requested"))
    if requested is not None and granted > requested:
        return field_error("amount_granted", f"The amount granted (${granted:,.2f}) is more than the amount "
                                              f"requested (${requested:,.2f}).")
    return None


def approved_on(case: Case) -> date:
    """Return the City's date on which an approved request's grant was approved: the day it
    entered the approved state (by the CAO, or by Council above the CAO's limit)."""
    return clock.city_date(case.state_entered_at)


def _paid_after_approval(ctx) -> str | tuple | None:
    """Refuse a payment dated before the day the grant was approved (a date in the future the
    payload's own schema refuses)."""
    approved = approved_on(ctx.case)
    if ctx.payload["paid_on"] < approved:
        return field_error("paid_on", f"The grant was approved on {approved.isoformat()}: the payment cannot "
                                       "be dated before that day.")
    return None


def _paid_within_grant(ctx) -> str | tuple | None:
    paid, granted = ctx.payload["amount_paid"], amount(ctx.data.get("amount_granted")) or Decimal("0")
    if paid > granted:
        return field_error("amount_paid", f"The amount paid (${paid:,.2f}) is more than the amount granted "
                                          f"(${granted:,.2f}).")
    if paid == 0 and granted > 0 and asks_for_money(ctx.data):
        return field_error("amount_paid", "Financial help was granted: record the amount paid (0 is only for "
                                          "non-financial help).")
    if paid > 0 and not ctx.payload.get("payment_reference"):
        return field_error("payment_reference", "Give the payment reference of the amount paid.")
    return None


def _not_recommender(case: Case, user: User) -> bool:
    return (case.data or {}).get("recommended_by") != user.id


_not_recommender.refusal = ("You recommended this request, so someone else must decide it "
                            "(separation of duties).")


def _may_decide(case: Case, user: User) -> bool:
    """Return whether the user may decide the request (as the CAO, or Council): not its recommender,
    nor an officer who declared a conflict of interest on it and holds the deciding role too (given
    it later, or both all along)."""
    return _not_recommender(case, user) and not_recused(case, user)


_may_decide.refusal = lambda case, user: (_not_recommender.refusal if not _not_recommender(case, user)
                                          else not_recused.refusal)


def _assign_to_actor(ctx) -> None:
    ctx.case.assignee_id = ctx.actor.id


def _remember_recommender(ctx) -> None:
    ctx.case.data = {**ctx.case.data, "recommended_by": ctx.actor.id}


data_complete = Guard("data_complete", _complete, "every required field is filled in and valid")
paid_within_grant = Guard("amount_paid_within_grant", _paid_within_grant,
                          "amount_paid is not more than amount_granted")
paid_after_approval = Guard("paid_on_after_approval", _paid_after_approval,
                            "paid_on is not before the day the grant was approved")
grant_within_request = Guard("amount_granted_within_request", _grant_within_request,
                             "amount_granted is not more than amount_requested, and 0 when no financial help "
                             "was asked for")

WORKFLOW = Workflow(
    name="relief",
    title="Disaster relief request",
    states=STATES,
    data_schema=ReliefData,
    field_names=FIELD_NAMES,
    readers=("hco", "cao", "council", "finance"),
    creators=CREATORS,
    editable_states=("draft", "info_requested"),
    project=project,
    flags=flags,
    state_labels={"in_triage": "In triage", "info_requested": "Information requested",
                  "council_review": "Council review"},
    scored=True,
    scorers=("hco",),
    claimed_by=("hco",),
    claimed_states=("in_triage",),
    scoring_states=("in_triage",),
    decided_states=("approved", "declined", "withdrawn", "disbursed", "closed"),
    transitions=(
        Transition("submit", ("draft",), "submitted", (OWNER,), "Submit", guards=(data_complete,),
                   effect=_start_triage_clock),
        Transition("start_triage", ("submitted",), "in_triage", ("hco",), "Start triage", effect=_assign_to_actor),
        Transition("request_info", ("in_triage",), "info_requested", ("hco",), "Request information",
                   may=not_recused, comment_required=True),
        Transition("provide_info", ("info_requested",), "in_triage", (OWNER,), "Provide information",
                   payload=ReliefDataUpdate, guards=(data_complete,), effect=_resume_triage_clock),
        Transition("recommend", ("in_triage",), "recommended", ("hco",), "Recommend", may=not_recused,
                   guards=(has_complete_score, scored_by_recommender, is_eligible, grant_within_request),
                   payload=RecommendArgs,
                   effect=_remember_recommender),
        Transition("decline", ("in_triage",), "declined", ("hco",), "Decline (screen out)", may=not_recused,
                   comment_required=True),
        Transition("approve", ("recommended",), "approved", ("cao",), "Approve", may=_may_decide,
                   when=_within_limit, payload=ApproveArgs, guards=(grant_within_request,)),
        Transition("approve", ("recommended",), "council_review", ("cao",), "Approve", may=_may_decide,
                   when=_above_limit, payload=ApproveArgs, guards=(grant_within_request,)),
        Transition("approve", ("council_review",), "approved", ("council",), "Approve", may=_may_decide,
                   payload=ApproveArgs, guards=(grant_within_request,)),
        # Declining decides as much as approving: the recommender takes neither decision.
        Transition("decline", ("recommended",), "declined", ("cao",), "Decline", may=_may_decide,
                   comment_required=True),
        Transition("decline", ("council_review",), "declined", ("council",), "Decline", may=_may_decide,
                   comment_required=True),
        Transition("disburse", ("approved",), "disbursed", ("finance",), "Record disbursement",
                   payload=DisburseArgs, guards=(paid_within_grant, paid_after_approval)),
        Transition("close", ("disbursed",), "closed", ("hco",), "Close", payload=CloseArgs),
        Transition("withdraw", ("draft", "submitted", "in_triage", "info_requested"), "withdrawn", (OWNER,),
                   "Withdraw"),
    ),
)
