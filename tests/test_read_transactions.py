"""A request that only read commits its transaction; one that wrote without committing never does."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text, update

from accounts.service import issue_token
from extensions import db
from models import Department


def _departments_named(app, name: str) -> int:
    """Count departments of that name as another process sees them (committed rows only)."""
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with other.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Department).where(Department.name == name))
    finally:
        other.dispose()


def test_a_write_no_one_committed_is_rolled_back_not_committed_at_the_end_of_the_request(app):
    # Reads now end with COMMIT (see workflows/transaction.py); a view that wrote and forgot to
    # commit must still lose its write, whether it flushed an object or ran an UPDATE.
    db.session.add(Department(name="City Clerk's Office"))
    db.session.commit()

    @app.get("/test-flush-only")
    def flush_only():
        db.session.add(Department(name="Flushed, never committed"))
        db.session.flush()
        return "ok"

    @app.get("/test-update-only")
    def update_only():
        db.session.execute(update(Department).where(Department.name == "City Clerk's Office")
                           .values(name="Renamed, never committed"))
        return "ok"

    client = app.test_client()
    assert client.get("/test-flush-only").status_code == 200
    db.session.rollback()  # what the end of the app context does in production
    assert client.get("/test-update-only").status_code == 200
    db.session.rollback()
    assert _departments_named(app, "Flushed, never committed") == 0
    assert _departments_named(app, "Renamed, never committed") == 0
    assert _departments_named(app, "City Clerk's Office") == 1


def test_pages_that_only_read_keep_their_prepared_statements_on_postgresql(app, make_user, api):
    # psycopg forgets its prepared statements at every ROLLBACK, so PostgreSQL planned each
    # statement of every page again; reads that end with COMMIT let the statements be prepared.
    if db.engine.dialect.name != "postgresql":
        pytest.skip("this run is on SQLite, which has no prepared statements to keep (CI runs PostgreSQL)")
    client = api(make_user("reader", "hco"))
    for _ in range(8):  # psycopg prepares a statement at its fifth run on a connection
        assert client.get("/api/v1/cases").status_code == 200
        db.session.remove()  # what the end of each request's app context does in production
    prepared = db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
    db.session.rollback()
    assert prepared > 0


def test_accord_db_prepare_0_turns_prepared_statements_off_for_a_pooler(app, make_app, make_user, api):
    # Behind PgBouncer in transaction mode (before 1.21) a prepared statement would be looked for
    # on another server connection; ACCORD_DB_PREPARE=0 must keep psycopg from preparing any.
    if db.engine.dialect.name != "postgresql":
        pytest.skip("this run is on SQLite, which has no prepared statements (CI runs PostgreSQL)")
    user = make_user("reader", "hco")
    token = issue_token(db.session, user)
    db.session.commit()
    other = make_app({**app.config, "ACCORD_DB_PREPARE": False})
    client = other.test_client()
    for _ in range(8):
        assert client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with other.app_context():
        assert db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements")) == 0
