"""Operations on users, sessions and tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from marshmallow import ValidationError, validate
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload

from accounts.passwords import hash_password, policy_problems
from models import ApiToken, Department, LoginSession, Role, User
from models.types import utcnow

ROLE_TITLES = {
    "staff": "City employee",
    "councillor": "Member of Council",
    "hco": "Healthy City Office officer",
    "dept_head": "Department Head",
    "committee": "Policy and Finance Committee secretary",
    "council": "City Clerk",
    "cao": "Chief Administrative Officer's office",
    "finance": "Finance",
    "admin": "System administrator",
}


class AccountError(ValueError):
    """A refused account operation, with a message for a person."""


def ensure_roles(session: Session) -> None:
    """Create the standard roles that are missing (they live in data, not code, after that)."""
    existing = set(session.scalars(select(Role.name)))
    for name, title in ROLE_TITLES.items():
        if name not in existing:
            session.add(Role(name=name, title=title))
    session.flush()


def department(session: Session, name: str) -> Department:
    """Return the department of that name, creating it if it is new."""
    dept = session.scalar(select(Department).where(Department.name == name))
    if dept is None:
        dept = Department(name=name)
        session.add(dept)
        session.flush()
    return dept


def create_user(session: Session, username: str, password: str, roles: list[str], department_name: str,
                full_name: str | None = None, email: str | None = None, check_policy: bool = True) -> User:
    """Create a user with roles in a department; refuse a duplicate or an unknown role."""
    username = username.strip()
    if not username or len(username) > 80:
        raise AccountError("Give a username of 1 to 80 characters.")
    if any(c.isspace() or not c.isprintable() for c in username):
        # A line break or a control character made a name that reads as another in the trail.
        raise AccountError("A username has no spaces, line breaks or control characters.")
    if (same := session.scalar(select(User.username).where(func.lower(User.username) == username.lower()))) is not None:
        raise AccountError(f"A user named '{same}' already exists." if same == username else
                           f"A user named '{same}' already exists; usernames differing only in capitals read as one.")
    if not roles:
        raise AccountError("Give at least one role.")
    found = {r.name: r for r in session.scalars(select(Role).where(Role.name.in_(roles)))}
    unknown = sorted(set(roles) - set(found))
    if unknown:
        known = ", ".join(sorted(session.scalars(select(Role.name))))
        raise AccountError(f"Unknown role {', '.join(unknown)}; the roles are: {known}.")
    if check_policy and (problems := policy_problems(password, username)):
        raise AccountError("The password is too weak: " + " ".join(problems))
    department_name, full_name = _text("department", department_name, 120), _text("name", full_name, 200, empty=True)
    email = _email(email)
    user = User(username=username, full_name=full_name or username, email=email,
                password_hash=hash_password(password), department=department(session, department_name),
                roles=[found[r] for r in dict.fromkeys(roles)])
    session.add(user)
    session.flush()
    return user


def _text(what: str, value: str | None, longest: int, empty: bool = False) -> str | None:
    """Return a name as stored (trimmed), or refuse one that is empty or too long, naming it."""
    value = (value or "").strip()
    if (not value and not empty) or len(value) > longest or any(ord(c) < 32 for c in value):
        raise AccountError(f"Give a {what} of {0 if empty else 1} to {longest} characters, on one line.")
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
        raise AccountError(f"{value[:80]!r} is not an email address.") from None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User) -> str:
    """Issue a new API token for the user; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_digest(token)))
    session.flush()
    return token


# The signed-in user and their roles, which every request reads, in one query. (Roles otherwise
# load in a second query; on PostgreSQL each is a round trip before the page can start.)
_SIGNED_IN = select(User).options(joinedload(User.roles)).where(User.active.is_(True))


# Built once, as every request runs one of them: building a statement costs more than running it.
_BY_TOKEN = (_SIGNED_IN.join(ApiToken, ApiToken.user_id == User.id)
             .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None),
                    ApiToken.created_at >= bindparam("since")))
_BY_SESSION = _SIGNED_IN.where(User.id == bindparam("user_id"), select(LoginSession.id).where(
    LoginSession.id == bindparam("sid"), LoginSession.user_id == User.id, LoginSession.revoked_at.is_(None),
    LoginSession.created_at >= bindparam("since")).exists())


def _since(lifetime: timedelta | None) -> datetime:
    """Return the earliest start of a token or session still within its lifetime (None: forever)."""
    return utcnow() - lifetime if lifetime else datetime.min


def expires_at(lifetime: timedelta | None) -> datetime | None:
    """Return when a token or session begun now will end (UTC), or None if it does not."""
    return utcnow() + lifetime if lifetime else None


def user_for_token(session: Session, token: str, *, lifetime: timedelta | None) -> User | None:
    """Return the active user a bearer token belongs to, if it was issued within its lifetime; or None."""
    if not token or len(token) > 200:
        return None
    return session.scalars(_BY_TOKEN, {"digest": _digest(token), "since": _since(lifetime)}).unique().first()


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every API token of a user; return how many."""
    result = session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return result.rowcount


def start_session(session: Session, user: User) -> str:
    """Record a web sign-in and return its id, kept in the signed session cookie."""
    sid = secrets.token_urlsafe(32)
    session.add(LoginSession(id=sid, user_id=user.id))
    session.flush()
    return sid


def end_sessions(session: Session, user_id: int, sid: str | None = None) -> None:
    """End one web session, or every session of the user when no id is given."""
    stmt = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
    if sid is not None:
        stmt = stmt.where(LoginSession.id == sid)
    session.execute(stmt.values(revoked_at=utcnow()))


def user_for_session(session: Session, user_id: int, sid: str | None, *, lifetime: timedelta | None) -> User | None:
    """Return the active user of a web session they signed in with within its lifetime and did not
    end; or None."""
    if not sid:
        return None
    return session.scalars(_BY_SESSION, {"user_id": user_id, "sid": sid, "since": _since(lifetime)}).unique().first()


def change_password(session: Session, user: User, new_password: str) -> None:
    """Set a new password and end every session and token of the user."""
    if problems := policy_problems(new_password, user.username):
        raise AccountError("The password is too weak: " + " ".join(problems))
    user.password_hash = hash_password(new_password)
    end_sessions(session, user.id)
    revoke_tokens(session, user)
