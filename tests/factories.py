"""Shared test data helpers."""
from __future__ import annotations

import html
import re
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event, text

TEST_PASSWORD = "correct horse battery staple"


@contextmanager
def counted() -> Iterator[list[str]]:
    """Collect the SQL statements run inside the block, from a fresh session."""
    from extensions import db

    db.session.remove()
    statements: list[str] = []

    def listener(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def roles_queries(statements: list[str]) -> list[str]:
    """Return the statements that read people's roles on their own (not joined to who they belong to)."""
    return [s for s in statements if s.lstrip().startswith("SELECT user_roles")]


@contextmanager
def trail_unguarded(conn) -> Iterator[None]:
    """Let the block change or delete audit events, as someone with the database's keys could.

    The triggers that refuse it are switched off on PostgreSQL, and dropped and made again on
    SQLite (which cannot switch one off), inside the connection's transaction.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate"))
        yield
        conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
        conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_truncate"))
        return
    triggers = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                 "AND tbl_name = 'audit_events'")).all()
    assert triggers, "the append-only triggers are missing"
    for name, _ in triggers:
        conn.execute(text(f"DROP TRIGGER {name}"))
    yield
    for _, sql in triggers:
        conn.execute(text(sql))


def error_summary(page: str) -> list[tuple[str, str]]:
    """Return the links of a page's error summary, as (id of the field it leads to, text).

    Each must lead to a form control of the page (a link to nothing would leave the person where
    they were), in the order of the page.
    """
    found = re.search(r'<div class="error-summary".*?</ul>', page, re.S)
    links = re.findall(r'<a href="#([^"]+)">([^<]*)</a>', found.group(0)) if found else []
    places = []
    for target, text in links:
        control = re.search(rf'<(input|select|textarea)\b[^>]*\bid="{re.escape(target)}"', page)
        assert control, (target, text)
        places.append(control.start())
    assert places == sorted(places), f"the summary is not in the page's order: {links}"
    return [(target, html.unescape(text)) for target, text in links]
