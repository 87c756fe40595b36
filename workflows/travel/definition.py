"""The `travel` workflow (product.md §3.1): approval of a trip, then the post-trip report."""
from __future__ import annotations

from collections import Counter

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import bindparam, event, false, inspect, or_, select
from sqlalchemy.orm import Session, object_session, selectinload

import clock
from models import AuditEvent, Case, Department, Role, Score, User
from models.user import user_roles
from workflows.statements import constant
from workflows.definition import OWNER, Guard, Transition, Workflow, incomplete, named
from workflows.scoring import is_eligible, not_recused, read_scores, recused_reviewers
from workflows.travel.schemas import ReportArgs, TravelData, cost_total

NAME = "travel"
APPROVERS = ("dept_head", "committee", "cao")
# States in which a report is or was expected, so that the due date stays on record.
AFTER_TRIP = ("travelled", "report_submitted", "closed")


def is_councillor_trip(case: Case) -> bool:
    """Return whether the trip is a member of Council's (the committee decides, not a head): as
    requested (Case.requested_as), once it left its draft; in a draft, by the traveller's roles."""
    return requested_as(case) == "councillor"


# The roles its traveller held when a trip was last sent on from its draft, as its event records them.
_SENT_AS = (select(AuditEvent.actor_roles).where(AuditEvent.case_id == bindparam("case_id"),
                                                 AuditEvent.action == constant("submit"))
            .order_by(AuditEvent.seq.desc()).limit(1))


def requested_as(case: Case, recorded: bool = True) -> str:
    """Return the role the trip is requested in, "councillor" or "staff": as kept on the case; in
    a draft, or given recorded=False (being sent on now), by the traveller's roles now; for a trip
    sent on before migration 0021 kept it, by the roles its submit event recorded (the
    traveller's today may be others: a term ended)."""
    if case.requested_as is not None:
        return case.requested_as
    roles = None
    if recorded and case.state != "draft" and (session := object_session(case)) is not None and case.id is not None:
        roles = session.scalar(_SENT_AS, {"case_id": case.id})
    if roles is None:
        roles = case.owner.role_names
    return "councillor" if "councillor" in roles else "staff"


def is_approver(case: Case, user: User) -> bool:
    """Return whether the user decides this request: the committee for councillors, else the head of
    the traveller's own department (for a head's own trip, another head of it or the CAO)."""
    if is_councillor_trip(case):
        return user.has_role("committee")
    if case.owner.has_role("dept_head") and user.has_role("cao"):
        return True  # a head cannot approve their own trip; the CAO, above them, may
    return user.has_role("dept_head") and user.department_id == case.department_id


is_approver.refusal = ("Only the head of the traveller's own department decides a staff trip (the CAO a "
                       "department head's), and the Policy and Finance Committee a councillor's.")


def decides(case: Case, user: User) -> bool:
    """Return whether the user decides this request now: its approver (is_approver), unless they
    declared a conflict of interest on it. Then another takes the decision: another member of the
    committee for a councillor's trip, and for a staff trip the CAO, who may decide any staff trip
    on which its head has recused (a head's department may have no other head).

    The post-trip report is signed off by the same person: one who stepped aside from the decision
    has no more say on what came of the trip, and the one who decided in their place answers for it."""
    recused = recused_reviewers(case)
    if user.id in recused:
        return False
    return is_approver(case, user) or user.has_role("cao") and head_stepped_aside(case, recused)


def head_stepped_aside(case: Case, recused: frozenset[int] | None = None) -> bool:
    """Return whether one who decides this staff trip (its department's head) declared a conflict
    of interest on it, which hands the decision to the CAO. A CAO who scored it (above the
    threshold) and stepped aside hands over nothing: another CAO took the head's decision."""
    if is_councillor_trip(case):
        return False
    recused = recused_reviewers(case) if recused is None else recused
    session = object_session(case)
    return any(is_approver(case, reviewer) for rid in recused if (reviewer := session.get(User, rid)) is not None)


def reviews(case: Case, user: User) -> bool:
    """Return whether the user scores this trip (and reads no other review before scoring it):
    whoever decides it, or would but for a conflict they declare by scoring, and the CAO any trip
    above its threshold, which comes to CAO review. A committee member scored any staff trip, and
    a CAO any trip, and both counted in its aggregate and disagreement. Once the trip is in CAO
    review, the department head (or committee) has decided their part: the CAO alone scores, as a
    score changed after one's approval changed the aggregate the CAO decides on."""
    if case.state == "cao_review":
        return user.has_role("cao")
    if is_approver(case, user) or decides(case, user):
        return True
    total = estimated_total(case)
    return user.has_role("cao") and (case.state == "cao_review" or (
        total is not None and total > current_app.config["ACCORD_TRAVEL_CAO_THRESHOLD"]))


def may_review(case: Case, user: User) -> bool:
    """Return whether the user may come to score this trip, now or after it is returned: its
    approver (who, in CAO review, scores it again once it is resubmitted), and the CAO any trip
    (one under the threshold may pass it after a return; a head who steps aside hands the decision
    on). Both read no other review of it until they score it or it is decided."""
    return is_approver(case, user) or user.has_role("cao")


reviews.refusal = ("Only who decides this trip scores it: the head of the traveller's department (the CAO for a "
                   "department head's trip, and for one above the CAO threshold), or the Policy and Finance "
                   "Committee for a councillor's; once it is in CAO review, the CAO alone.")


decides.refusal = ("Only the head of the traveller's own department decides a staff trip (the CAO a department "
                   "head's, or one on which a reviewer declared a conflict of interest), and the Policy and Finance "
                   "Committee a councillor's; one who declared a conflict of interest on it does not decide it.")


#: The states in which a staff trip waits for the head of its department (decides): its decision,
#: and the sign-off of its report (the CAO's instead, where the head declared a conflict on it).
AWAITING_HEAD = ("submitted", "report_submitted")


def headless_departments(session: Session, among: set[int] | None = None) -> list[tuple[Department, int]]:
    """Return the departments (of `among`, if given) whose staff trips wait for their head's
    decision while no active account there holds the Department Head role, each with how many
    wait, by name.

    A head deactivated, or moved to another department, left those trips waiting for no one, and
    said so nowhere: an administrator gives someone there the role (an acting head). A head's own
    trip goes to the CAO, a councillor's to the committee, and a trip on which its head declared a
    conflict of interest (its decision, or its report) to any CAO who did not: none of those is counted.
    The departments without a head are found first (few, most often none); only their waiting
    trips are read, and their scores in one query.
    """
    headed = (select(User.department_id).join(User.roles)
              .where(Role.name == "dept_head", User.active.is_(True)))
    stmt = (select(Case).where(Case.workflow == constant(NAME), Case.state.in_(AWAITING_HEAD),
                               Case.department_id.not_in(headed)).options(selectinload(Case.owner)))
    if among is not None:
        stmt = stmt.where(Case.department_id.in_(list(among)))
    waiting = [c for c in session.scalars(stmt) if not is_councillor_trip(c) and not c.owner.has_role("dept_head")]
    if not waiting:
        return []
    read_scores(waiting)  # (one query: whether a reviewer stepped aside, for each)
    cao = set(session.scalars(select(User.id).join(User.roles).where(Role.name == "cao", User.active.is_(True))))
    counts = Counter(c.department_id for c in waiting if not (
        (recused := recused_reviewers(c)) and cao - recused and head_stepped_aside(c, recused)))
    departments = {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(list(counts))))}
    return sorted(((departments[d], n) for d, n in counts.items()), key=lambda pair: pair[0].name.casefold())


#: The states in which the post-trip report stands filed (returned, it is owed again).
REPORT_FILED = ("report_submitted", "closed")


def report_filed_on(case) -> str | None:
    """Return the day the trip's post-trip report was filed, while it stands filed: a report
    returned to its traveller keeps its text (to be mended), and its day, but is owed again."""
    report = case.data.get("report")
    return report.get("filed_on") if case.state in REPORT_FILED and isinstance(report, dict) else None


def estimated_total(case: Case) -> Decimal | None:
    """Return the estimated total of a request, or None when no costs are entered."""
    costs = case.data.get("estimated_cost")
    return cost_total(costs) if isinstance(costs, dict) else None


def _date(value) -> date | None:
    return date.fromisoformat(value) if value else None


def report_due_on(case: Case) -> date | None:
    """Return the day by which the post-trip report is due: as fixed when the trip was completed,
    or, before that, as it would be under today's setting."""
    if case.due_on is not None:
        return case.due_on.date()
    end = _date(case.data.get("end_date"))
    return end + timedelta(days=current_app.config["ACCORD_TRAVEL_REPORT_DUE_DAYS"]) if end else None


def is_overdue(case: Case) -> bool:
    """Return whether the trip is over, its report past due and not filed."""
    return case.state == "travelled" and case.due_on is not None and case.due_on.date() < clock.today()


def overdue_clause(today: date | None = None):
    """Return the SQL condition selecting travel cases whose report is overdue on a day.

    Without a day, the day is bound when the statement runs: {"midnight": midnight(day)}.
    """
    before = bindparam("midnight") if today is None else midnight(today)
    return (Case.workflow == constant(NAME)) & (Case.state == constant("travelled")) & (Case.due_on < before)


def midnight(day: date) -> datetime:
    """Return the start of a day, as due dates are stored."""
    return datetime.combine(day, datetime.min.time())


def _project(case: Case) -> None:
    # Whose decision the trip is follows the role it was requested in (is_councillor_trip): a
    # councillor whose term ended while the committee was to accept their report left it to the
    # head of City Council, whom there is none. Fixed when it leaves the draft, free again if returned.
    if case.state == "draft":
        case.requested_as = None
    elif case.requested_as is None:
        sent_now = "draft" in inspect(case).attrs.state.history.deleted  # (else sent on before 0021)
        with object_session(case).no_autoflush:
            case.requested_as = requested_as(case, recorded=not sent_now)
    data = case.data
    case.category = data.get("event_organizer")
    case.country = data.get("event_country")
    case.amount_requested = estimated_total(case)
    report = data.get("report") or {}
    case.amount_paid = Decimal(report["actual_cost"]) if report.get("actual_cost") else None
    # The due day is fixed when the trip is completed, under the setting of that day: a later change
    # of ACCORD_TRAVEL_REPORT_DUE_DAYS applies to trips completed after it, and a traveller's date
    # never moves under them (nor would two like trips differ because one had a comment since).
    if case.state not in AFTER_TRIP:
        case.due_on = None
    elif case.due_on is None and (due := report_due_on(case)):
        case.due_on = midnight(due)


_OVERDUE_OWNERS = select(Case.owner_id).where(overdue_clause())
# Trips over and never marked taken whose report would be due before a day (is_unmarked_past_due):
# the report is due a number of days after the trip's end, so their end is before that many days ago.
_UNMARKED_OWNERS = select(Case.owner_id).where(
    Case.workflow == constant(NAME), Case.state == constant("approved"),
    Case.data["end_date"].as_string() < bindparam("ended_before"))


def overdue_by_owner(session: Session) -> dict[int, int]:
    """Return how many trips of each traveller owe a report past its due day, counted once per
    transaction: those overdue, and those never marked taken whose report would be due by now.

    A list of scored cases derives this for every case it shows; one grouped query serves them all.
    """
    today = clock.today()
    key = ("travel_overdue_by_owner", today)
    if key not in session.info:
        # Overdue trips are few among all cases: read their owners from the (state, due_on) index
        # and count here. Grouped in SQL, SQLite (without a histogram of states) walked the whole
        # table in owner order instead, to group without sorting.
        owners = Counter(session.scalars(_OVERDUE_OWNERS, {"midnight": midnight(today)}))
        ended_before = today - timedelta(days=current_app.config["ACCORD_TRAVEL_REPORT_DUE_DAYS"])
        owners.update(session.scalars(_UNMARKED_OWNERS, {"ended_before": ended_before.isoformat()}))
        session.info[key] = dict(owners)
    return session.info[key]


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_transaction_end")
def _forget_overdue(session: Session, *_args) -> None:
    # A flush may move a trip in or out of "travelled"; a new transaction may see others' commits.
    for key in [k for k in session.info if isinstance(k, tuple) and k[0] == "travel_overdue_by_owner"]:
        del session.info[key]


def _derive(case: Case) -> dict:
    session = object_session(case)
    count = overdue_by_owner(session).get(case.owner_id, 0) if session is not None else 0
    # The knock-out concerns the traveller's OTHER trips, not this one. A trip never marked taken
    # owes its report as much as one marked (its traveller is mailed that it is overdue): left
    # unmarked, it would let its traveller's next trips through.
    return {"overdue_reports": count - (1 if is_overdue(case) or is_unmarked_past_due(case) else 0)}


def is_unmarked_past_due(case: Case) -> bool:
    """Return whether an approved trip was never marked taken though its report would be due by
    now: it is not overdue (product.md: only a trip marked taken is), but its report is owed."""
    return case.state == "approved" and (due := report_due_on(case)) is not None and due < clock.today()


def _flags(case: Case) -> list[str]:
    if is_overdue(case):
        return ["report_overdue"]
    return ["not_marked_taken"] if is_unmarked_past_due(case) else []


FIELD_NAMES = {"event_name": "event name", "event_organizer": "organizer", "event_city": "city",
               "event_country": "country", "start_date": "start date", "end_date": "end date",
               "purpose": "purpose", "role_at_event": "role at the event", "estimated_cost": "estimated cost",
               "funding": "funding", "sponsor_name": "sponsor"}


def _complete_and_ahead(ctx) -> str | tuple | None:
    errors = incomplete(TravelData, ctx.data)
    costs = ctx.data.get("estimated_cost")
    if "estimated_cost" not in errors and not any(v is not None for k, v in (costs or {}).items() if k != "total"):
        # An estimate of no line at all ({}, as a page saves a draft whose lines are empty) read as
        # a total of 0.00: within any threshold, and the cheapest a trip can score.
        errors["estimated_cost"] = ["Give the estimated cost: at least one of its lines."]
    if "end_date" not in errors and _ended_on(ctx.data):
        errors["end_date"] = [ALREADY_OVER]
    if not errors:
        return None
    if errors == {"end_date": [ALREADY_OVER]}:  # (said outright: "check: end date" left the traveller guessing)
        return f"{ALREADY_OVER} Correct its dates if they are wrong; otherwise it cannot be submitted.", {"data": errors}
    return f"The request cannot be submitted yet; check: {named(errors, FIELD_NAMES)}.", {"data": errors}


ALREADY_OVER = "The trip is already over: a request is made before travelling."


def _started(case: Case) -> str | None:
    start = _date(case.data.get("start_date"))
    if start and clock.today() < start:
        return f"The trip starts on {start.isoformat()}; it can be marked as travelled from that day."
    return None


def _ended_on(data: dict) -> date | None:
    """Return the day a trip ended, if it is over (before the City's today), else None."""
    end = _date(data.get("end_date"))
    return end if end and end < clock.today() else None


def _not_ended(case: Case) -> str | None:
    # As submit refuses a trip already over (ALREADY_OVER): approved after its end, a trip's report
    # was due end_date + report_due_days, already near or past, and marked as travelled it was
    # overdue at once. Declining or returning it stays open to its approver.
    if end := _ended_on(case.data):
        return (f"The trip ended on {end.isoformat()}: a request is approved before travelling; "
                "decline it or return it to the traveller.")
    return None


def _travellers_turn(case: Case) -> bool:
    """Return whether the traveller has a step to take now: an approved trip waits for them only
    from its first day, when it can be marked as taken."""
    return case.state != "approved" or _started(case) is None


def _approved_at_once(ctx) -> bool:
    # Within the threshold the first approval is final; above it the CAO must approve too, unless
    # the CAO is already the approver (a department head's own trip).
    total = estimated_total(ctx.case) or Decimal("0")
    return total <= ctx.config["ACCORD_TRAVEL_CAO_THRESHOLD"] or ctx.actor.has_role("cao")


def _file_report(ctx) -> None:
    report = ReportArgs().dump(ctx.payload)
    ctx.case.data = {**ctx.case.data, "report": {**report, "filed_on": clock.today().isoformat()}}


def _owner_holds(role: str):
    """Return the SQL condition that the case's owner holds a role."""
    return (select(user_roles.c.user_id).join(Role, Role.id == user_roles.c.role_id)
            .where(user_roles.c.user_id == Case.owner_id, Role.name == constant(role)).exists())


def _may_wait(state: str, shape) -> list:
    """Return, in SQL, the trips in a head's states (AWAITING_HEAD) that may wait for a person of
    these roles (a superset of decides and is_approver): a head's, their department's; the
    committee's, a councillor's; the CAO's, a head's own trip, or a submitted one on which a
    reviewer stepped aside (its decision, and then its report, are the CAO's). The CAO and the
    committee read every trip: at 300 staff trips waiting for their heads, a trip waiting for the
    CAO was read after them, and left off the CAO's list."""
    if state not in AWAITING_HEAD:
        return []
    options = []
    if shape.has_role("dept_head"):
        options.append(Case.department_id == shape.department_id)
    if shape.has_role("committee"):
        # (A trip sent on before migration 0021 kept no role: the rules read its submit event.)
        options.append(or_(Case.requested_as == constant("councillor"), Case.requested_as.is_(None)))
    if shape.has_role("cao"):
        options.append(_owner_holds("dept_head"))
        options.append(select(Score.id).where(Score.case_id == Case.id, Score.conflict == constant("recused"),
                                              Score.current.is_(True)).exists())
    return [or_(*options)] if options else [false()]


complete_and_ahead = Guard("complete_and_ahead", _complete_and_ahead,
                           "every required field is valid and the trip is not over")
trip_started = Guard("trip_started", _started, "not before the start date", ahead=True)
# Read from the case alone, so that the approval is not offered once the trip ended: the page says why instead.
trip_not_over = Guard("trip_not_over", _not_ended, "the trip has not ended", ahead=True)

WORKFLOW = Workflow(
    name=NAME,
    title="Travel request",
    states=("draft", "submitted", "cao_review", "approved", "declined", "cancelled", "travelled",
            "report_submitted", "closed"),
    data_schema=TravelData,
    field_names=FIELD_NAMES,
    readers=("committee", "cao"),
    owner_turn=_travellers_turn,
    may_wait=_may_wait,
    creators=("staff", "councillor"),
    editable_states=("draft",),
    project=_project,
    derive=_derive,
    flags=_flags,
    state_labels={"cao_review": "CAO review", "report_submitted": "Report submitted"},
    scored=True,
    scorers=("dept_head", "committee", "cao"),
    scoring_states=("submitted", "cao_review"),
    decided_states=("approved", "declined", "cancelled", "travelled", "report_submitted", "closed"),
    reviews=reviews,
    may_review=may_review,
    derived_fields=("overdue_reports",),
    transitions=(
        Transition("submit", ("draft",), "submitted", (OWNER,), "Submit for approval",
                   guards=(complete_and_ahead,)),
        Transition("approve", ("submitted",), "approved", APPROVERS, "Approve", may=decides,
                   when=_approved_at_once, guards=(trip_not_over, is_eligible)),
        Transition("approve", ("submitted",), "cao_review", APPROVERS, "Approve", may=decides,
                   guards=(trip_not_over, is_eligible)),
        Transition("approve", ("cao_review",), "approved", ("cao",), "Approve", may=not_recused,
                   guards=(trip_not_over, is_eligible)),
        Transition("decline", ("submitted",), "declined", APPROVERS, "Decline", may=decides,
                   comment_required=True),
        Transition("decline", ("cao_review",), "declined", ("cao",), "Decline", may=not_recused,
                   comment_required=True),
        Transition("return", ("submitted",), "draft", APPROVERS, "Return for changes", may=decides,
                   comment_required=True),
        Transition("return", ("cao_review",), "draft", ("cao",), "Return for changes", may=not_recused,
                   comment_required=True),
        Transition("cancel", ("draft", "submitted", "approved"), "cancelled", (OWNER,), "Cancel the trip"),
        Transition("complete_trip", ("approved",), "travelled", (OWNER,), "Mark as travelled",
                   guards=(trip_started,)),
        Transition("submit_report", ("travelled",), "report_submitted", (OWNER,), "File the post-trip report",
                   payload=ReportArgs, merge_payload=False, effect=_file_report),
        # The report is signed off by whoever decided the request (decides): not by an approver who
        # declared a conflict of interest on it, but by the CAO or the member who decided in their place.
        Transition("return_report", ("report_submitted",), "travelled", APPROVERS, "Return the report",
                   may=decides, comment_required=True),
        Transition("accept_report", ("report_submitted",), "closed", APPROVERS, "Accept the report",
                   may=decides),
    ),
)
