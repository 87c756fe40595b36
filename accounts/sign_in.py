"""Signing in: the account a sign-in names, API tokens and web sessions (only their hashes and ids
are stored), and what ends them."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload

from accounts.errors import AccountError
from models import ApiToken, LoginSession, User
from models.types import utcnow


def user_named(session: Session, username: str) -> User | None:
    """Return the user a sign-in names: that username, or else the one it names in other capitals
    (a phone writes "Sam" for "sam"; usernames differing only in capitals cannot both be made);
    None if there is none, or, where the database folds capitals only in part, more than one."""
    if (exact := session.scalar(select(User).where(User.username == username))) is not None:
        return exact
    # Matched as the sign-in limits count names (casefold): SQL's lower() folds otherwise ("İ" to
    # "i" on PostgreSQL), and "admİn" would have had guesses of its own at the account "admin".
    found = [user for user in session.scalars(select(User).where(func.lower(User.username) == func.lower(username))
                                               .limit(10))
             if user.username.casefold() == username.casefold()]
    return found[0] if len(found) == 1 else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# The account's password and status, read locked against a change until the sign-in commits.
_CREDENTIALS = select(User.password_hash, User.active).where(User.id == bindparam("uid")).with_for_update(read=True)


def _still_valid(session: Session, user: User, verified: str | None) -> None:
    """Refuse a sign-in whose password was checked against a hash no longer the account's, or on
    an account closed since (the check, outside the transaction, takes a good part of a second).

    A password change or a closing that committed meanwhile ended every session and token there
    was: one made after it with the old password lived on. Under the lock (FOR SHARE, PostgreSQL;
    SQLite's write transaction serialises them), a change waits for the sign-in to commit and
    then ends what it made; a sign-in that comes second reads the change and is refused.
    """
    if verified is None:
        return
    row = session.execute(_CREDENTIALS, {"uid": user.id}).one_or_none()
    if row is None or not row.active or row.password_hash != verified:
        raise AccountError("Wrong username or password.")


def issue_token(session: Session, user: User, verified: str | None = None) -> str:
    """Issue a new API token for the user; only its hash is stored. Give `verified`, the password
    hash the caller's password was checked against, for a token asked for with a password."""
    _still_valid(session, user, verified)
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


def start_session(session: Session, user: User, verified: str | None = None) -> str:
    """Record a web sign-in and return its id, kept in the signed session cookie (`verified`: the
    password hash the password was checked against, as for issue_token)."""
    _still_valid(session, user, verified)
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
