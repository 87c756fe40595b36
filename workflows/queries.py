"""Reading cases as a given person may see them."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import NamedTuple

from sqlalchemy import ColumnElement, DateTime, and_, bindparam, or_, select, union_all
from sqlalchemy.orm import Session, joinedload, lazyload, selectinload

from models import CASE_ROW, OWNER_AND_ROLES, Case, Role, Score, User
from models.user import user_roles
from workflows import registry
from workflows.access import can_view, count_visible, filters, visible, waits_for
from workflows.errors import NotFound
from workflows.fields import MAX_ROW_ID
from workflows.scoring import criteria_for, read_scores
from workflows.statements import Shape, by_id, constant, inline, per_roles, person

#: How many waiting cases the dashboard shows a person.
AWAITING_LIMIT = 50


_case_with_owner = by_id(Case, OWNER_AND_ROLES)


def load_visible(session: Session, user: User, case_id: int) -> Case:
    """Return the case if the user may see it; otherwise refuse with 404."""
    case = _case_with_owner(session, case_id)
    if case is None or not can_view(user, case):
        raise NotFound("No such case.")
    return case


def _awaiting_states(user: User | Shape) -> list[tuple[str, str]]:
    """Return the (workflow, state) pairs in which the user holds a role that may act."""
    pairs = []
    for wf in registry.all_workflows():
        states = {s for t in wf.transitions if not t.by_owner and user.has_role(*t.roles) for s in t.source}
        pairs += [(wf.name, state) for state in sorted(states)]
    return pairs


#: The longest key an address may give (what WaitKey spells is 45 characters at most).
MAX_WAIT_KEY = 60


class WaitKey(NamedTuple):
    """Where a case stands in the order of waiting: since when it waited in its state, then its id.
    A page of what waits for a person starts after one (keyset paging: a case acted on meanwhile
    does not shift the pages after it, and a page far down costs what the first one does)."""

    entered_at: datetime
    case_id: int

    @classmethod
    def of(cls, case: Case) -> WaitKey:
        return cls(case.state_entered_at, case.id)

    def __str__(self) -> str:
        """Spell the key for an address: 2026-03-02T09:00:00.000123~42."""
        return f"{self.entered_at.isoformat(timespec='microseconds')}~{self.case_id}"

    @classmethod
    def parse(cls, text: str) -> WaitKey | None:
        """Return the key an address spells, or None if it spells none (a moment with an offset
        is read as the moment it names, in UTC, as the database keeps it)."""
        at, sep, case_id = text.partition("~")
        # (A case id beyond a database integer names no case; PostgreSQL refused to compare it.)
        if not sep or len(text) > MAX_WAIT_KEY or not case_id.isascii() or not case_id.isdigit() \
                or len(case_id) > 18 or int(case_id) > MAX_ROW_ID:
            return None
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            return None
        if moment.tzinfo is not None:
            try:
                moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
            except OverflowError:  # (year 1 at +14:00, or 9999 at -14:00: no moment of the calendar)
                return None
        return cls(moment, int(case_id))


def _after_key():
    """Return the condition that a case waits later in the order than the key given at execution:
    the first half reads its (workflow, state, state_entered_at) index from the key on."""
    at = bindparam("after_at", type_=DateTime)
    return and_(Case.state_entered_at >= at, or_(Case.state_entered_at > at, Case.id > bindparam("after_id")))


@per_roles
def _oldest_waiting(shape: Shape, after: bool = False):
    """Return a statement for the oldest-waiting cases people with these roles may see and act on,
    and the person's own cases that wait for them (see Workflow.waits_on_owner); with after, only
    those that wait later in the order than a key (WaitKey) given at execution.

    Each (workflow, state) is read in order from its (workflow, state, state_entered_at) index and
    stops after `per_state` cases; only those few are merged and sorted. A single query over every
    state at once had to read and sort all their cases (27 ms at 100,000 cases on SQLite). The
    person's own are read from their own cases (the owner's index), which are few.
    Built once per set of roles (per_roles); the person's id and department, and the counts,
    are bound at execution.
    """
    later = [_after_key()] if after else []
    parts = [select(Case.id).where(Case.workflow == constant(workflow), Case.state == constant(state), visible(shape),
                                   Case.owner_id != shape.id, *later, *_not_left_to_another(workflow, state, shape),
                                   *_may_wait(workflow, state, shape))
             .order_by(Case.state_entered_at, Case.id).limit(inline("per_state")).subquery()
             for workflow, state in _awaiting_states(shape)]
    owners = [and_(Case.workflow == constant(wf.name), Case.state.in_([constant(state) for state in wf.waits_on_owner]))
              for wf in registry.all_workflows() if wf.waits_on_owner]
    if owners:
        parts.append(select(Case.id).where(Case.owner_id == shape.id, or_(*owners), *later)
                     .order_by(Case.state_entered_at, Case.id).limit(inline("per_state")).subquery())
    if not parts:
        return None
    waiting = union_all(*[select(part.c.id) for part in parts]).subquery("waiting")
    return (select(Case).join(waiting, waiting.c.id == Case.id).order_by(Case.state_entered_at, Case.id)
            .limit(inline("chunk")).offset(inline("skip")).options(*CASE_ROW))


def _may_wait(workflow: str, state: str, shape: Shape) -> list[ColumnElement[bool]]:
    """Return the workflow's own conditions that a case in this state may wait for the person
    (Workflow.may_wait), or none."""
    wf = registry.get(workflow)
    return wf.may_wait(state, shape) if wf.may_wait is not None else []


def _not_left_to_another(workflow: str, state: str, shape: Shape) -> list[ColumnElement[bool]]:
    """Return the condition that a case in this state is not left to another officer who took it
    up (access.left_to_assignee, in SQL: that officer active, holding the role, not recused), so
    that colleagues' requests do not fill the rounds of the search; or none, where it does not apply."""
    wf = registry.get(workflow)
    if state not in wf.claimed_states:
        return []
    holds = (select(User.id).join(user_roles, user_roles.c.user_id == User.id).join(Role, Role.id == user_roles.c.role_id)
             .where(User.id == Case.assignee_id, User.active.is_(True),
                    Role.name.in_([constant(role) for role in wf.claimed_by])))
    recused = select(Score.id).where(Score.case_id == Case.id, Score.reviewer_id == Case.assignee_id,
                                     Score.conflict == constant("recused"), Score.current.is_(True))
    return [or_(Case.assignee_id.is_(None), Case.assignee_id == shape.id, ~holds.exists(), recused.exists())]


def _waits_for(user: User, case: Case) -> bool:
    """Return whether the case waits for this user: theirs to move on, or someone else's on which
    they may take a step now (the finer rules, which the SQL does not apply)."""
    wf = registry.get(case.workflow)
    if case.owner_id == user.id:
        return wf.owners_turn(case)
    return any(waits_for(user, case, t) for t in wf.transitions if case.state in t.source and not t.by_owner)


class Waiting(NamedTuple):
    """The cases a person may act on now that a page shows, whether more wait, whether every
    case they might act on was looked at (if not, more may wait), and where the next page starts
    (None when no case is left unread)."""

    cases: list[Case]
    more: bool
    complete: bool = True
    next: WaitKey | None = None
    # The cases' assignees, loaded once (with their roles) and held while the caller shows the
    # cases: the session holds objects weakly, and each would be loaded again, one by one.
    assignees: tuple[User, ...] = ()


def _read_assignees(session: Session, cases: list[Case], user: User) -> list[User]:
    """Load, in one query, the assignees (and their roles) of these cases other than the user:
    what left_to_assignee reads, found then in the session without a query per case while the
    caller holds the list returned (the session's identity map holds objects weakly)."""
    ids = {case.assignee_id for case in cases if case.assignee_id not in (None, user.id)}
    if not ids:
        return []
    return list(session.scalars(select(User).where(User.id.in_(sorted(ids))).options(selectinload(User.roles))))


def waiting_for(session: Session, user: User, after: WaitKey | None = None) -> Waiting:
    """Return the cases the user may act on now, oldest waiting first (after the key, if given),
    at most AWAITING_LIMIT of them, whether more wait, and where the next page starts.

    The search is bounded: after five rounds in which the finer rules refused most of the cases
    read, it stops, says it was not complete, and the next page starts after the last case read.

    Give the user itself, not Flask-Login's proxy: every rule below reads it once per case.
    """
    limit = AWAITING_LIMIT  # read when called: tests move it
    statement = _oldest_waiting(user, after is not None)
    if statement is None:
        return Waiting([], False)
    key = {"after_at": after.entered_at, "after_id": after.case_id} if after is not None else {}
    # Roles and visibility are in SQL; the finer rules (a head decides for their own department)
    # are not, so read a little more than is shown, and more only if the rules left too few.
    result: list[Case] = []
    assignees: list[User] = []
    chunk, offset = limit + 10, 0
    for _ in range(5):  # bounded: a page, not a search through every case
        rows = session.scalars(statement, {**person(user), **key, "per_state": offset + chunk, "chunk": chunk,
                                           "skip": offset}).unique().all()
        read_scores([case for case in rows if criteria_for(case.workflow) is not None])  # what the rules read
        assignees += _read_assignees(session, rows, user)
        result += [case for case in rows if _waits_for(user, case)]
        if len(result) > limit:  # one more than is shown: the next page starts after the last shown
            return Waiting(result[:limit], True, next=WaitKey.of(result[limit - 1]), assignees=tuple(assignees))
        if len(rows) < chunk:  # every case read
            return Waiting(result, False, assignees=tuple(assignees))
        offset += chunk
    # Five rounds read, and the rules refused most: cases are left unread, which may be the person's.
    return Waiting(result, False, complete=False, next=WaitKey.of(rows[-1]), assignees=tuple(assignees))


def awaiting(session: Session, user: User) -> list[Case]:
    """Return the cases the user may act on now, oldest waiting first, at most AWAITING_LIMIT."""
    return waiting_for(session, user).cases


def page_of_cases(session: Session, user: User, *, workflow: str | None = None, state: str | None = None,
                  mine: bool = False, page: int = 1, per_page: int = 20,
                  rows: bool = False) -> tuple[list[Case], int]:
    """Return a page of the cases the user may see, newest first, of this workflow and in this
    state if given (only their own if mine), and how many there are in all: the case list of the
    API and of the web.

    With rows, the cases are loaded for rows of a table (their owner, without what the API's
    allowed transitions read: the owner's roles and the assignee).
    """
    total = count_visible(session, user, workflow=workflow, state=state, mine=mine)
    cases = session.scalars(_page(user, bool(workflow), bool(state), mine, rows), {
        **person(user), "workflow": workflow, "state": state, "limit": per_page, "offset": (page - 1) * per_page,
    }).unique().all()
    return list(cases), total


# Each item's allowed transitions follow rules that read the owner's roles. No rule reads an
# assignee's roles. A row of a table shows the owner's name alone.
_LISTED = (OWNER_AND_ROLES, joinedload(Case.assignee).lazyload(User.roles))
_ROWS = (joinedload(Case.owner).lazyload(User.roles), lazyload(Case.assignee), lazyload(Case.department))


@per_roles
def _page(shape: Shape, workflow: bool, state: bool, mine: bool, rows: bool):
    """Return the statement of a page of the list, for people with these roles and these filters."""
    return (select(Case).where(visible(shape), *filters(Case, workflow, state),
                               *([Case.owner_id == shape.id] if mine else []))
            .order_by(Case.created_at.desc(), Case.id.desc()).limit(inline("limit")).offset(inline("offset"))
            .options(*(_ROWS if rows else _LISTED)))
