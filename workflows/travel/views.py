"""Web pages of the travel workflow: the request form, the case section, overdue reports."""
from __future__ import annotations

from datetime import date
from typing import NamedTuple

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy import bindparam, select

import clock
from accounts.checks import add_account_check
from extensions import db
from models import CASE_ROW, Case, User
from web.nav import add_case_section, add_link, add_new_link, add_panel, set_edit_endpoint
from web.forms import (KEPT_BELOW, case_to_edit, flash_saved, form_page, kept_to_save_again, mark_fields_to_correct,
                       refusal_message)
from web.payloads import register_form
from workflows import engine
from workflows.access import can_view, visible
from workflows.errors import Forbidden, WorkflowError
from workflows.fields import money_text
from workflows.queries import load_visible
from workflows.scoring import eligibility_for, read_scores
from workflows.statements import Shape, constant, inline, per_roles, person
from workflows.travel.definition import (NAME, WORKFLOW, decides, estimated_total, headless_departments,
                                         is_overdue, midnight, overdue_clause, report_due_on, report_filed_on)
from workflows.travel.forms import ReportForm, TravelForm
from workflows.travel.schemas import CostBreakdown

bp = Blueprint("travel", __name__, url_prefix="/travel")
OVERDUE_ROLES = ("cao", "admin")


def _save(form: TravelForm, case: Case | None):
    """Create or edit the draft from the form; return the case, or None with errors on the form."""
    try:
        if case is None:
            data = {k: v for k, v in form.case_data().items() if v is not None}
            data["estimated_cost"] = {k: v for k, v in data["estimated_cost"].items() if v is not None}
            return engine.create_case(db.session, current_user, NAME, form.title.data, form.goals.data, data)
        return engine.update_case(db.session, current_user, case.id, form.version.data, title=form.title.data,
                                  goals=form.goals.data, data=form.case_data())
    except WorkflowError as err:
        form.attach(err.errors or {})
        flash(refusal_message(err, KEPT_BELOW), "error")
        if case is not None:
            kept_to_save_again(form, err, load_visible(db.session, current_user, case.id).version)
        return None


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Draft a new travel request."""
    if not WORKFLOW.may_create(current_user):
        raise Forbidden("Travel requests are made by City employees and Members of Council, for their own trips.")
    form = TravelForm()
    if form.validate_on_submit():
        case = _save(form, None)
        if case is not None:
            flash("Draft saved. Check it, then submit it for approval.", "success")
            return redirect(url_for("web.case_page", case_id=case.id))
    return form_page("travel/form.html", form, 422 if request.method == "POST" else 200, case=None,
                     total=form_total(form))


@bp.route("/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit(case_id: int):
    """Edit a draft travel request (its owner only)."""
    case = case_to_edit(case_id, NAME, "Only the traveller may edit their travel request.")
    if case is None:
        return redirect(url_for("web.case_page", case_id=case_id))
    form = TravelForm()
    if request.method == "GET":
        form.fill(case)
        mark_fields_to_correct(case, form, form.attach)
    elif form.validate_on_submit():
        before = case.version
        if _save(form, case) is not None:
            flash_saved(case, before)
            return redirect(url_for("web.case_page", case_id=case.id))
    return form_page("travel/form.html", form, 422 if request.method == "POST" else 200, case=case,
                     total=form_total(form))


def form_total(form: TravelForm) -> str | None:
    """Return the total of the cost lines as the server computes it, or None while one is not a number."""
    costs = {k: v for k, v in form.case_data()["estimated_cost"].items() if v is not None}
    try:
        return CostBreakdown().dump(CostBreakdown().load(costs))["total"]
    except ValidationError:
        return None


@bp.get("/overdue")
@login_required
def overdue():
    """List every trip whose post-trip report is overdue, for the CAO's office."""
    if not current_user.has_role(*OVERDUE_ROLES):
        raise Forbidden("The list of overdue post-trip reports is for the CAO's office and administrators.")
    cases = db.session.scalars(select(Case).where(overdue_clause(clock.today())).order_by(Case.due_on)).all()
    user = current_user._get_current_object()  # read per row: the proxy would look it up each time
    rows = [{"case": c, "due": report_due_on(c), "days": (clock.today() - c.due_on.date()).days,
             "link": can_view(user, c)} for c in cases]
    return render_template("travel/overdue.html", rows=rows, today=clock.today())


@per_roles
def _overdue_seen(shape: Shape):
    # The panel shows the traveller; who decides (decides) reads the traveller's roles.
    return select(Case).where(overdue_clause(), visible(shape)).order_by(Case.due_on).options(*CASE_ROW)


def _panel(user) -> dict | None:
    """Return the overdue trips the user made or decides (and so signs the report of: not a head
    who stepped aside from one, but the CAO who decided it in their place), for the dashboard;
    None when there are none."""
    cases = db.session.scalars(_overdue_seen(user), {**person(user), "midnight": midnight(clock.today())}).unique().all()
    read_scores([c for c in cases if c.owner_id != user.id])  # (one query: who stepped aside from each)
    mine = [c for c in cases if c.owner_id == user.id or decides(c, user)]
    return {"travel_overdue": mine} if mine else None


# Plain rows of the columns the table and the rules (can_view, is_overdue, the estimate and the
# due date) read: building twenty ORM objects cost more than the query (0.59 against 0.38-0.43 ms
# in-process on PostgreSQL, with 100,000 cases).
_OTHER_TRIPS = (select(Case.id, Case.title, Case.workflow, Case.state, Case.owner_id, Case.assignee_id,
                       Case.department_id, Case.due_on, Case.data)
                .where(Case.workflow == constant(NAME), Case.owner_id == bindparam("owner"),
                       Case.id != bindparam("case"), Case.state != constant("draft"))
                .order_by(Case.created_at.desc()).limit(inline("n", 20)))


class Trip(NamedTuple):
    """One of the traveller's other trips, as the approver's review lists it."""

    id: int
    title: str
    link: bool  # whether the reader may open it
    start: str
    end: str
    state: str
    state_label: str
    total: str | None  # the estimate, formatted
    overdue: bool
    due: date | None
    filed_on: str | None  # when its report was filed


def traveller_history(case: Case, user: User) -> list[Trip]:
    """Return the traveller's other trips, newest first, with their report status, as the user sees them."""
    # Rows, not cases (see _OTHER_TRIPS): every trip's traveller is this case's owner, already loaded.
    others = db.session.execute(_OTHER_TRIPS, {"owner": case.owner_id, "case": case.id}).all()
    rows = []
    for c in others:
        data, total = c.data, estimated_total(c)
        # A trip the reader may not open (one of another department, before the traveller moved)
        # shows what the decision reads, its dates and its report, not its title or its cost.
        seen = can_view(user, c)
        rows.append(Trip(c.id, c.title if seen else "A trip the traveller made in another department", seen,
                         data.get("start_date") or "—", data.get("end_date") or "—", c.state,
                         WORKFLOW.label(c.state), None if total is None or not seen else money_text(total),
                         is_overdue(c), report_due_on(c), report_filed_on(c)))
    return rows


def _headless_panel(_user) -> dict | None:
    """Return, for an administrator's dashboard, the departments whose staff trips wait for a head
    who is not there; None when there are none."""
    gaps = headless_departments(db.session)
    return {"headless_departments": gaps} if gaps else None


def _headless(department_ids: set[int]) -> dict[int, str]:
    """Return, by department, what to tell an administrator of these departments that have trips
    waiting for a head and none to decide them (the head deactivated, moved, or their role taken
    away); the account pages compare it before and after a change (accounts.checks)."""
    return {dept.id: f"{dept.name} has no active Department Head now: {n} staff trip{'' if n == 1 else 's'} "
                     f"wait{'s' if n == 1 else ''} for one. Give someone there the Department Head role (an "
                     "acting head)."
            for dept, n in headless_departments(db.session, department_ids)}


def init_app(app: Flask) -> None:
    """Register the travel pages, the dashboard panel, the case section and the report form."""
    app.register_blueprint(bp)
    register_form(NAME, "submit_report", ReportForm)
    set_edit_endpoint(NAME, "travel.edit")
    add_new_link("New travel request", "travel.new", WORKFLOW.creators)
    add_link("Overdue reports", "travel.overdue", OVERDUE_ROLES)
    add_panel("travel/panel.html", _panel)
    add_panel("travel/headless_panel.html", _headless_panel, roles=("admin",))
    add_account_check(_headless)
    add_case_section("travel/case_section.html", (NAME,))

    @app.context_processor
    def travel_helpers():
        return {"travel_review": review, "travel_report_filed_on": report_filed_on}


def review(case: Case) -> dict:
    """Return what an approver weighs beside the request: knock-outs and earlier trips.

    The score it shows is the scoring section's (scoring_context), read once for both.
    """
    # The user itself, not Flask-Login's proxy: the rules read it for every earlier trip.
    user = current_user._get_current_object()
    # Knock-outs bear on a request until it is decided: on one approved or declined, "cannot be
    # approved now" misread as news (a report overdue since the approval).
    decided = case.state in WORKFLOW.decided_states
    return {"ineligible": None if decided else eligibility_for(case), "history": traveller_history(case, user)}
