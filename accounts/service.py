"""Operations on accounts: creating them, their details, roles and passwords, closing and reopening
them, each recorded in the account's audit chain."""
from __future__ import annotations

import hashlib
import json
import unicodedata

from marshmallow import ValidationError, validate
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from accounts.errors import AccountChanged, AccountError
from accounts.passwords import hash_password, policy_problems
from accounts.sign_in import end_sessions, revoke_tokens
from models import Department, Role, User
from models.user import ROLE_TITLES
from workflows.audit import account_status, record_event


def account_chain(user: User) -> str:
    """Return the name of an account's audit chain."""
    return f"user:{user.id}"


def _audit(session: Session, user: User, actor: User | None, action: str, payload: dict,
           from_status: str | None, actor_roles: list[str] | None = None) -> None:
    """Append an event to the account's chain, the state it leaves being the account's status.

    Who gave whom which role decides who approves a trip or a grant: every change to an account
    is kept as a case's are. The caller holds the account's row (_read_locked; a new account is
    seen by no one else yet), so that two administrators' changes to one account chain one after
    the other. The actor None is a command run on the server (`flask users`, the demo data)."""
    user.last_event_hash = record_event(session, actor=actor, chain=account_chain(user), action=action,
                                        from_state=from_status, to_state=account_status(user.active),
                                        payload=payload, actor_roles=actor_roles)["hash"]


def _read_locked(session: Session, user: User) -> None:
    """Read the account again, locked until the transaction ends: as it stands, not as a form read it
    earlier (two closing it at once on PostgreSQL each read it open, and both recorded closing it;
    the second now waits, and reads it closed; SQLite's write lock serialises them). FOR NO KEY
    UPDATE, as an UPDATE of the row takes: FOR UPDATE also conflicted with the key-share lock an
    event's actor_id takes on its actor's row, and two administrators acting on each other's
    accounts at once deadlocked. Changes to it not yet flushed are flushed first, not lost."""
    session.flush()
    session.refresh(user, with_for_update={"key_share": True})


def ensure_roles(session: Session) -> None:
    """Create the standard roles that are missing (they live in data, not code, after that)."""
    existing = set(session.scalars(select(Role.name)))
    for name, title in ROLE_TITLES.items():
        if name not in existing:
            session.add(Role(name=name, title=title))
    session.flush()


def department(session: Session, name: str) -> Department:
    """Return the department of that name, whatever its capitals, creating it if it is new.

    "public health" is the "Public Health" there is, spelled as stored: an exact match only made a
    second department beside it, whose head saw none of the first's requests. Compared in Python
    (casefold), which folds more than lower() (ß and ss; PostgreSQL's lower() under a C locale
    changes only ASCII letters, as SQLite's own did); a city has a few dozen departments.
    If two already differ only in capitals, the one spelled exactly so is taken, else the oldest.
    """
    wanted = name.casefold()
    same = [d for d in session.scalars(select(Department).order_by(Department.id)) if d.name.casefold() == wanted]
    dept = next((d for d in same if d.name == name), same[0] if same else None)
    if dept is None:
        dept = Department(name=name)
        session.add(dept)
        session.flush()
    return dept


def _lock_accounts(session: Session, users: bool = True) -> None:
    """Make creations of users and departments wait for one another until this transaction ends
    (PostgreSQL; SQLite's write transaction holds the only write lock). The departments first,
    always: a save of a user's details holds them, then writes its users row; a creation that had
    the users table first, waiting for the departments, deadlocked with it."""
    if session.get_bind().dialect.name == "postgresql":
        tables = "departments, users" if users else "departments"
        session.execute(text(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE"))


def _as_administrator(session: Session, actor: User | None, users: bool = False) -> None:
    """Wait for other changes of accounts (_lock_accounts), then refuse an administrator whose role
    or account another took away meanwhile: two demoting each other at once each checked the other's
    power before either committed, and left the City with no administrator. (None: a command run
    on the server, which only waits.)"""
    _lock_accounts(session, users=users)
    if actor is None:
        return
    held = session.scalar(select(User.id).join(User.roles).where(User.id == actor.id, User.active.is_(True),
                                                                 Role.name == "admin"))
    if held is None:
        raise AccountError("You are no longer an administrator: another administrator changed your account "
                           "meanwhile. Nothing was changed.")


def create_user(session: Session, username: str, password: str, roles: list[str], department_name: str,
                full_name: str | None = None, email: str | None = None, check_policy: bool = True,
                actor: User | None = None) -> User:
    """Create a user with roles in a department; refuse a duplicate or an unknown role.

    Inside a write transaction. On PostgreSQL two at once ("Bob" and "bob", or two in one new
    department) each found no such name before the other wrote: the users and departments are
    locked first, so that the second waits and finds the first (SQLite's write transaction holds
    the only write lock already)."""
    _as_administrator(session, actor, users=True)
    username = username.strip()
    if not username or len(username) > 80:
        raise AccountError("Give a username of 1 to 80 characters.", "username")
    if any(c.isspace() or not c.isprintable() for c in username):
        # A line break or a control character made a name that reads as another in the trail.
        raise AccountError("A username has no spaces, line breaks or control characters.", "username")
    if (same := session.scalar(select(User.username).where(func.lower(User.username) == username.lower()))) is not None:
        raise AccountError(f"A user named '{same}' already exists." if same == username else
                           f"A user named '{same}' already exists; usernames differing only in capitals read as one.",
                           "username")
    found = _roles(session, roles)
    if check_policy and (problems := policy_problems(password, username)):
        raise AccountError("The password is too weak: " + " ".join(problems), "password")
    department_name = _text("department", department_name, 120, field="department")
    full_name = _text("name", full_name, 200, empty=True, field="full_name")
    email = _email(email)
    user = User(username=username, full_name=full_name or username, email=email,
                password_hash=hash_password(password), department=department(session, department_name),
                roles=found)
    session.add(user)
    session.flush()
    _audit(session, user, actor, "account_create", {
        "username": user.username, "full_name": user.full_name, "email": user.email,
        "department": user.department.name, "roles": sorted(user.role_names)}, None)
    return user


def details_seen(user: User) -> str:
    """Return a digest of the account's details as its form shows them (name, email, department,
    roles): what a save checks it still finds (update_user's `seen`)."""
    shown = [user.full_name, user.email, user.department.name, sorted(user.role_names)]
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()


def _roles(session: Session, names: list[str]) -> list[Role]:
    """Return the roles of these names, in the order given (once each); refuse none or an unknown one."""
    if not names:
        raise AccountError("Give at least one role.", "roles")
    found = {r.name: r for r in session.scalars(select(Role).where(Role.name.in_(names)))}
    unknown = sorted(set(names) - set(found))
    if unknown:
        known = ", ".join(sorted(session.scalars(select(Role.name))))
        raise AccountError(f"Unknown role {', '.join(unknown)}; the roles are: {known}.", "roles")
    return [found[r] for r in dict.fromkeys(names)]


def update_user(session: Session, user: User, *, full_name: str | None, email: str | None, department_name: str,
                roles: list[str], actor: User | None = None, seen: str | None = None) -> dict[str, tuple]:
    """Change a user's name, email, department and roles; return what changed, {field: (before, after)}
    (roles as sorted lists of names), empty when nothing did.

    `seen` is details_seen(user) as the form showed it: if another change of these details was made
    since (a role granted by another administrator), the form's values would take it back unsaid, so
    the change is refused (AccountChanged). Other changes (a new password, the account closed or
    reopened) are not the form's to undo, and do not refuse it.

    An administrator (the actor) may not take the administrator role from themself: nobody might be
    left to manage the users, and they would be locked out of this very page. Refused, nothing changes.
    """
    # The account as loaded for the form may predate another administrator's change committed
    # since: the trail would tell roles "from" what they were before it.
    _read_locked(session, user)
    if seen is not None and seen != details_seen(user):
        raise AccountChanged(f"{user.username}'s account was changed by someone else while you were editing it; "
                             "it is shown as it is now: make your change again.")
    # It may create a department, as create_user may; only the departments are locked, after the
    # row: locking the users table first deadlocked with a password set on the same account (the
    # row locked, then the users table written, while this waited for the row holding the table).
    _as_administrator(session, actor)
    found = _roles(session, roles)
    if actor is not None and actor.id == user.id and actor.has_role("admin") and "admin" not in roles:
        raise AccountError("You cannot remove your own administrator role: another administrator may.", "roles")
    full_name = _text("name", full_name, 200, empty=True, field="full_name") or user.username
    email = _email(email)
    dept = department(session, _text("department", department_name, 120, field="department"))
    before = {"full_name": user.full_name, "email": user.email, "department": user.department.name,
              "roles": sorted(user.role_names)}
    # The trail records the roles the actor acted with: changing their own, they are the user.
    acting = sorted(actor.role_names) if actor is not None else None
    user.full_name, user.email, user.department, user.roles = full_name, email, dept, found
    after = {"full_name": full_name, "email": email, "department": dept.name, "roles": sorted(r.name for r in found)}
    session.flush()
    changes = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if changes:
        _audit(session, user, actor, "account_edit", {k: {"from": b, "to": a} for k, (b, a) in changes.items()},
               account_status(user.active), actor_roles=acting)
    return changes


def deactivate_user(session: Session, user: User, actor: User | None = None) -> int:
    """Close an account: they can no longer sign in, their web sessions end and their API tokens are
    revoked (so that reopening it later brings no old token back); their requests and their place in
    the audit trail stay. Return how many tokens were revoked.

    An administrator (the actor) may not close their own account: they would be locked out, and
    perhaps the office with them."""
    if actor is not None and actor.id == user.id:
        raise AccountError("You cannot deactivate your own account: another administrator may.")
    _read_locked(session, user)
    if not user.active:  # (closed already, by another at the same moment say: nothing to do)
        return 0
    _as_administrator(session, actor)  # (after the row, as update_user)
    user.active = False
    end_sessions(session, user.id)
    count = revoke_tokens(session, user)
    session.flush()
    _audit(session, user, actor, "account_deactivate", {"tokens_revoked": count}, "active")
    return count


def activate_user(session: Session, user: User, actor: User | None = None) -> None:
    """Reopen a closed account (they sign in with their password; tokens are issued afresh); an open
    one stays as it is, and nothing is recorded."""
    _read_locked(session, user)
    if user.active:
        return
    _as_administrator(session, actor)
    user.active = True
    session.flush()
    _audit(session, user, actor, "account_activate", {}, "deactivated")


def _text(what: str, value: str | None, longest: int, empty: bool = False, field: str | None = None) -> str | None:
    """Return a name as stored (trimmed), or refuse one that is empty or too long, naming it."""
    value = (value or "").strip()
    # Control characters (DEL and C1 too, not only those below 32) and line separators.
    if (not value and not empty) or len(value) > longest or any(unicodedata.category(c) in ("Cc", "Zl", "Zp")
                                                                 for c in value):
        raise AccountError(f"Give a {what} of {0 if empty else 1} to {longest} characters, on one line.", field)
    return value or None


def _email(value: str | None) -> str | None:
    """Return an address mail can be sent to (or None), or refuse it: one with a line break would
    have been refused by the mail library only when a message was sent, after its step committed."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if len(value) > 254:
            raise ValidationError("too long")
        return validate.Email()(value)
    except ValidationError:
        raise AccountError(f"{value[:80]!r} is not an email address.", "email") from None


def change_password(session: Session, user: User, new_password: str, actor: User | None = None) -> None:
    """Set a new password and end every session and token of the user; the trail says who set it
    (the person themself, an administrator, or a command), never the password."""
    if problems := policy_problems(new_password, user.username):
        raise AccountError("The password is too weak: " + " ".join(problems), "password")
    _read_locked(session, user)
    if actor is not None and actor.id != user.id:  # (an administrator's, as update_user)
        _as_administrator(session, actor)
    user.password_hash = hash_password(new_password)
    end_sessions(session, user.id)
    revoke_tokens(session, user)
    _audit(session, user, actor, "password_change" if actor is not None and actor.id == user.id else "password_set",
           {}, account_status(user.active))
