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
