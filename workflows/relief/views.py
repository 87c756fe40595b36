"""The relief pages: the request form, its edit form, and the Healthy City Office's triage queue."""
from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from extensions import db
from web.forms import (KEPT_BELOW, case_to_edit, flash_saved, form_page, kept_to_save_again, mark_fields_to_correct,
                       refusal_message)
from workflows import engine
from workflows.errors import Forbidden, NotFound, WorkflowError
from workflows.queries import load_visible
from workflows.relief.definition import CREATORS, WORKFLOW, hours_left, triage_deadline
from workflows.relief.forms import (ASSISTANCE_LABELS, PARTY_LABELS, ApproveForm, ClaimForm, CloseForm, DisburseForm,
                                   RecommendForm, ReliefRequestForm)
from workflows.relief.queue import TRIAGE_ROLES, time_left_text, triage_queue
from workflows.relief.schemas import missing_fields, partner_elsewhere
from workflows.presenters import case_flags
from workflows.scoring import disagreeing

bp = Blueprint("relief", __name__, url_prefix="/relief")
#: Who enters relief requests (product.md §1).


def default_title(data: dict) -> str:
    """Return a title made from the request, for a form filled in a hurry."""
    kind = (data.get("disaster_type") or "disaster").replace("_", " ").capitalize()
    place = ", ".join(p for p in (data.get("city"), data.get("country")) if p)
    return f"{kind} relief for {place}" if place else f"{kind} relief request"


def _render_form(form, case=None, status: int = 200):
    return form_page("relief/request_form.html", form, status, case=case, wf=WORKFLOW)


def _precheck(form: ReliefRequestForm, data: dict, skip: frozenset[str] = frozenset()) -> bool:
    """Show every field a submission still needs (but those in `skip`, marked already); return
    whether the request is complete."""
    errors = {name: messages for name, messages in missing_fields(data).items() if name not in skip}
    form.show_errors(errors)
    if not form.goals.data and "goals" not in skip:
        form.show_errors({"goals": ["Choose at least one goal."]})
    return not errors and bool(form.goals.data)


def _checked(form: ReliefRequestForm, sending: bool, clear_empty: bool, stored: dict | None = None) -> dict | None:
    """Return the request's data as the form holds it, or None when the form must be shown again,
    its fields in error marked; being sent, with every field a submission still needs marked too,
    at once. A negative head-count hid ten missing fields until it was corrected."""
    if form.validate():
        data = form.request_data(clear_empty=clear_empty)
        return data if not sending or _precheck(form, {**(stored or {}), **data}) else None
    if sending:
        wrong = {"contact" if name.startswith("contact_") else name for name, field in form._fields.items()
                 if field.errors}
        try:
            held = form.request_data(clear_empty=clear_empty)
        except ValueError:  # (a partner not among those offered, read as it was sent)
            return None
        _precheck(form, {**(stored or {}), **{k: v for k, v in held.items() if k not in wrong}}, frozenset(wrong))
    return None


def _engine_errors(form: ReliefRequestForm, err: WorkflowError) -> None:
    _show_engine_errors(form, err.errors or {})
    flash(refusal_message(err, KEPT_BELOW), "error")


def _show_engine_errors(form: ReliefRequestForm, errors: dict) -> None:
    """Show the engine's field errors (those of the request's data, and the title's or goals') on the form."""
    errors = dict(errors)
    form.show_errors(errors.pop("data", None) or {})
    form.show_errors(errors)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_request():
    """Enter a relief request; save it as a draft or submit it at once."""
    if not WORKFLOW.may_create(current_user):
        raise Forbidden("Relief requests are entered by City employees and Members of Council.")
    form = ReliefRequestForm()
    if request.method == "GET":
        return _render_form(form)
    submitting = request.form.get("action") == "submit"
    data = _checked(form, submitting, clear_empty=False)
    if data is None:
        return _render_form(form, status=422)
    try:
        # Created and submitted in one transaction: a refused submit leaves no draft behind.
        case = engine.create_case(db.session, current_user, WORKFLOW.name,
                                  (form.title.data or "").strip() or default_title(data), form.goals.data, data,
                                  then="submit" if submitting else None)
    except WorkflowError as err:
        _engine_errors(form, err)
        return _render_form(form, status=err.status)
    flash("Your request has been submitted to the Healthy City Office." if submitting else "Draft saved.", "success")
    return redirect(url_for("web.case_page", case_id=case.id))


@bp.route("/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit_request(case_id: int):
    """Edit one's own request in draft, or answer the office's request for information."""
    case = case_to_edit(case_id, WORKFLOW.name, "Only the person who entered the request may edit it.")
    if case is None:
        return redirect(url_for("web.case_page", case_id=case_id))
    form = ReliefRequestForm()
    if request.method == "GET":
        form.fill(case)
        form.version.data = case.version
        mark_fields_to_correct(case, form, lambda errors: _show_engine_errors(form, errors))
        return _render_form(form, case)
    action = request.form.get("action")
    step = {"submit": "submit", "send": "provide_info"}.get(action)
    data = _checked(form, step is not None, clear_empty=True, stored=case.data)
    if data is None:
        return _render_form(form, case, 422)
    before = case.version
    try:
        # Saved and sent in one transaction: a refused step leaves the edit unsaved too.
        case = engine.update_case(db.session, current_user, case_id, form.version.data,
                                  title=(form.title.data or "").strip() or case.title, goals=form.goals.data,
                                  data=data, then=step)
    except WorkflowError as err:
        _engine_errors(form, err)
        case = load_visible(db.session, current_user, case_id)
        form.version.data = case.version
        kept_to_save_again(form, err, case.version)
        return _render_form(form, case, err.status)
    if step:
        flash({"submit": "Your request has been submitted.", "provide_info": "Sent back to the Healthy City Office."}
              [step], "success")
    else:
        flash_saved(case, before)
    return redirect(url_for("web.case_page", case_id=case.id))


@bp.get("/triage")
@login_required
def triage():
    """Show the Healthy City Office the requests waiting for triage, the most urgent first."""
    if not current_user.has_role(*TRIAGE_ROLES):
        raise Forbidden("The triage queue is for the Healthy City Office's officers.")
    cases = triage_queue(db.session)
    disagree = disagreeing(cases, current_user)
    rows = [{"case": c, "due": triage_deadline(c), "left": time_left_text(hours_left(c)),
             "flags": case_flags(c, c.id in disagree)} for c in cases]
    return render_template("relief/triage.html", rows=rows, wf=WORKFLOW)


@bp.post("/<int:case_id>/claim")
@login_required
def claim(case_id: int):
    """Start triage of a submitted request; the officer becomes its assignee."""
    form = ClaimForm()
    if not form.validate():
        abort(400)
    try:
        engine.fire(db.session, current_user, case_id, "start_triage", form.version.data)
    except NotFound:
        abort(404)
    except WorkflowError as err:
        flash(refusal_message(err, "The queue below shows it as it is now: check it, then start triage again if "
                                   "it still waits for you."), "error")
        return redirect(url_for("relief.triage"))
    flash("You are now triaging this request: score it, then recommend or ask for information.", "success")
    return redirect(url_for("web.case_page", case_id=case_id))


def triage_info(case) -> dict | None:
    """Return the triage deadline and the time left, while a request waits for triage."""
    left = hours_left(case)
    if left is None:
        return None
    return {"due": triage_deadline(case), "text": time_left_text(left), "late": left < 0}


def init_app(app: Flask) -> None:
    """Register the relief pages, their links and the forms of the steps that carry data."""
    from web.nav import add_link, add_new_link, set_edit_endpoint
    from web.payloads import register_form

    app.register_blueprint(bp)
    add_link("Relief triage", "relief.triage", TRIAGE_ROLES)
    add_new_link("New relief request", "relief.new_request", CREATORS)
    set_edit_endpoint(WORKFLOW.name, "relief.edit_request")
    for trigger, form in (("recommend", RecommendForm), ("approve", ApproveForm), ("disburse", DisburseForm),
                          ("close", CloseForm)):
        register_form(WORKFLOW.name, trigger, form)
    app.add_template_global(triage_info, "relief_triage_info")
    app.add_template_global(partner_elsewhere, "relief_partner_elsewhere")
    # The request's codes as its form offered them ("Financial help (a grant)", not "financial").
    app.add_template_global({"party": PARTY_LABELS, "assistance": ASSISTANCE_LABELS}, "relief_labels")
