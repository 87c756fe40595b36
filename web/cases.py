"""The case list, the case page and the action buttons on it."""
from __future__ import annotations

from math import ceil

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from extensions import db
from notifications import people_who_can_act
from web import bp
from web.forms import CHANGED_SINCE, CaseFilterForm, CommentForm, form_page, refusal_message, refused, whole_number
from web.payloads import DECISION, choosing, decision_triggers, payload_form
from workflows import engine, registry
from workflows.access import allowed_triggers, pending_steps
from workflows.audit import case_events, check_chain, row_digest
from workflows.errors import InvalidTransition, NotFound, StaleVersion, WorkflowError
from workflows.presenters import SENDS_BACK_OR_ENDS, case_flags, case_tables, edit_changes, either
from workflows.queries import load_visible, page_of_cases
from workflows.scoring import hidden_reviews, may_score


#: How many cases a page of the case list shows.
PER_PAGE = 25


@bp.get("/cases")
@login_required
def case_list():
    """List the cases the person may see, newest first, a page at a time, filtered by workflow,
    state and whether they made them: the web's side of GET /api/v1/cases."""
    form = CaseFilterForm(formdata=request.args).set_choices(registry.all_workflows())
    page = request.args.get("page", 1, type=_page_number)
    if not form.validate() or page is None:
        if page is None:
            flash("The page number in the address is not valid: it is a whole number from 1 to 1,000,000.", "error")
        return form_page("cases/list.html", form, 422, rows=None,
                         first_url=None if form.errors else url_for("web.case_list", **_filters(form)))
    user = current_user._get_current_object()  # not through the proxy: the rules read it per case
    filters = _filters(form)
    cases, total = page_of_cases(db.session, user, workflow=filters["workflow"], state=filters["state"],
                                 mine=bool(filters["mine"]), page=page, per_page=PER_PAGE, rows=True)
    pages = max(1, ceil(total / PER_PAGE))

    def page_url(n: int) -> str | None:
        return url_for("web.case_list", **filters, page=n if n > 1 else None) if 1 <= n <= pages else None

    return form_page("cases/list.html", form, rows=case_tables(user, cases)[0], total=total, page=page,
                     pages=pages, previous_url=page_url(min(page - 1, pages)), next_url=page_url(page + 1),
                     filtered=any(filters.values()))


def _filters(form: CaseFilterForm) -> dict:
    """Return the filters chosen, as the list's address spells them (None: not chosen)."""
    return {"workflow": form.workflow.data or None, "state": form.state.data or None,
            "mine": "y" if form.mine.data else None}


def _page_number(value: str) -> int | None:
    """Return the page asked for, or None if it is not a whole number from 1 (the page then says so)."""
    return whole_number(value, 1_000_000)


def _load(case_id: int):
    try:
        return load_visible(db.session, current_user, case_id)
    except NotFound:
        abort(404)


def waiting_for(case) -> str | None:
    """Say whom the request waits for now, as its page's summary reads it ("you", names; the first
    three and a count beyond four): the people its "awaits you" mail goes to (people_who_can_act),
    or None when there are none (a request decided and done, or an approved trip before its
    traveller may mark it taken). "Done: submit for approval" said nothing of who had it next."""
    people = people_who_can_act(db.session, case)
    if not people:
        return None
    you = [p for p in people if p.id == current_user.id]
    names = ["you"] * bool(you) + sorted(p.full_name or p.username for p in people if p.id != current_user.id)
    if len(names) > 4:
        return f"{', '.join(names[:3])} and {len(names) - 3} others"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _steps(case, wf) -> list:
    """Return the steps the person may take on the case now, as its page offers them: those that
    move the request on first, then those that send it back or end it ("Cancel the trip" stood
    above "Mark as travelled", and Tab reached "Return the report" first)."""
    triggers = sorted(allowed_triggers(current_user, case, wf), key=lambda trigger: trigger in SENDS_BACK_OR_ENDS)
    return [wf.candidates(trigger, case.state)[0] for trigger in triggers]


def _decided(wf, steps: list) -> list:
    """Return the steps whose form is decided together (a committee's approval, deferral, refusal)."""
    return [t for t in steps if payload_form(wf, t).decided_together]


def _step_of(wf, case, trigger: str):
    """Return the transition a trigger names on the case: the one from its state, else the first
    of that name (a step gone meanwhile is refused by the engine, for that)."""
    return (wf.candidates(trigger, case.state) or [t for t in wf.transitions if t.trigger == trigger])[0]


def _rekeyed(form, form_class, prefix: str, **data):
    """Return what was typed into a form sent back as the form the page offers now, with its
    errors: the one decision form, or one outcome's own form, when the outcomes on offer changed
    between the page's loading and its sending (an adoption ruled out meanwhile)."""
    again = form_class(prefix=prefix, formdata=None, data={**form.data, **data})
    for name, field in again._fields.items():
        if name in form._fields:
            field.errors = list(form[name].errors)
    return again


def render_case(case, status: int = 200, failed: tuple[str, WorkflowError] | None = None, forms=None,
                comment_form: CommentForm | None = None):
    """Render the case page with its data, actions and timeline."""
    from web.scoring import scoring_context  # (which renders this page again after a score)

    wf = registry.get(case.workflow)
    events = case_events(db.session, case.id)
    score = scoring_context(case).get("aggregate") or {}
    steps = _steps(case, wf)
    decided = _decided(wf, steps)
    forms = dict(forms or {})
    if len(decided) < 2:  # (one outcome alone: its own form, as any step's)
        if decided and DECISION in forms:
            forms[decided[0].trigger] = _rekeyed(forms.pop(DECISION), payload_form(wf, decided[0]), decided[0].trigger)
        decided = []
    for t in decided:
        if t.trigger in forms:  # (one outcome's own form sent, where the page now offers the choice)
            forms[DECISION] = _rekeyed(forms.pop(t.trigger), choosing(payload_form(wf, t)), DECISION, outcome=t.trigger)
    if status >= 400:  # the forms the page shows again: not an action the case has moved past
        shown = {t.trigger for t in steps} | ({DECISION} if decided else set())
        refused(*(form for key, form in forms.items() if key in shown), comment_form)
    actions = []
    for t in steps:
        if t in decided:
            if t is decided[0]:  # (where its first outcome would stand)
                actions.append(_decision_action(case, decided, forms.get(DECISION)))
            continue
        form_class = payload_form(wf, t)
        form = forms.get(t.trigger) or form_class(prefix=t.trigger, formdata=None, data=form_class.starting_data(case))
        # The version the page shows, also on a form sent back with a refusal: one refused as out of
        # date would otherwise send its old version again at every click, and never succeed.
        form.version.data, form.version.raw_data = case.version, None
        # Each action's comment box is named by its action (a page has several), and marked when required.
        form.comment.label.text = f"{t.title}: comment"
        form.comment.flags.required = t.comment_required
        actions.append({"trigger": t.trigger, "transition": t, "form": form, "leads_to": _leads_to(case, wf, t)})
    return render_template(
        "case.html", case=case, wf=wf, events=events, hidden=hidden_reviews(current_user, case, events),
        hidden_until_scored=may_score(current_user, case),
        waiting_for=waiting_for(case),
        changes=edit_changes(events, wf),
        chain_fault=check_chain(events, case.last_event_hash, case.last_event_seq, case.state, row_digest(case)),
        actions=actions, pending=pending_steps(current_user, case, wf), flags=case_flags(case, bool(score.get("disagreement"))), failed=failed,
        comment_form=comment_form,
    ), status


def _leads_to(case, wf, t) -> str | None:
    """Say where a step of several routes leads the request now: an approval above the CAO's
    threshold is a first approval only, which the page did not say until it was given. Not for a
    step whose form sends what may choose its route (the CAO's revised grant, above or within the
    limit): the route the request's data alone chooses would be said wrongly."""
    if t.payload is not None or len({c.dest for c in wf.candidates(t.trigger, case.state)}) < 2:
        return None
    route = engine.route_ahead(db.session, current_user, case, t.trigger)
    return wf.label(route.dest) if route is not None else None


def _decision_action(case, outcomes: list, form=None) -> dict:
    """Return the case page's one form for a decision of several outcomes (a committee approving,
    deferring or declining): the shared fields once, and the outcome to choose. Three forms had
    repeated the meeting, motion and votes, one per outcome."""
    wf = registry.get(case.workflow)
    form_class = choosing(payload_form(wf, outcomes[0]))
    form = form or form_class(prefix=DECISION, formdata=None, data=form_class.starting_data(case))
    form.outcome.choices = [(t.trigger, t.title) for t in outcomes]
    form.version.data, form.version.raw_data = case.version, None
    needed = either([t.title for t in outcomes if t.comment_required])
    form.comment.label.text = "Comment"
    form.comment.description = f"Required to {needed[:1].lower()}{needed[1:]}." if needed else "Optional."
    return {"trigger": DECISION, "transition": None, "form": form, "legend": form_class.decided_together,
            "outcomes": outcomes}


@bp.get("/cases/<int:case_id>")
@login_required
def case_page(case_id: int):
    """Show one case."""
    return render_case(_load(case_id))


@bp.post("/cases/<int:case_id>/actions/<trigger>")
@login_required
def case_action(case_id: int, trigger: str):
    """Fire a trigger from the case page's form."""
    case = _load(case_id)
    wf = registry.get(case.workflow)
    form = payload_form(wf, _step_of(wf, case, trigger))(prefix=trigger) if trigger in wf.triggers() else None
    return _take_step(case, trigger, form, trigger)


@bp.post("/cases/<int:case_id>/decision")
@login_required
def case_decision(case_id: int):
    """Record a decision from the case page's one form for its outcomes (_decision_action)."""
    case = _load(case_id)
    wf = registry.get(case.workflow)
    outcomes = decision_triggers(wf)
    if not outcomes:  # (a workflow with no such decision)
        return _step_refused(case, DECISION, InvalidTransition("There is no decision to record on this request."))
    chosen = request.form.get(f"{DECISION}-outcome")
    if chosen in outcomes:
        form = choosing(payload_form(wf, _step_of(wf, case, chosen)))(prefix=DECISION)
        form.outcome.choices = [(trigger, trigger) for trigger in outcomes]  # (checked as the step it names)
        return _take_step(case, chosen, form, DECISION)
    # None chosen (or none of the decision's): the form again, saying so; but first, as for any
    # step, a case changed since the page was loaded is said to have (the form sent again, with
    # an outcome, would act on a case its sender had not seen), and a decision gone is gone.
    offered = _decided(wf, _steps(case, wf))
    form = choosing(payload_form(wf, _step_of(wf, case, outcomes[0])))(prefix=DECISION)
    form.outcome.choices = [(t.trigger, t.title) for t in offered]
    form.validate()
    form.outcome.data, form.outcome.errors = None, ["Choose the decision."]
    version = form.version.data if isinstance(form.version.data, int) else None
    try:
        engine.check_any_step(current_user, case, [t.trigger for t in offered] or outcomes, version)
    except StaleVersion as err:
        return _step_refused(case, DECISION, err, form)
    except WorkflowError as err:
        return _step_refused(case, DECISION, err)
    if len(offered) == 1:
        return _step_refused(case, DECISION, InvalidTransition(
            f"Only one decision is open to you on this request now: {offered[0].title}."), form)
    return render_case(case, 422, forms={DECISION: form})


def _take_step(case, trigger: str, form, key: str):
    """Take a step of the case page's form (keyed `key` on the page: its trigger, or DECISION)."""
    wf = registry.get(case.workflow)
    if form is not None and form.shown_again():  # (a row added: the form as typed, one row longer)
        try:
            engine.check_step(current_user, case, trigger)  # (unless the step is gone meanwhile)
        except WorkflowError as err:
            return _step_refused(case, key, err)
        return render_case(case, forms={key: form})
    if form is None or not form.validate():
        # A step gone meanwhile (another officer took it), or a case changed meanwhile, is refused
        # for that, as the API refuses it, and not for the form (sent again, it would have acted
        # on a case its sender had not seen).
        version = form.version.data if form is not None and isinstance(form.version.data, int) else None
        try:
            engine.check_step(current_user, case, trigger, version)
        except StaleVersion as err:  # (the step is still there: what was typed is shown again, to send)
            return _step_refused(case, key, err, form)
        except WorkflowError as err:
            return _step_gone(case, key, err, form, version)
        return render_case(case, 422, forms={key: form})  # which says what to correct
    step = _step_of(wf, case, trigger).title
    try:
        case = engine.fire(db.session, current_user, case.id, trigger, form.version.data,
                           comment=form.comment.data, payload=form.payload() if hasattr(form, "payload") else None)
    except WorkflowError as err:
        _attach_errors(form, err)
        return _step_gone(_load(case.id), key, err, form, form.version.data)
    # (Its first letter alone lowered: "approve and refer to Council", not "... council".)
    flash(f"Done: {step[:1].lower()}{step[1:]}. The request is now: {wf.label(case.state)}.", "success")
    return redirect(url_for("web.case_page", case_id=case.id))


@bp.post("/cases/<int:case_id>/comments")
@login_required
def case_comment(case_id: int):
    """Add a comment to a case from its page."""
    _load(case_id)
    form = CommentForm()
    if form.validate():
        try:
            engine.add_comment(db.session, current_user, case_id, form.comment.data, seen=form.seen.data)
        except WorkflowError as err:
            _attach_errors(form, err)
            flash(refusal_message(err), "error")
            return render_case(_load(case_id), err.status, comment_form=form)
        # Not sent down to the timeline: the message at the top, which takes the focus, would be out of sight.
        flash(Markup('Your comment is on the record (<a href="#timeline-h">see the timeline</a>).'), "success")
        return redirect(url_for("web.case_page", case_id=case_id))
    flash("Please correct the comment.", "error")
    return render_case(_load(case_id), 422, comment_form=form)


def _step_refused(case, key: str, err: WorkflowError, form=None):
    """Answer a step refused: its reason at the top of the case page, shown as the case is now, with
    the step's form (keyed `key`: its trigger, or DECISION) as it was sent when given (to correct,
    or to send again once read)."""
    flash(refusal_message(err), "error")
    return render_case(case, err.status, failed=(key, err), forms={key: form} if form is not None else None)


def _step_gone(case, key: str, err: WorkflowError, form, sent_version: int | None):
    """Answer a step refused; one no longer open because the request changed since its page was
    opened (a colleague took the step first) says so, and keeps the comment typed for it in the
    page's comment box, to add to the record if it still matters. It read "'request_info' is not
    available while the case is information requested", and what was typed was lost."""
    if not (isinstance(err, InvalidTransition) and isinstance(sent_version, int) and sent_version != case.version):
        return _step_refused(case, key, err, form)
    typed = (form.comment.data or "").strip() if form is not None and hasattr(form, "comment") else ""
    kept = " What you wrote is kept in the comment box below, to add to the request's record if it still matters." \
        if typed else ""
    flash(f"{CHANGED_SINCE} {err.message}{kept}", "error")
    comment_form = CommentForm(formdata=None, data={"comment": typed, "seen": case.version}) if typed else None
    return render_case(case, err.status, failed=(key, err), comment_form=comment_form)


def _attach_errors(form, err: WorkflowError) -> None:
    """Show the engine's field errors beside the fields of the form that carry them."""
    for name, messages in (err.errors or {}).items():
        if name == "data" and isinstance(messages, dict):
            for field_name, msgs in messages.items():
                if (field := getattr(form, field_name, None)) is not None:
                    field.errors = list(field.errors) + _sentences(msgs)
        elif (field := getattr(form, name, None)) is not None:
            field.errors = list(field.errors) + _sentences(messages)


def _sentences(messages, where: str = "") -> list[str]:
    """Return a field's errors as sentences: those of a list's items (keyed by position) or of an
    object's fields say which ("Entry 2: Must be at most 120 characters long.")."""
    if isinstance(messages, list):
        return [f"{where}: {m}" if where else m for m in messages if isinstance(m, str)]
    if not isinstance(messages, dict):
        return []
    found = []
    for key, inner in messages.items():
        part = f"Entry {key + 1}" if isinstance(key, int) else str(key).replace("_", " ")
        found += _sentences(inner, f"{where}, {part}" if where else part)
    return found
