"""Database transactions that write: one per engine call, locked on every database.

PostgreSQL locks the case row with SELECT ... FOR UPDATE. SQLite renders FOR UPDATE as nothing,
so a write transaction there starts with BEGIN IMMEDIATE, which takes the database's write lock
before the case is read; a second writer waits and then reads the new version.

On SQLite, writers also queue on an exclusive lock of a file beside the database (flock) before
BEGIN IMMEDIATE. SQLite's own busy wait sleeps in growing steps (up to 100 ms) and retries, so
under many concurrent writers an unlucky one waited over a second; the operating system wakes a
process waiting on the file lock as soon as it is released. The busy timeout stays as the
fallback for writers that do not take the file lock. It does not help a transaction that read
first and then writes (BEGIN, not IMMEDIATE) after another writer committed: SQLite refuses
that write at once ("database is locked"), since what it read is out of date. So every write
of a request, a sign-in's session row and a token included, runs in a write_transaction.

On PostgreSQL, what a web or API request reads before it first writes runs in the driver's
autocommit: no BEGIN and no COMMIT, two round trips of every page saved. Under READ COMMITTED
each statement sees what was committed when it began, in a transaction or not, so the pages
read the same. The request's first statement that is not a SELECT (a write, a savepoint, SET
LOCAL), its first locking read (FOR UPDATE, FOR SHARE) or read from a server-side cursor, and
every write_transaction, turn autocommit off first, so that writes are atomic and locks are held
until COMMIT, as before. A SELECT that changes something (set_config, an advisory lock,
SELECT ... INTO, a function that writes) is not recognised: run it in a write_transaction.
"""
from __future__ import annotations

import fcntl
import os
import re
import sqlite3
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Iterator

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.pool import Pool

# True inside write_transaction: its BEGIN is IMMEDIATE, and it already holds the writer lock file.
_immediate: ContextVar[bool] = ContextVar("accord_immediate", default=False)


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" event below emit BEGIN, so that we can choose IMMEDIATE.
    dbapi_connection.isolation_level = None
    # SQLite's lower() folds A to Z only: "Émile" and "émile" read as two usernames (and two
    # departments), which PostgreSQL's lower() reads as one (under a UTF-8 locale, as `initdb`
    # makes on Debian). Python's folds every letter, as PostgreSQL's does there. (Made before any statement runs, as SQLite asks; no index is built on
    # lower(), which this would put out of step.)
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on beside the writer; FULL syncs the WAL at every commit, so an
    # answered approval survives a power cut.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Copy the WAL back into the database every 10,000 pages (about 40 MB) instead of 1,000. The
    # commit that crosses the mark runs the checkpoint while writers wait; an approval writes about
    # 25 pages, so at 1,000 that was every 40 approvals, and with 16 clients approving at once the
    # 99th percentile rose to 0.5-2.4 s (65-70 ms with 10,000; bench/http.py at 100,000 cases).
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    # SQLite's default page cache (2 MiB per connection) is kept on purpose: a 64 MiB cache made
    # the annual report no faster at 100,000 cases (the OS caches the file), but filled up in
    # every pooled connection of every worker.
    cursor.close()


def _lower(value):
    return None if value is None else str(value).lower()


@event.listens_for(Engine, "begin")
def _begin(conn) -> None:
    if conn.dialect.name == "sqlite":
        # Straight to the driver: this runs before every transaction, and SQLAlchemy's statement
        # machinery would cost more than the BEGIN itself.
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")
    elif conn.dialect.name == "postgresql" and not _immediate.get() and has_request_context():
        # A request's reads: psycopg sends nothing until the first statement, so none is sent yet.
        conn.connection.dbapi_connection.autocommit = True
        conn.info[_AUTOCOMMIT] = True


# Set in a pooled connection's info while its driver autocommits a request's reads.
_AUTOCOMMIT = "accord_autocommit"


def _end_autocommit(info: dict, dbapi_connection) -> None:
    """Turn the driver's autocommit off again if a request's reads turned it on.

    psycopg sends BEGIN before the next statement; nothing is sent now.
    """
    # (No connection when the pool discards one that failed: there is nothing to turn off.)
    if info.pop(_AUTOCOMMIT, None) and dbapi_connection is not None and not dbapi_connection.closed:
        dbapi_connection.autocommit = False


#: In a request's WSGI environment: "sent" while a write transaction of the request commits what it
#: wrote, "saved" once the database said it did (the error pages say which, if the database fails).
COMMIT_STATE = "accord.commit"


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run the block in a fresh write transaction; commit on success, roll back on any error.

    Yields the session itself when given Flask-SQLAlchemy's scoped proxy: the engine makes about
    fifteen session calls per transition, and each through the proxy looks up the app context.
    """
    session = session() if isinstance(session, scoped_session) else session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a write transaction must not start with unflushed changes pending")
    # End the read transaction a request may have begun, so that the write lock comes first. It
    # wrote nothing, and ending it by commit keeps what it loaded (the signed-in user and roles):
    # a rollback would expire them and cost a reload; the case is re-read under the lock anyway.
    # On PostgreSQL a transaction that only read goes on instead: under READ COMMITTED each
    # statement sees what was committed when it began, and the lock is the case row's, so ending
    # it would only cost two round trips (COMMIT, then BEGIN); its reads ran in autocommit, which
    # ends here, so that the lock and the writes are one transaction.
    if session.in_transaction():
        if _reads_may_go_on(session):
            connection = session.connection()
            _end_autocommit(connection.info, connection.connection.dbapi_connection)
        else:
            _commit_keeping_state(session)
    queue = _writers_queue(session)
    token = _immediate.set(True)
    try:
        with queue:
            try:
                yield session
                writes = has_request_context() and (bool(session.new or session.dirty or session.deleted)
                                                    or _wrote(session))
                if writes:
                    # From here what the request sent may be saved, even if the database is lost
                    # before it answers: the error page must not say that nothing was changed.
                    request.environ[COMMIT_STATE] = "sent"
                _commit_keeping_state(session)
                if writes:
                    request.environ[COMMIT_STATE] = "saved"  # (whatever fails after, this is kept)
            except BaseException:
                session.rollback()
                session.info.pop("accord_outbox", None)  # nothing is sent for what did not happen
                raise
    finally:
        _immediate.reset(token)


def _reads_may_go_on(session: Session) -> bool:
    """Return whether a write may continue the session's transaction: on PostgreSQL, if it only read."""
    return session.get_bind().dialect.name == "postgresql" and not _wrote(session)


def _writers_queue(session: Session):
    """Return a context holding the SQLite database's writer lock file, or nothing on PostgreSQL."""
    url = session.get_bind().url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or _immediate.get():
        return nullcontext()  # (a write transaction inside another already holds the lock)
    return _file_lock(url.database + ".writer-lock")


@contextmanager
def _file_lock(path: str) -> Iterator[None]:
    # Read-only is enough for flock, so a lock file another account created (say, a command run
    # as an administrator) still opens; it holds no data.
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by close, also if the process dies
        yield
    finally:
        os.close(fd)


def _commit_keeping_state(session: Session) -> None:
    """Commit without expiring the loaded objects: they hold exactly what was just written.

    The caller reads the case it changed (the API answers with it) without reloading it, and the
    next engine call locks and re-reads its case anyway (populate_existing).
    """
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


# A request that only read ends its transaction with COMMIT, not ROLLBACK: the two are the same to
# the database, but psycopg forgets every prepared statement at a ROLLBACK, so PostgreSQL parsed
# and planned each statement of every page afresh (its CPU per case list fell from 4 ms to 1.3).
# Whether the transaction wrote is tracked on its connection, whatever sent the statement (a
# flush, the session, Core on session.connection()): anything but a SELECT counts as a write, and
# a transaction that wrote is left to end as before (a write that no one committed is rolled
# back, never committed by accident).
_WROTE = "accord_wrote"


def _wrote(session: Session) -> bool:
    """Return whether the session's transaction has written anything (see _note_write)."""
    return bool(session.connection().info.get(_WROTE))


class WriteOutsideTransaction(RuntimeError):
    """A web or API request wrote outside a write_transaction (see below)."""


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(conn, _cursor, statement: str, _parameters, context, _executemany) -> None:
    wrote = statement.lstrip()[:6].upper() != "SELECT"
    if wrote:
        if not _immediate.get() and has_request_context() and _writes_data(statement):
            _outside_write_transaction(statement)
        conn.info[_WROTE] = True
    if wrote or (_AUTOCOMMIT in conn.info and _needs_transaction(statement, context)):
        _end_autocommit(conn.info, conn.connection.dbapi_connection)


# Statements that change rows, by their first word after any comments; a WITH that holds one of
# them. A request's SET LOCAL, savepoint or SHOW need no write lock (they count as writes above
# only so that their transaction is kept).
_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
_FIRST_WORD = re.compile(r"[A-Za-z]+")
_DATA_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "TRUNCATE", "COPY"})
# A statement of a WITH that writes (not a locking read's FOR UPDATE), outside quoted text.
_WRITE_IN_WITH = re.compile(r"\b(?:INSERT\s+INTO|DELETE\s+FROM|MERGE\s+INTO|UPDATE\s+(?!OF\b|NOWAIT\b|SKIP\b)"
                            r"[\w.\"]+(?:\s+(?:AS\s+)?\w+)?\s+SET)\b")
_QUOTED = re.compile(r"'(?:[^']|'')*'")


def _writes_data(statement: str) -> bool:
    """Return whether a statement that is not a plain SELECT changes rows."""
    body = statement[_LEADING_COMMENTS.match(statement).end():]
    word = _FIRST_WORD.match(body)
    verb = word.group().upper() if word else ""
    if verb == "WITH":
        return bool(_WRITE_IN_WITH.search(_QUOTED.sub("''", body).upper()))
    return verb in _DATA_VERBS


def _outside_write_transaction(statement: str) -> None:
    """Refuse, in tests, a request's write that does not run in a write_transaction; log it elsewhere
    (ACCORD_STRAY_WRITES: "refuse" or "log").

    Such a write works alone, and on PostgreSQL always; on SQLite, after another writer committed
    since the request first read, it fails at once with "database is locked". Each such write was
    found and moved one caller at a time; this finds the next one when its test first runs, rather
    than under load. In production it is logged, not refused: it works but for that race.
    """
    from flask import current_app

    message = f"a request wrote outside a write_transaction: {statement[:80]!r}"
    if current_app.config.get("ACCORD_STRAY_WRITES", "refuse" if current_app.testing else "log") == "refuse":
        raise WriteOutsideTransaction(message)
    current_app.logger.error(message)


# Matched in the upper-cased SQL: a pattern that starts with letters is searched for fast (20 us
# with a leading \b and IGNORECASE on a page's 1,000-character statement, 1.3 us so). A match
# that is not a locking clause only ends autocommit early.
_LOCKING = re.compile(r"FOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|KEY\s+SHARE|SHARE)\b")


def _needs_transaction(statement: str, context) -> bool:
    """Return whether a SELECT needs a transaction: a locking read (FOR UPDATE, FOR SHARE) holds
    its lock until COMMIT, and rows streamed in batches (yield_per) come from a server-side
    cursor, which lives in a transaction."""
    return (context is not None and bool(context.execution_options.get("stream_results"))) or bool(
        _LOCKING.search(statement.upper()))


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _forget_write(conn) -> None:
    if conn.invalidated:  # its connection failed: the pool replaces it, and forgets its info with it
        return
    conn.info.pop(_WROTE, None)
    _end_autocommit(conn.info, conn.connection.dbapi_connection)


@event.listens_for(Pool, "checkin")
def _forget_write_at_checkin(_dbapi_connection, record) -> None:
    if record is not None:  # (None for a connection being discarded)
        record.info.pop(_WROTE, None)  # a pool's reset rolls back without the event above
        _end_autocommit(record.info, _dbapi_connection)


def end_read(session: Session, failed: BaseException | None) -> None:
    """At the end of a request, commit its transaction if it only read and nothing failed."""
    session = session() if isinstance(session, scoped_session) else session
    transaction = session.get_transaction()
    if (failed is not None or transaction is None or not transaction.is_active
            or session.new or session.dirty or session.deleted):
        return
    try:
        if not _wrote(session):
            _commit_keeping_state(session)
    except SQLAlchemyError:
        # It wrote nothing, so nothing is lost: end it as before. (A connection lost during the
        # request, whose error a handler answered, fails here: the rollback returns it to the pool.)
        session.rollback()


def init_app(app) -> None:
    """End each request's reading transaction with end_read."""
    from extensions import db

    app.teardown_request(lambda failed: end_read(db.session, failed))
