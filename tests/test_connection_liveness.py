"""A PostgreSQL connection the server closed while it sat in the pool costs no failed request."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from extensions import db


def _terminate_other_backends(url: str) -> int:
    """End every other connection to the test database, as a restart of PostgreSQL would."""
    admin = create_engine(url)
    try:
        with admin.connect() as conn:
            pids = list(conn.scalars(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")))
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
    return len(pids)


def test_requests_after_the_server_closed_pooled_connections_succeed(app, make_user, api):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("this run is on SQLite, whose file cannot close a pooled connection (CI runs PostgreSQL)")
    client = api(make_user("ann", "staff"))
    assert client.get("/api/v1/cases").status_code == 200
    db.session.remove()  # as at the end of a real request: the connection goes back to the pool
    assert db.engine.pool.checkedin() >= 1
    assert _terminate_other_backends(url) >= 1

    for _ in range(3):  # every pooled connection was closed; none of them may fail a request
        response = client.get("/api/v1/cases")
        assert response.status_code == 200, response.get_data(as_text=True)
        db.session.remove()
    case = client.post("/api/v1/cases", json={"workflow": "travel", "title": "Lisbon", "goals": ["democracy"],
                                           "data": {}})
    assert case.status_code == 201, case.get_data(as_text=True)
