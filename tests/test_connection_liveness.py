"""A PostgreSQL connection the server closed while it sat in the pool costs no failed request."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from extensions import db


def _terminate(url: str, pids: list[int]) -> None:
    """End these backends, as a restart of PostgreSQL would, and wait until they are gone."""
    admin = create_engine(url)
    try:
        with admin.connect() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.commit()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and conn.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": pids}):
                conn.rollback()  # pg_stat_activity is read once per transaction
                time.sleep(0.05)
            conn.rollback()
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_requests_after_the_server_closed_pooled_connections_succeed(app, make_user, api):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("this run is on SQLite, whose file cannot close a pooled connection (CI runs PostgreSQL)")
    client = api(make_user("ann", "staff"))
    assert client.get("/api/v1/cases").status_code == 200
    pid = db.session.scalar(text("SELECT pg_backend_pid()"))  # the pooled connection the requests use
    db.session.remove()  # as at the end of a real request: the connection goes back to the pool
    assert db.engine.pool.checkedin() == 1
    _terminate(url, [pid])

    for _ in range(3):  # the pooled connection was closed; no request may fail for it
        response = client.get("/api/v1/cases")
        assert response.status_code == 200, response.get_data(as_text=True)
        db.session.remove()
    case = client.post("/api/v1/cases", json={"workflow": "travel", "title": "Lisbon", "goals": ["democracy"],
                                           "data": {}})
    assert case.status_code == 201, case.get_data(as_text=True)


def test_postgresql_connections_use_short_tcp_keepalives(app):
    # A server that vanished without a word is found within a minute, by the check above.
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("this run is on SQLite, which has no connection to keep alive (CI runs PostgreSQL)")
    with db.engine.connect() as conn:
        parameters = conn.connection.dbapi_connection.info.get_parameters()
    assert parameters["keepalives_idle"] == "30" and parameters["keepalives_count"] == "3"


def test_pool_settings_come_from_the_environment(monkeypatch, make_app):
    url = "postgresql+psycopg://accord@db.invalid/accord"  # never connected to
    monkeypatch.setenv("ACCORD_DB_POOL_SIZE", "2")
    monkeypatch.setenv("ACCORD_DB_MAX_OVERFLOW", "3")
    monkeypatch.setenv("ACCORD_DB_PRE_PING", "1")
    other = make_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret", "ACCORD_ENV": "test"})
    with other.app_context():
        pool = db.engine.pool
        assert (pool.size(), pool._max_overflow, pool._pre_ping) == (2, 3, True)
    monkeypatch.delenv("ACCORD_DB_PRE_PING")
    default = make_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret", "ACCORD_ENV": "test"})
    with default.app_context():
        assert db.engine.pool._pre_ping is False
