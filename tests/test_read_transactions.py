"""A request that only read commits its transaction; one that wrote without committing never does.

On PostgreSQL a request's reads run in autocommit until its first write: tests/workflows/test_request_reads.py.
"""
from __future__ import annotations

import pytest
from flask import abort
from sqlalchemy import create_engine, func, insert, select, text, update

from accounts.sign_in import issue_token
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


def test_a_write_no_one_committed_is_rolled_back_not_committed_at_the_end_of_the_request(app, monkeypatch):
    # Reads now end with COMMIT (see workflows/transaction.py); a view that wrote and forgot to
    # commit must still lose its write, however it wrote, whether or not it answered an error.
    # (Tests refuse such a write at once; in production it is only logged, so it must not stick.)
    monkeypatch.setitem(app.config, "ACCORD_STRAY_WRITES", "log")
    db.session.add(Department(name="City Clerk's Office"))
    db.session.commit()
    rename = update(Department).where(Department.name == "City Clerk's Office")

    def flushed():
        db.session.add(Department(name="Flushed"))
        db.session.flush()

    def added():
        db.session.add(Department(name="Added"))

    def in_a_savepoint():
        with db.session.begin_nested():
            db.session.add(Department(name="In a savepoint"))

    def through_the_session():
        db.session.execute(rename.values(name="Through the session"))

    def through_its_connection():
        db.session.connection().execute(insert(Department).values(name="Through its connection"))

    def then_refused():
        db.session.add(Department(name="Then refused"))
        db.session.flush()
        abort(409)

    writes = {"Flushed": flushed, "Added": added, "In a savepoint": in_a_savepoint,
              "Through the session": through_the_session, "Through its connection": through_its_connection,
              "Then refused": then_refused}
    for name, write in writes.items():
        app.add_url_rule(f"/test-write/{len(name)}-{name[:4]}", name, lambda write=write: write() or "ok")
    client = app.test_client()
    for name in writes:
        assert client.get(f"/test-write/{len(name)}-{name[:4]}").status_code in (200, 409), name
        db.session.rollback()  # what the end of the app context does in production
    for name in writes:
        assert _departments_named(app, name) == 0, name
    assert _departments_named(app, "City Clerk's Office") == 1


def test_a_request_that_writes_outside_a_write_transaction_is_refused_in_tests_and_logged_in_production(
        app, monkeypatch, caplog):
    # On SQLite such a write fails at once ("database is locked") if another writer committed
    # after the request first read: only under load. The guard finds it at its first test.
    from workflows.transaction import WriteOutsideTransaction, write_transaction

    def stray():
        db.session.add(Department(name="Stray"))
        db.session.flush()
        return "ok"

    def in_a_write_transaction():
        with write_transaction(db.session) as session:
            session.add(Department(name="Kept"))
        return "ok"

    app.add_url_rule("/test-stray", "stray", stray)
    app.add_url_rule("/test-kept", "kept", in_a_write_transaction)
    client = app.test_client()
    assert client.get("/test-stray").status_code == 500  # the app's handler answers what it raised
    db.session.rollback()
    assert WriteOutsideTransaction.__name__ in caplog.text
    caplog.clear()
    assert _departments_named(app, "Stray") == 0
    assert client.get("/test-kept").status_code == 200
    assert _departments_named(app, "Kept") == 1

    monkeypatch.setitem(app.config, "ACCORD_STRAY_WRITES", "log")
    assert client.get("/test-stray").status_code == 200  # works, but for the race above
    db.session.rollback()
    assert "a request wrote outside a write_transaction: 'INSERT INTO departments" in caplog.text


@pytest.mark.parametrize("statement, writes", [
    ("INSERT INTO departments (name) VALUES (?)", True), ("  delete from departments", True),
    ("/* a note */ UPDATE departments SET name = ?", True), ("-- a note\nUPDATE departments SET name = ?", True),
    ("WITH old AS (SELECT id FROM departments) DELETE FROM departments WHERE id IN (SELECT id FROM old)", True),
    ("MERGE\nINTO departments USING x ON true WHEN MATCHED THEN DO NOTHING", True), ("TRUNCATE departments", True),
    ("WITH old AS (SELECT id FROM departments) SELECT * FROM old", False), ("/* a note */ SELECT 1", False),
    ("WITH d AS (SELECT id FROM departments) SELECT * FROM d FOR UPDATE", False),
    ("WITH e AS (SELECT * FROM audit_events WHERE action = 'update') SELECT * FROM e", False),
    ("WITH d AS (SELECT id FROM departments) UPDATE departments SET name = 'x' WHERE id IN (SELECT id FROM d)", True),
    ("WITH d AS (SELECT 1) UPDATE departments AS dep SET name = 'x'", True),
    ("WITH d AS (SELECT 1) INSERT INTO departments (name) SELECT 'delete from x' FROM d", True),
    ("SET LOCAL work_mem = '64MB'", False), ("SAVEPOINT sa_1", False), ("RELEASE SAVEPOINT sa_1", False),
    ("SHOW transaction_isolation", False),
])
def test_the_guard_knows_a_write_under_comments_and_in_a_with_and_leaves_settings_alone(statement, writes):
    from workflows.transaction import _writes_data

    assert _writes_data(statement) is writes


def test_pages_that_only_read_keep_their_prepared_statements_on_postgresql(app, make_user, api):
    # psycopg forgets its prepared statements at every ROLLBACK, so PostgreSQL planned each
    # statement of every page again. A page's reads now run in autocommit there (nothing to roll
    # back), and a transaction that only read ends with COMMIT: either way they stay prepared.
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


@pytest.mark.parametrize("value, prepare", [(None, True), ("1", True), ("on", True), ("0", False), ("false", False),
                                            ("No", False), ("off", False)])
def test_accord_db_prepare_reads_the_usual_yes_and_no(monkeypatch, value, prepare):
    import config

    if value is None:
        monkeypatch.delenv("ACCORD_DB_PREPARE", raising=False)
    else:
        monkeypatch.setenv("ACCORD_DB_PREPARE", value)
    assert config.from_environment()["ACCORD_DB_PREPARE"] is prepare


def test_accord_db_prepare_refuses_a_value_it_does_not_know(monkeypatch):
    import config

    monkeypatch.setenv("ACCORD_DB_PREPARE", "maybe")
    with pytest.raises(RuntimeError, match="ACCORD_DB_PREPARE must be 1 or 0"):
        config.from_environment()


def test_a_write_made_before_a_transition_is_kept_when_the_transition_is_refused(app, make_user):
    # On PostgreSQL a transition goes on in the transaction the request began, when that only read;
    # a transaction that had already written is committed first, as on SQLite, so that a refused
    # transition rolls back only its own work.
    from workflows import engine
    from workflows.errors import NotFound

    user = make_user("sam", "staff")
    db.session.add(Department(name="Written before"))
    db.session.flush()
    with pytest.raises(NotFound):
        engine.fire(db.session, user, 987654, "submit", 1)
    db.session.rollback()
    assert _departments_named(app, "Written before") == 1


def test_postgresql_transactions_read_committed_whatever_the_server_default(app, make_app):
    # Under REPEATABLE READ, a writer that waited on a case's lock, or a write that went on in the
    # request's reading transaction, would fail with a serialization error instead of answering 409.
    if db.engine.dialect.name != "postgresql":
        pytest.skip("this run is on SQLite, which has no isolation levels to choose (CI runs PostgreSQL)")
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    stricter = {**options, "connect_args": {**options["connect_args"],
                                            "options": "-c default_transaction_isolation=repeatable\\ read"}}
    other = make_app({**app.config, "SQLALCHEMY_ENGINE_OPTIONS": stricter})
    with other.app_context():
        assert db.session.scalar(text("SHOW default_transaction_isolation")) == "repeatable read"
        assert db.session.scalar(text("SHOW transaction_isolation")) == "read committed"
        db.session.rollback()
