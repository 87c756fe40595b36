"""The engine: the one place where cases are created, edited and moved between states."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from blinker import Namespace
from flask import current_app
from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from models import CASE_ALONE, AuditEvent, Case, User
from models.types import utcnow
from workflows import registry
from workflows.access import can_view, permitted, refusal, roles_in_words
from workflows.audit import FOUND, jsonable, record_event, row_digest, settled
from workflows.definition import Transition, Workflow
from workflows.errors import (Forbidden, GuardFailed, InvalidTransition, NotFound, StaleVersion, ValidationFailed,
                             WorkflowError)
from workflows.inputs import (check_comment, check_goals, check_title, check_title_and_goals, check_version,
                             load_draft, load_payload, merge_patch, without_removals)
from workflows.statements import by_id
from workflows.transaction import write_transaction

log = logging.getLogger("accord.engine")
signals = Namespace()
#: Sent inside the transaction, after the event is recorded: subscribers may add rows that must
#: commit with the transition (sender: workflow name; with session, case, transition, actor).
transition_recorded = signals.signal("transition-recorded")
#: Sent inside the transaction when a request enters a decided state, before its event is recorded:
#: a receiver returns what to keep on the row as the score it was decided with, or None (sender:
#: workflow name; with case).
request_deciding = signals.signal("request-deciding")
#: Sent after a transition committed: sender is the workflow name, with case and transition.
transition_committed = signals.signal("transition-committed")
#: Sent after a comment committed: sender is the workflow name, with case, actor and comment.
comment_committed = signals.signal("comment-committed")


@dataclass
class Context:
    """What guards, routing conditions and effects see of a transition being fired."""

    session: Session
    case: Case
    actor: User
    workflow: Workflow
    trigger: str
    payload: dict[str, Any]
    comment: str | None
    transition: Transition | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> dict[str, Any]:
        return self.case.data

    @property
    def config(self):
        return current_app.config


def workflow_of(name: str) -> Workflow:
    """Return a registered workflow or refuse with the field named."""
    wf = registry.get(name)
    if wf is None:
        raise ValidationFailed("Unknown workflow.", {"workflow": [f"Unknown workflow '{name}'."]})
    return wf


def _refresh(wf: Workflow, case: Case) -> None:
    case.version = (case.version or 0) + 1
    case.updated_at = utcnow()
    if wf.project:
        wf.project(case)


def create_case(session: Session, actor: User, workflow: str, title: Any, goals: Any, data: Any,
                then: str | None = None) -> Case:
    """Create a case in its initial state, owned by the actor, and record its creation; and, given
    `then`, fire that step (a submit) in the same transaction: refused, nothing is created."""
    wf = workflow_of(workflow)
    if not wf.may_create(actor):
        raise Forbidden(f"Opening a {wf.title.lower()} needs the role {roles_in_words(wf.creators)}.")
    title, goals = check_title_and_goals(title, goals)
    data = load_draft(wf, data or {})
    with write_transaction(session) as session:
        actor = _attach(session, actor)
        case = Case(workflow=wf.name, title=title, state=wf.initial, owner_id=actor.id,
                    department_id=actor.department_id, goals=goals, data=data)
        _refresh(wf, case)
        session.add(case)
        session.flush()
        record_event(session, actor=actor, case=case, action="create", to_state=case.state,
                     payload={"title": title, "goals": goals, "data": data})
        fired = _then(session, actor, case, then)
    return _announced(case, fired, actor)


# The case row alone, not three joins on every transition: assignee and department load when read,
# and lock_case takes the owner from the session or reads them with their roles. Built once:
# constructing a statement costs more than running it.
_LOCK = (select(Case).where(Case.id == bindparam("case_id")).with_for_update(of=Case)
         .options(*CASE_ALONE)
         .execution_options(populate_existing=True))
# The owner comes with their department: a case is filed under its owner's department, so the
# answer to an approval finds the case's department in the session instead of reading it apart.
_owner = by_id(User, joinedload(User.roles), joinedload(User.department))


def lock_case(session: Session, actor: User, case_id: int) -> Case:
    """Lock the case's row and return the case as it is now, with its owner and their roles; or
    refuse with NotFound if the actor may not see it. Inside a write_transaction."""
    case = session.scalars(_LOCK, {"case_id": case_id}).first()
    if case is None or not can_view(actor, case):
        raise NotFound("No such case.")
    # The rules read the owner's roles. Loaded through the case, the owner would be read again
    # (the lock refreshes what it loads) and their roles in a second query: _owner takes them from
    # the session (the actor, often), or else reads both in one query.
    set_committed_value(case, "owner", _owner(session, case.owner_id))
    setattr(case, FOUND, row_digest(case))  # (the row as this step finds it, for its event to record)
    return case


def _attach(session: Session, actor: User) -> User:
    """Return the actor as an object of this session (merging costs a query; most are already here)."""
    return actor if actor in session else session.merge(actor)


def update_case(session: Session, actor: User, case_id: int, version: Any, *, title: Any = None,
                goals: Any = None, data: Any = None, then: str | None = None) -> Case:
    """Edit a case's title, goals or data (a partial update), as its owner in an editable state;
    and, given `then`, fire that step of the owner's (a submit) in the same transaction, so that a
    refused step leaves the edit unsaved too."""
    with write_transaction(session) as session:
        actor = _attach(session, actor)
        case = lock_case(session, actor, case_id)
        wf = workflow_of(case.workflow)
        if case.owner_id != actor.id:
            raise Forbidden("Only the person who made the request may edit it.")
        if case.state not in wf.editable_states:
            raise InvalidTransition(f"A case cannot be edited while it is {wf.label_in_sentence(case.state)}.")
        check_version(case, version)
        if title is None and goals is None and data is None:
            raise ValidationFailed("Nothing to change.", {"data": ["Give a title, goals or data to change."]})
        # The event records what changed, not everything sent (a form sends every field, the empty
        # ones as None); what did not change stays as it was stored, so the trail replays the data.
        changes: dict[str, Any] = {}
        if title is not None and (title := check_title(title)) != case.title:
            case.title = changes["title"] = title
        if goals is not None and set(goals := check_goals(goals)) != set(case.goals or ()):
            case.goals = changes["goals"] = goals
        if data is not None:
            given = load_draft(wf, without_removals(data) if isinstance(data, dict) else data)
            merged = load_draft(wf, merge_patch(case.data, data))
            now = {key: settled(merged.get(key)) for key in given}
            if changed := {key: value for key, value in now.items() if value != settled(case.data.get(key))}:
                case.data = {**case.data, **changed}
                changes["data"] = changed
        # Nothing differs from what is stored (a form saved again, a request repeated): nothing
        # happened, so nothing is recorded, and whoever holds this version may still act on it.
        if changes:
            _refresh(wf, case)
            _flush(session)
            record_event(session, actor=actor, case=case, action="edit", from_state=case.state,
                         to_state=case.state, payload=changes)
        fired = _then(session, actor, case, then)
    return _announced(case, fired, actor)


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion("The case changed while you were acting on it; reload it and try again.") from None


# Attribute keys of Case equal its column names; the SET clause comes from the parameters' keys.
_CASE_COLUMNS = frozenset(c.key for c in Case.__table__.columns)
_UPDATE_CASE = update(Case.__table__).where(Case.__table__.c.id == bindparam("case_pk"),
                                            Case.__table__.c.version == bindparam("old_version"))


def _save(session: Session, case: Case, old_version: int) -> None:
    """Write the locked case's changed columns in one UPDATE checked against the version read.

    This is what a flush of the one changed case does, without the unit of work's bookkeeping,
    which costs several times the UPDATE itself on the engine's path. Anything else the step
    changed (an effect's rows, queued notifications) is flushed as usual afterwards.
    """
    state = inspect(case)
    changed = state.committed_state.keys()
    if not changed <= _CASE_COLUMNS or state.expired_attributes & changed:
        _flush(session)
        return
    params = {key: state.dict[key] for key in changed}
    params.update(case_pk=case.id, old_version=old_version)
    if session.connection().execute(_UPDATE_CASE, params).rowcount != 1:
        raise StaleVersion("The case changed while you were acting on it; reload it and try again.")
    state._commit_all(state.dict, session.identity_map)  # what the flush would mark: written, clean
    _flush(session)


def record_change(session: Session, actor: User, case: Case, action: str, *, comment: str | None = None,
                  payload: dict | None = None) -> None:
    """Record a change that leaves the locked case's state (a comment, a score): append its event
    and raise the case's version (product.md: it increases with every change), in one UPDATE."""
    version = case.version
    _refresh(workflow_of(case.workflow), case)
    with session.no_autoflush:
        record_event(session, actor=actor, case=case, action=action, from_state=case.state, to_state=case.state,
                     comment=comment, payload=payload)
    _save(session, case, version)


def add_comment(session: Session, actor: User, case_id: int, comment: Any, seen: int | None = None) -> Case:
    """Add a comment to a case's record, as anyone who may see the case.

    A comment is a change (product.md: it appends an event, and the version increases with
    every change), but not a step: the state stays, and no version is asked for, since a comment
    cannot undo anyone's work. `seen`, the version a page showed its comment box at, tells the
    same comment sent again from it (a double click), which is recorded once.
    """
    comment = check_comment(None, comment)
    with write_transaction(session) as session:
        actor = _attach(session, actor)
        case = lock_case(session, actor, case_id)
        if _sent_again(session, case, actor, comment, seen):
            return case
        record_change(session, actor, case, "comment", comment=comment)
    log.info("case %s: comment by %s", case.id, actor.username)
    comment_committed.send(case.workflow, case=case, actor=actor, comment=comment)
    return case


_LAST_EVENT = select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.comment).where(
    AuditEvent.case_id == bindparam("case_id"), AuditEvent.seq == bindparam("seq"))


def _sent_again(session: Session, case: Case, actor: User, comment: str, seen: int | None) -> bool:
    """Return whether the comment is the one its page sent just before: the case's only change since
    the page's version is this actor's comment of the same words."""
    if not isinstance(seen, int) or case.version != seen + 1:
        return False
    last = session.execute(_LAST_EVENT, {"case_id": case.id, "seq": case.last_event_seq}).first()
    return last is not None and tuple(last) == ("comment", actor.id, comment)


def fire(session: Session, actor: User, case_id: int, trigger: str, version: Any,
         comment: Any = None, payload: Any = None) -> Case:
    """Fire a trigger on a case for an actor, in one transaction, or refuse and change nothing."""
    with write_transaction(session) as session:
        actor = _attach(session, actor)
        case, route, from_state = _fire(session, actor, case_id, trigger, version, comment, payload)
    _fired(case, route, from_state, actor)
    return case


def _then(session: Session, actor: User, case: Case, then: str | None) -> tuple[Case, Transition, str] | None:
    """Fire the step an edit or a creation goes on to, in its transaction (or nothing, if none)."""
    if then is None:
        return None
    _flush(session)  # (the event's head on the case row: the step's lock re-reads the row)
    return _fire(session, actor, case.id, then, case.version)


def _announced(case: Case, fired: tuple[Case, Transition, str] | None, actor: User) -> Case:
    """Return the case after the transaction committed, announcing the step it took, if any."""
    if fired is None:
        return case
    _fired(*fired, actor)
    return fired[0]


def _fired(case: Case, route: Transition, from_state: str, actor: User) -> None:
    """Announce a transition that committed."""
    log.info("case %s: %s by %s, %s -> %s", case.id, route.trigger, actor.username, from_state, case.state)
    transition_committed.send(case.workflow, case=case, transition=route, actor=actor)


def check_step(actor: User, case: Case, trigger: str, version: Any = None) -> list[Transition]:
    """Return the transitions of a trigger the actor may fire on the case in its state, or refuse
    as fire would, before it reads the data or the guards (and the version, when one is given):
    a page whose form was refused asks this first, so that a step gone meanwhile, or a case
    changed meanwhile, is answered for that, not for its form."""
    wf = workflow_of(case.workflow)
    candidates = wf.candidates(trigger, case.state)
    allowed = [t for t in candidates if permitted(actor, case, t)]
    if allowed:
        if version is not None:
            check_version(case, version)
        return allowed
    if candidates:
        raise Forbidden(refusal(actor, case, candidates))
    named = [t for t in wf.transitions if t.trigger == trigger]
    if mine := [t for t in named if permitted(actor, case, t)]:
        raise InvalidTransition(f"“{mine[0].title}” is not available while the request is "
                                f"{wf.label_in_sentence(case.state)}.")
    if named:
        raise Forbidden(refusal(actor, case, named))
    raise InvalidTransition(f"The workflow has no step '{trigger}'.")


def check_any_step(actor: User, case: Case, triggers: list[str], version: Any = None) -> list[Transition]:
    """Return the transitions of the first of several triggers (the outcomes of one decision) the
    actor may fire on the case now, as check_step; or refuse for them all: not available now, if
    the actor may take one of them in another state (a colleague decided meanwhile), else forbidden."""
    refusals: list[WorkflowError] = []
    for trigger in triggers:
        try:
            return check_step(actor, case, trigger, version)
        except (Forbidden, InvalidTransition) as err:
            refusals.append(err)
    if any(isinstance(err, InvalidTransition) for err in refusals):
        label = workflow_of(case.workflow).label_in_sentence(case.state)
        raise InvalidTransition(f"No decision is open to you while the case is {label}.")
    raise refusals[0]


def _fire(session: Session, actor: User, case_id: int, trigger: str, version: Any, comment: Any = None,
          payload: Any = None) -> tuple[Case, Transition, str]:
    """Fire a trigger inside the caller's write transaction: fire's work, and the step of an edit
    or creation that takes one (update_case's and create_case's `then`)."""
    case = lock_case(session, actor, case_id)
    wf = workflow_of(case.workflow)
    allowed = check_step(actor, case, trigger)
    check_version(case, version)
    loaded, dumped = load_payload(allowed[0], payload)
    comment = check_comment(allowed[0], comment)
    ctx = Context(session, case, actor, wf, trigger, loaded, comment)
    if allowed[0].merge_payload and dumped:
        case.data = merge_patch(case.data, dumped)  # (an object sent merges into the one stored, as in an edit)
    route = _route_of(allowed, ctx)
    if route is None:
        raise InvalidTransition(f"No route for '{trigger}' from {case.state}.")
    ctx.transition = route
    for guard in route.guards:
        _run_guard(guard, ctx)
    from_state = case.state
    if from_state == wf.initial and case.department_id != case.owner.department_id:
        # A draft is filed under its owner's department as it is when they send it on: one who
        # moved since they began it would have sent it to the head of the department they left.
        # The step's event records the move, so that a year's report still counts the request
        # under the department it was in then (reports.sql.department_as_it_stood).
        dumped = {**(dumped or {}), "department": {"from": case.department_id, "to": case.owner.department_id}}
        case.department, case.department_id = case.owner.department, case.owner.department_id
    # A request being decided keeps the figures its criteria read now, as its approver saw them.
    deciding = route.dest in wf.decided_states and from_state not in wf.decided_states
    figures = jsonable(wf.derive(case)) if deciding and wf.derive is not None else None
    # Trigger the shared machine's event on the case directly: attaching the case as a model
    # would bind a dozen methods to it (and log a warning for each when it is attached again).
    moved = wf.machine.events[trigger].trigger(case, ctx=ctx)
    if not moved or case.state != route.dest:
        raise RuntimeError(f"machine and engine disagree on {trigger} from {from_state}")
    case.state_entered_at = utcnow()
    if deciding:
        case.derived_at_decision = figures
        # And the score it was decided with, under the criteria in force now (the scoring module's).
        with session.no_autoflush:  # (the scores it reads have not changed: no early UPDATE of the case)
            case.score_at_decision = next((kept for _, kept in request_deciding.send(wf.name, case=case)
                                           if kept is not None), None)
    elif case.state not in wf.decided_states:  # (a request reopened for a decision again)
        if case.derived_at_decision is not None:
            case.derived_at_decision = None
        if case.score_at_decision is not None:
            case.score_at_decision = None
    if case.state == "submitted":
        case.submitted_at = case.state_entered_at
    _refresh(wf, case)
    # Chain the event before the flush, so that one UPDATE of the case also stores its hash.
    with session.no_autoflush:
        record_event(session, actor=actor, case=case, action=trigger, from_state=from_state,
                     to_state=case.state, comment=comment, payload=dumped)
        transition_recorded.send(wf.name, session=session, case=case, transition=route, actor=actor,
                                 comment=comment)
    _save(session, case, version)
    return case, route, from_state


def step_errors(session: Session, actor: User, case: Case, trigger: str) -> dict[str, Any]:
    """Return the field errors with which the owner's step, sent with nothing, would be refused
    now (a draft's submit: the fields it still lacks), for the edit page to mark; write nothing.

    Only an owner's step from a state in which the request is edited is looked at: their guards
    read the request's own data, as fire runs them. Others' steps may read what their form sends,
    or lock (a Council adoption locks the inventory), and give nothing here; so does a refusal
    that names no field.
    """
    wf = workflow_of(case.workflow)
    if case.state not in wf.editable_states:
        return {}
    allowed = [t for t in wf.candidates(trigger, case.state) if t.by_owner and permitted(actor, case, t)]
    if not allowed:
        return {}
    ctx = Context(session, case, actor, wf, trigger, {}, None)
    route = _route_of(allowed, ctx)
    try:
        for guard in route.guards if route is not None else ():
            ctx.transition = route
            _run_guard(guard, ctx)
    except GuardFailed as err:
        return err.errors or {}
    return {}


def _route_of(allowed: list[Transition], ctx: Context) -> Transition | None:
    return next((t for t in allowed if t.when is None or t.when(ctx)), None)


def route_ahead(session: Session, actor: User, case: Case, trigger: str) -> Transition | None:
    """Return the transition the actor's trigger would take on the case now, sent with nothing
    (an approval above the threshold goes to CAO review), for its form to say where it leads; or
    None when the actor has none. Reads the rules, writes nothing."""
    wf = workflow_of(case.workflow)
    allowed = [t for t in wf.candidates(trigger, case.state) if permitted(actor, case, t)]
    return _route_of(allowed, Context(session, case, actor, wf, trigger, {}, None)) if allowed else None


def _run_guard(guard, ctx: Context) -> None:
    result = guard.check_ahead(ctx.case, ctx.actor) if guard.ahead else guard.check(ctx)
    if result is None:
        return
    message, errors = result if isinstance(result, tuple) else (result, None)
    raise GuardFailed(guard.name, message, errors)
