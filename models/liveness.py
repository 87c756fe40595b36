"""Pooled PostgreSQL connections that the server closed are replaced before a request uses them.

SQLAlchemy's `pool_pre_ping` sends a query on every checkout to find out, which is one more round
trip per transaction (a fifth of an engine transition's time on PostgreSQL, benchmark 1). A
connection idle in the pool has nothing to read unless the server spoke: when PostgreSQL
restarts, or an administrator or a crash ends a backend, the server sends its farewell and closes
the socket. So checking out asks the operating system whether the socket has anything to read,
which takes no round trip; if it has, the pool discards the connection and opens a fresh one.

What this cannot see is a link that died silently (a cable cut, a host that vanished): no byte
arrives, and a query waits for TCP to give up. pre_ping would wait there too; set it in
SQLALCHEMY_ENGINE_OPTIONS all the same where a firewall drops idle connections without a word.
"""
from __future__ import annotations

import select

from sqlalchemy import event, exc
from sqlalchemy.pool import Pool


@event.listens_for(Pool, "checkout")
def _discard_closed_by_server(dbapi_connection, _record, _proxy) -> None:
    pgconn = getattr(dbapi_connection, "pgconn", None)  # psycopg 3; other drivers: nothing to check
    if pgconn is None:
        return
    if dbapi_connection.closed or dbapi_connection.broken:
        raise exc.DisconnectionError("the connection is closed")
    readable, _, _ = select.select([pgconn.socket], [], [], 0)
    if readable:  # an idle connection hears from the server only when it is being closed
        raise exc.DisconnectionError("the server closed the connection while it was in the pool")
