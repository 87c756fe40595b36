"""Requests an account change leaves waiting for no one: the only holder of a role that takes their
next step closed or stripped of it (the CAO, the committee's only member, the Healthy City Office's
officers), or a request waiting for its owner alone, whose account is closed. The Users pages and
`flask users deactivate` tell the administrator at the change (accounts.checks), as they do of a
department left without its head. A change that gives someone the power to act mails them of
those that waited for no one and now wait for them."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from extensions import db
from models import Case, User
from workflows import registry
from workflows.queries import waiting_for

#: At most this many pages of a person's waiting list are looked at before a change (50 to a
#: page): what waits beyond them is not checked.
PAGES = 20
#: How many of a group's requests a warning names by number.
SHOWN = 10


def waiting_on(user: User) -> list[int]:
    """Return the ids of the requests waiting for the user now, sent on from their drafts (a draft
    waits for no one but its author, who may leave it)."""
    ids, after = [], None
    for _ in range(PAGES):
        found = waiting_for(db.session, user, after=after)
        ids += [c.id for c in found.cases if c.state != registry.get(c.workflow).initial]
        if found.next is None:
            break
        after = found.next
    return ids


def stranded(case_ids: list[int]) -> list[Case]:
    """Return those of the requests that wait for no one now, in the order of their ids."""
    return _split(case_ids)[0]


def _split(case_ids: list[int]) -> tuple[list[Case], list[Case]]:
    """Return the requests that wait for no one now, and those that wait for someone, in the order
    of their ids."""
    from notifications import people_who_can_act  # (notifications reads the workflows)

    if not case_ids:
        return [], []
    cases = db.session.scalars(select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)).all()
    alone: list[Case] = []
    others: list[Case] = []
    for case in cases:
        (others if people_who_can_act(db.session, case) else alone).append(case)
    return alone, others


def warnings(user: User, cases: list[Case]) -> list[str]:
    """Return what to tell the administrator of the requests the change left waiting for no one,
    one sentence for those of each workflow and state, the user's own apart."""
    groups: dict[tuple[bool, str, str], list[Case]] = defaultdict(list)
    for case in cases:
        groups[(case.owner_id == user.id, case.workflow, case.state)].append(case)
    said = []
    for (own, workflow, state), group in groups.items():
        wf = registry.get(workflow)
        n, ids = len(group), ", ".join(f"#{c.id}" for c in group[:SHOWN])
        ids += f" and {n - SHOWN} more" if n > SHOWN else ""
        what = f"{n} {wf.title.lower()}{'' if n == 1 else 's'} ({ids}) in the state {wf.label(state)}"
        waits = "waits" if n == 1 else "wait"
        if own:
            said.append(f"{user.full_name}'s own {what} {waits} for them alone, and they can no longer act: only "
                        "a request's owner moves it on from there. Reopen the account for them to do it.")
        else:
            said.append(f"{what} waited for {user.full_name} and now {waits} for no one: no other active account "
                        "may take the next step. Give someone the role that takes it (an acting holder), or "
                        "undo the change.")
    return said


def theirs_alone(user: User, before: list[int]) -> list[Case]:
    """Return the requests waiting for the user now, and not before the change (`before`), that
    wait for no one else and that they were not told of since each entered its state (nor brought
    there), in the order of their ids: those a change that gave them the power to act took off no
    one's hands (up to PAGES pages of their list)."""
    from notifications import people_who_can_act, told_of  # (notifications reads the workflows)

    waiting = sorted(set(waiting_on(user)) - set(before))
    if not waiting:
        return []
    cases = db.session.scalars(select(Case).where(Case.id.in_(waiting)).order_by(Case.id)).all()
    alone = [case for case in cases if [p.id for p in people_who_can_act(db.session, case)] == [user.id]]
    told = told_of(db.session, user.id, alone)  # (most often none are left to ask of)
    return [case for case in alone if case.id not in told]


class StrandedRequests:
    """The account check (accounts.checks) of the requests a change leaves waiting for no one:
    only a change that takes something away (the account closed, a role, the department) can,
    and only from an open account (an edit of a closed one would repeat what its closing said).
    Those it leaves waiting for others are handed over: who they now wait for is mailed, if not
    told already (notifications.tell_handed_over).

    A change that gives an open account the power to act (a role, another department, the account
    reopened, or new: noted as None before it) mails the person of each request that waited for
    no one and now waits for them, if not told already (notifications.tell_now_theirs): those the
    administrator was warned of. Not of those others could already act on."""

    def before(self, user: User | None, _department_ids: set[int]) -> tuple:
        if user is None:  # (an account about to be created)
            return False, frozenset(), None, []
        if not user.active:
            return False, user.role_names, user.department_id, []
        return True, user.role_names, user.department_id, waiting_on(user)

    def after(self, user: User, _department_ids: set[int], noted: tuple) -> list[str]:
        from notifications import tell_handed_over, tell_now_theirs  # (notifications reads the workflows)

        was_active, roles, department_id, waiting = noted
        moved = department_id != user.department_id
        said: list[str] = []
        if was_active and (not user.active or not roles <= user.role_names or moved):
            alone, others = _split(waiting)
            # Those that wait for others now: whoever they came to and was not told is mailed, as a
            # declared conflict tells them (a request its officer took up waits for every officer again).
            tell_handed_over(db.session, others, user)
            said = warnings(user, alone)
        # (A name or an email changed, or a role taken away alone, gives nothing.)
        if user.active and (not was_active or not user.role_names <= roles or moved):
            tell_now_theirs(db.session, theirs_alone(user, waiting), user)
        return said


def init_app(_app) -> None:
    """Register the check with the account pages and commands."""
    from accounts.checks import add_account_check

    add_account_check(STRANDED)


STRANDED = StrandedRequests()
