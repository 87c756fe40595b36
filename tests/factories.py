"""Shared test data helpers."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event

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
