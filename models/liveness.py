"""Pooled PostgreSQL connections that have failed are replaced before a request uses them.

SQLAlchemy's `pool_pre_ping` sends a query on every checkout to find out: one more round trip in
every transaction (one of the engine's five on PostgreSQL; about 0.25 ms on the benchmark
machine). A connection idle in the pool has nothing to read unless something happened to it:
when PostgreSQL restarts, or an administrator or a crash ends a backend, the server sends its
farewell and closes the socket; when the server's host vanished or a NAT forgot the connection,
the TCP keepalives set in config.postgresql_engine_options make the kernel mark the socket
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
