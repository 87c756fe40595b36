"""On PostgreSQL a request's reads autocommit (no BEGIN, no COMMIT) until it first writes; its
writes and locks still form one transaction, held until COMMIT (workflows/transaction.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from extensions import db
from models import Department
from workflows.transaction import write_transaction


@pytest.fixture(autouse=True)
def postgresql_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("this run is on SQLite, where a read's BEGIN costs no round trip (CI runs PostgreSQL)")


@pytest.fixture
def other(app):
    """A second process's connection, to see what the request holds."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    yield engine
    engine.dispose()


def _in_block(conn) -> bool:
    """Return whether a connection has a transaction block open on the server now (after a BEGIN)."""
    from psycopg.pq import TransactionStatus

    return conn.connection.dbapi_connection.info.transaction_status != TransactionStatus.IDLE


def _in_transaction() -> bool:
    """Return whether the request's connection has a transaction open on the server now."""
    return _in_block(db.session.connection())


def _locked(other, table: str, row_id: int) -> bool:
    """Return whether another connection finds the row locked."""
    with other.connect() as conn:
        try:
            conn.execute(text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE NOWAIT"), {"id": row_id})
        except OperationalError as err:
            assert "could not obtain lock" in str(err)
            return True
        return False


def test_a_page_reads_without_a_transaction_and_its_first_write_opens_one(app, monkeypatch):
    monkeypatch.setitem(app.config, "ACCORD_STRAY_WRITES", "log")  # (its write outside a write_transaction)
    seen = {}

    def page():
        db.session.scalar(select(func.count()).select_from(Department))
        seen["after reading"] = _in_transaction()
        with write_transaction(db.session):
            db.session.scalar(select(func.count()).select_from(Department))
            seen["reading in a write transaction"] = _in_transaction()
        db.session.scalar(select(func.count()).select_from(Department))
        seen["reading after it"] = _in_transaction()
        db.session.add(Department(name="Written by a page"))
        db.session.flush()
        seen["after writing"] = _in_transaction()
        return "ok"

    app.add_url_rule("/test-page", "test_page", page)
    assert app.test_client().get("/test-page").status_code == 200
    db.session.rollback()
    assert seen == {"after reading": False, "reading in a write transaction": True, "reading after it": False,
                    "after writing": True}
    # The write no one committed is rolled back at the end of the request, as before.
    assert db.session.scalar(select(func.count()).where(Department.name == "Written by a page")) == 0


@pytest.mark.parametrize("read", [
    lambda dept_id: select(Department).where(Department.id == dept_id).with_for_update(),
    lambda dept_id: text(f"select id from departments where id = {int(dept_id)}\nfor no key update"),
], ids=["with_for_update", "written by hand"])
def test_a_locking_read_in_a_request_holds_its_lock_until_the_transaction_ends(app, other, read):
    dept = Department(name="Locked by a page")
    db.session.add(dept)
    db.session.flush()
    dept_id = dept.id
    db.session.commit()  # (the request begins its own transaction)
    seen = {}

    def page():
        db.session.execute(read(dept_id)).first()
        seen["locked"] = _locked(other, "departments", dept_id)
        return "ok"

    app.add_url_rule("/test-lock", "test_lock", page)
    assert app.test_client().get("/test-lock").status_code == 200
    db.session.rollback()
    assert seen == {"locked": True}
    assert not _locked(other, "departments", dept_id)


def test_a_transition_after_the_requests_reads_holds_the_case_lock_from_its_read_to_commit(app, api, people, submitted,
                                                                                        other):
    # The API reads the caller's token first (autocommit); the case must still be locked from the
    # moment the transition reads it, so that no other approver acts on it in between.
    case_id, version = submitted.id, submitted.version
    seen, in_block = [], []

    def read(conn, _cursor, statement, *_args):
        in_block.append(_in_block(conn))
        if statement.startswith("SELECT cases.") and "FOR UPDATE" in statement:
            seen.append(_locked(other, "cases", case_id))

    client = api(people["head"])
    assert not db.session().in_transaction()  # the request begins its own, as in production
    event.listen(db.engine, "after_cursor_execute", read)
    try:
        r = client.post(f"/api/v1/cases/{case_id}/transitions",
                        json={"trigger": "approve", "version": version, "data": {"amount": "10.00"}})
    finally:
        event.remove(db.engine, "after_cursor_execute", read)
    assert r.status_code == 200, r.get_json()
    assert seen == [True]
    assert not _locked(other, "cases", case_id)
    # The token's read before the transition runs without BEGIN and COMMIT; from the lock on, the
    # transition's statements are one transaction.
    assert in_block[0] is False
    assert in_block[1:] == [True] * (len(in_block) - 1) and len(in_block) > 4


def test_a_page_may_set_local_settings_and_stream_rows(app):
    # SET LOCAL (the annual report's settings) and a server-side cursor (rows read in batches)
    # need a transaction; they get one, as the first write does.
    from reports.sql import prepare

    seen = {}

    def page():
        prepare(db.session)
        seen["work_mem"] = db.session.scalar(text("SHOW work_mem"))
        db.session.rollback()
        rows = db.session.scalars(select(Department).execution_options(yield_per=2))
        seen["streamed"] = len(list(rows)) == db.session.scalar(select(func.count()).select_from(Department))
        return "ok"

    app.add_url_rule("/test-settings", "test_settings", page)
    db.session.add_all([Department(name=f"Department {n}") for n in range(5)])
    db.session.commit()
    assert app.test_client().get("/test-settings").status_code == 200
    assert seen == {"work_mem": "32MB", "streamed": True}


def _one_connection(app, make_app):
    """Return an app whose pool holds a single connection (and waits 2 s at most for it)."""
    options = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_size": 1, "max_overflow": 0, "pool_timeout": 2}
    small = make_app({**app.config, "SQLALCHEMY_ENGINE_OPTIONS": options})
    small.add_url_rule("/test-read", "test_read", lambda: str(db.session.scalar(text("SELECT 1"))))
    return small


def test_a_connection_goes_back_to_the_pool_with_autocommit_off(app, make_app):
    small = _one_connection(app, make_app)
    assert small.test_client().get("/test-read").status_code == 200
    with small.app_context():
        db.session.scalar(text("SELECT 1"))
        assert _in_transaction()  # a command, outside requests, reads in a transaction as before
        db.session.rollback()


def test_a_connection_lost_during_a_requests_reads_is_replaced(app, make_app, other):
    # PostgreSQL restarted, or an administrator ended the backend, while a page was reading.
    small = _one_connection(app, make_app)

    def page():
        backend = db.session.scalar(text("SELECT pg_backend_pid()"))
        with other.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        return str(db.session.scalar(text("SELECT 1")))

    small.add_url_rule("/test-lost", "test_lost", page)
    client = small.test_client()
    assert client.get("/test-lost").status_code == 503  # (the error page: the database went away)
    assert client.get("/test-read").status_code == 200  # the pool's one connection came back
