"""Pooled PostgreSQL connections that have failed are replaced before a request uses them.

SQLAlchemy's `pool_pre_ping` sends a query on every checkout to find out: one more round trip in
every transaction (one of the engine's five on PostgreSQL; about 0.25 ms on the benchmark
machine). A connection idle in the pool has nothing to read unless something happened to it:
when PostgreSQL restarts, or an administrator or a crash ends a backend, the server sends its
farewell and closes the socket; when the server's host vanished or a NAT forgot the connection,
the TCP keepalives of with_keepalives() make the kernel mark the socket
failed within a minute. Either way the socket polls readable, which checking out asks the
operating system without sending anything; the pool then discards the connection and opens a
fresh one, so the request does not fail.

What this cannot see is a connection that died in the last minute without a word from the
server (a reset that has not been probed yet): its first query fails. Set ACCORD_DB_PRE_PING=1
where that matters more than a round trip per transaction.
"""
from __future__ import annotations

import select

from sqlalchemy import event, exc
from sqlalchemy.pool import Pool


@event.listens_for(Pool, "checkout")
def _discard_failed(dbapi_connection, _record, _proxy) -> None:
    pgconn = getattr(dbapi_connection, "pgconn", None)  # psycopg 3; other drivers: nothing to check
    if pgconn is None:
        return
    if dbapi_connection.closed or dbapi_connection.broken:
        raise exc.DisconnectionError("the connection is closed")
    poller = select.poll()  # not select.select, which refuses descriptors above 1023
    poller.register(pgconn.socket, select.POLLIN)
    if poller.poll(0):  # an idle connection hears from the server only when it is being closed
        raise exc.DisconnectionError("the connection failed while it was in the pool")


def with_keepalives(options: dict) -> dict:
    """Return PostgreSQL engine options with short TCP keepalives, unless they already set them.

    libpq's keepalives start after two hours of silence. After 30 s, and a probe every 10 s, a
    connection whose server vanished or whose route dropped it (a NAT, a load balancer) is
    marked failed by the kernel within a minute, which the checkout check above then sees.
    """
    keepalives = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
    return {**options, "connect_args": {**keepalives, **options.get("connect_args", {})}}


#: What SQLite says when its file cannot be used now: missing, locked past the busy wait, failing.
_SQLITE_UNAVAILABLE = ("unable to open database file", "database is locked", "disk i/o error", "database or disk is full")


def unreachable(err: exc.DBAPIError) -> bool:
    """Return whether a database error says the database cannot be reached or used just now (not
    that a statement was wrong): a connection refused, lost or closed; SQLite's file missing or
    locked. A deadlock, a cancelled statement or an unknown column is a fault to trace, not an
    outage to wait out."""
    if err.connection_invalidated or isinstance(err, exc.InterfaceError):
        return True
    orig = getattr(err, "orig", None)
    if type(orig).__module__.startswith("psycopg"):
        # psycopg's OperationalError itself is a connection's failure, and so is its
        # ConnectionTimeout (a host that is off, firewalled or cut off says nothing: the attempt
        # times out); its other subclasses (deadlock, serialization, cancelled statement, ...) are
        # the server refusing a statement.
        return type(orig).__name__ in ("OperationalError", "ConnectionTimeout")
    return str(orig).strip().lower().startswith(_SQLITE_UNAVAILABLE)


def missing_table(err: exc.DBAPIError) -> bool:
    """Return whether a database error says a table is missing: the database was never migrated
    to this version (`flask init-db` not run)."""
    orig = getattr(err, "orig", None)
    return type(orig).__name__ == "UndefinedTable" or str(orig).strip().lower().startswith("no such table")


def said(err: exc.DBAPIError) -> str:
    """Return the first line of what the driver said of a database error."""
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__
