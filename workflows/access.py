"""Who may see a case and who may fire a transition: authorisation, apart from legality."""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, true
from sqlalchemy.orm import Session

from models import Case, CaseCount, User
from models.user import ROLE_TITLES
from workflows import registry
from workflows.definition import Transition, Workflow
from workflows.statements import Shape, constant, per_roles, person


def can_view(user: User, case: Case) -> bool:
    """Return whether the user may see the case at all (else the answer is 404).

    Its owner, and whoever reads its workflow: not its assignee as such. The officers who take a
    case up (start_triage, start_review) read their workflow anyway; one who has left the office
    (their role taken away) no longer reads the cases they once took up, as no former officer does.
    """
    wf = registry.get(case.workflow)
    if wf is None:
        return False
    if case.owner_id == user.id:
        return True
    if user.has_role(*wf.readers):
        return True
    return wf.department_heads_read and user.has_role("dept_head") and user.department_id == case.department_id


def _reads(user: User | Shape, cases=Case) -> list[ColumnElement[bool]]:
    """Return, per workflow the user reads beyond their own cases, the condition on its cases.

    `cases` is what the condition is on: the cases themselves, or their counts (CaseCount has
    the same workflow and department_id columns).
    """
    clauses: list[ColumnElement[bool]] = []
    departments: list[str] = []  # the workflows read by department: one condition for all of them
    for wf in registry.all_workflows():
        if user.has_role(*wf.readers):
            clauses.append(cases.workflow == constant(wf.name))
        elif wf.department_heads_read and user.has_role("dept_head"):
            departments.append(wf.name)
    if departments:
        clauses.append(and_(cases.department_id == user.department_id,
                            cases.workflow.in_([constant(name) for name in departments])))
    return clauses


def visible(user: User | Shape) -> ColumnElement[bool]:
    """Return the SQL condition selecting the cases the user may see (the rule of can_view)."""
    return or_(Case.owner_id == user.id, *_reads(user))


def count_visible(session: Session, user: User, *, workflow: str | None = None, state: str | None = None,
                  mine: bool = False) -> int:
    """Return how many cases the user may see, of this workflow and in this state if given.

    The same set as visible(), counted in disjoint parts: the cases of each workflow the user
    reads, summed from the few CaseCount rows the triggers keep, then their own cases outside
    those (few, read from their index). Counting the cases read would visit every one of them: the count grew with the years
    of history (50,000 index entries for a department head at 100,000 cases).
    """
    statement = _count(user, bool(workflow), bool(state), mine)
    return session.scalar(statement, {**person(user), "workflow": workflow, "state": state})


def filters(cases, workflow: bool, state: bool) -> list[ColumnElement[bool]]:
    """Return the conditions on a workflow and a state, bound when run ("workflow", "state")."""
    return (([cases.workflow == bindparam("workflow")] if workflow else [])
            + ([cases.state == bindparam("state")] if state else []))


@per_roles
def _count(shape: Shape, workflow: bool, state: bool, mine: bool):
    where = filters(Case, workflow, state)
    if mine:
        return select(func.count()).select_from(Case).where(Case.owner_id == shape.id, *where)
    reads = _reads(shape)
    # IS NOT TRUE rather than NOT: were a part of the condition NULL, NOT would drop the case.
    outside = [or_(*reads).is_not(true())] if reads else []
    counts = [select(func.count()).select_from(Case).where(Case.owner_id == shape.id, *outside, *where)
              .scalar_subquery()]
    if reads:
        counts.append(select(func.coalesce(func.sum(CaseCount.n), 0))
                      .where(or_(*_reads(shape, CaseCount)), *filters(CaseCount, workflow, state)).scalar_subquery())
    return select(sum(counts[1:], counts[0]))


def permitted(user: User, case: Case, t: Transition, memo: dict | None = None) -> bool:
    """Return whether the user may fire this transition on this case (roles and four eyes).

    Given a memo (one per person and case, for one look at its steps), the rule of several steps
    (a trip's approval, its two routes, its refusal and its return: all "decides") is asked once.
    """
    if t.by_owner:
        return case.owner_id == user.id
    if case.owner_id == user.id or not user.has_role(*t.roles):
        return False
    if t.may is None:
        return True
    if memo is None:
        return t.may(case, user)
    if (found := memo.get(t.may)) is None:
        found = memo[t.may] = t.may(case, user)
    return found


def left_to_assignee(user: User, case: Case, t: Transition) -> bool:
    """Return whether a step on a claimed case is left to its assignee rather than this person:
    the officer who took it up (start_triage, start_review) carries it on, in the states where
    only officers act (Workflow.claimed_states), so it waits for them alone and they alone are
    mailed, unless they can no longer take the step (their account closed, their role gone, a
    conflict of interest declared: the request then waits for every officer again, which shows
    them that someone stepped aside). Others may still take it. The SQL of the waiting lists
    applies the same rule (queries._not_left_to_another)."""
    if t.by_owner or case.assignee_id is None or case.assignee_id == user.id:
        return False
    wf = registry.get(case.workflow)
    if case.state not in wf.claimed_states:
        return False
    assignee = case.assignee
    return assignee is not None and assignee.active and permitted(assignee, case, t)


def assignee_stepped_out(case: Case) -> bool:
    """Return whether the officer who took a claimed case up can no longer carry it on (their
    account closed, their role gone, a conflict of interest declared): it waits for every officer
    again (left_to_assignee), and the pages that name its officer say so."""
    wf = registry.get(case.workflow)
    assignee = case.assignee
    if assignee is None or wf is None or case.state not in wf.claimed_states:
        return False
    return not assignee.active or not any(permitted(assignee, case, t) for t in wf.transitions
                                          if case.state in t.source and not t.by_owner)


def waits_for(user: User, case: Case, t: Transition, memo: dict | None = None) -> bool:
    """Return whether this step of the case waits for this person: theirs to take, and not left
    to the assignee (memo: as permitted's)."""
    return permitted(user, case, t, memo) and not left_to_assignee(user, case, t)


def roles_in_words(roles) -> str:
    """Return roles as people read them, by the titles their pages show, not their ids ("cao"):
    “Department Head”, “Policy and Finance Committee secretary” or “Chief Administrative Officer's office”."""
    titles = [f"“{ROLE_TITLES.get(role, role)}”" for role in roles]
    return " or ".join([", ".join(titles[:-1]), titles[-1]]) if len(titles) > 1 else "".join(titles)


def refusal(user: User, case: Case, transitions: list[Transition]) -> str:
    """Return the sentence explaining why the user may not fire these transitions."""
    t = transitions[0]
    if t.by_owner:
        return f"Only the person who made the request may take this step ({t.title})."
    if case.owner_id == user.id:
        return "You cannot act on your own request (separation of duties)."
    if not user.has_role(*t.roles):
        return f"This step needs the role {roles_in_words(t.roles)}."
    said = getattr(t.may, "refusal", "You are not the person who may take this step on this request.")
    return said(case, user) if callable(said) else said  # (a rule of several parts says which refused)


def allowed_triggers(user: User, case: Case, wf: Workflow | None = None) -> list[str]:
    """Return the triggers the user may fire on the case now, in declaration order (not those
    that wait for a moment to come: see pending_steps)."""
    wf = wf or registry.get(case.workflow)
    memo: dict = {}  # (the guards' and the rules' answers, each a different key)
    return list(dict.fromkeys(
        t.trigger for t in wf.transitions
        if case.state in t.source and permitted(user, case, t, memo) and t.not_yet(case, user, memo) is None
    ))


def pending_steps(user: User, case: Case, wf: Workflow | None = None) -> list[tuple[Transition, str]]:
    """Return the steps the user may take on the case later but not yet, each with the reason
    (a trip is marked as taken from its first day)."""
    wf = wf or registry.get(case.workflow)
    ready: set[str] = set()
    pending: dict[str, tuple[Transition, str]] = {}
    memo: dict = {}
    for t in wf.transitions:
        if case.state in t.source and permitted(user, case, t, memo):
            if (reason := t.not_yet(case, user, memo)) is None:
                ready.add(t.trigger)
            else:
                pending.setdefault(t.trigger, (t, reason))
    return [step for trigger, step in pending.items() if trigger not in ready]
