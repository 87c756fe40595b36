"""When the database does not answer, every request is answered 503 with a line of the log, not a
bare 500 with three tracebacks; and /healthz says whether the database has the tables this code
needs, not only whether it answers."""
from __future__ import annotations

import logging

from sqlalchemy import text

from extensions import db
from tests.conftest import _config
from tests.factories import TEST_PASSWORD


def _down_url(app, tmp_path) -> str:
    """Return the URL of the app's kind of database where none answers: on SQLite, a file that
    cannot be opened (a folder stands in its place); on PostgreSQL, a port no server listens on."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        (tmp_path / "not-a-database").mkdir()
        return f"sqlite:///{tmp_path / 'not-a-database'}"
    return "postgresql+psycopg://postgres@127.0.0.1:1/test"


def test_a_database_that_does_not_answer_is_said_in_a_503_and_one_line_of_the_log(app, make_user, make_app,
                                                                                     api, caplog, tmp_path):
    ann = make_user("ann", "staff")
    signed_in = app.test_client()
    assert signed_in.post("/login", data={"username": "ann", "password": TEST_PASSWORD}).status_code == 302
    token = api(ann).token
    down = make_app(_config(_down_url(app, tmp_path))).test_client()
    down.set_cookie("accord_session", signed_in.get_cookie("accord_session").value)  # (the same person, signed in)
    with caplog.at_level(logging.INFO):
        page = down.get("/cases")
        answer = down.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
        health = down.get("/healthz")
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert "Accord cannot reach its database just now; nothing was changed." in page.get_data(as_text=True)
    assert answer.status_code == 503 and answer.get_json()["error"] == "unavailable"
    assert health.status_code == 503 and health.get_json() == {
        "status": "error", "database": "unreachable", "error": "unavailable", "message": "Accord cannot reach its database."}
    said = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage().split(":")[0] for r in said] == ["database unavailable on GET '/cases'",
                                                           "database unavailable on GET '/api/v1/cases'"]
    assert not any(r.exc_info for r in said)


def test_healthz_says_a_database_behind_this_code_is_not_ready(app):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    # Left at an earlier migration (a deploy that forgot `flask init-db`): every page would fail.
    with db.engine.begin() as conn:
        head = conn.scalar(text("SELECT version_num FROM alembic_version"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0019_event_row_digest'"))
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.get_json() == {"status": "error", "database": "ok", "schema": "behind this version of Accord: run flask init-db",
                            "error": "unavailable",
                            "message": "The database is behind this version of Accord: run flask init-db."}
    # Migrated past this code (a newer version deployed beside it): not this code's fault.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_a_later_version'"))
    assert client.get("/healthz").status_code == 200
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})


def test_healthz_says_a_database_never_migrated_is_not_ready(make_app, tmp_path):
    r = make_app(_config(f"sqlite:///{tmp_path / 'empty.sqlite3'}")).test_client().get("/healthz")
    assert r.status_code == 503 and r.get_json()["schema"] == "behind this version of Accord: run flask init-db"


def test_healthz_answers_over_plain_http_in_production(make_app, app):
    # A load balancer asks over HTTP behind the TLS it ends: production sent it a redirect to HTTPS.
    production = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "ACCORD_ENV": "production",
                           "SECRET_KEY": "k" * 40, "TESTING": False})
    client = production.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/login").status_code == 302  # (every page else goes to HTTPS)


def test_a_command_the_database_fails_says_so_in_one_line_with_a_status_of_its_own(app, make_app, tmp_path):
    # Each printed some 140 lines and two tracebacks, and exited 1, as `audit verify` does for a
    # trail that fails its check: a scheduled check could not tell the two apart.
    down = make_app(_config(_down_url(app, tmp_path)))
    for args in (["audit", "verify"], ["users", "token", "ann"], ["reminders", "send"], ["init-db"],
                 ["report", "annual", "--year", "2026", "--format", "json"]):
        with down.app_context():  # (the commands' app, not the test's, whose context is open)
            result = down.test_cli_runner().invoke(args=args)
        assert result.exit_code == 4, (args, result.output)
        assert result.output.startswith("Accord cannot use its database: ") and result.output.count("\n") == 1, (
            args, result.output)
        assert "Traceback" not in result.output


def test_a_statement_the_database_refuses_is_a_fault_not_an_outage(app, make_user, browse, caplog, monkeypatch):
    # An unknown column (a bug) was answered "try again in a minute", and logged with no traceback.
    from web import pages

    monkeypatch.setattr(pages, "_MINE", text("SELECT no_such_column FROM cases"))
    client = browse(make_user("ann", "staff"))
    with caplog.at_level(logging.ERROR):
        r = client.get("/")
    assert r.status_code == 500 and "Retry-After" not in r.headers
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.name == "accord.web" and record.exc_info is not None


def test_a_command_on_a_database_never_migrated_says_to_run_init_db(make_app, tmp_path):
    never = make_app(_config(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    with never.app_context():
        result = never.test_cli_runner().invoke(args=["users", "token", "ann"])
    assert result.exit_code == 4
    assert result.output == "Accord's database lacks its tables (no such table: users): run `flask init-db` first.\n"


def _silent_server():
    """Return a listening socket that never answers: a database host that is off, firewalled or
    cut off, as a connection sees it (the attempt waits, then times out)."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # (the kernel takes the connections; no one reads what they send)
    return server


def test_a_database_host_that_says_nothing_is_an_outage_too(app, make_app, caplog):
    # psycopg says ConnectionTimeout, not OperationalError itself: every command printed a
    # traceback and exited 1, as `audit verify` does for a trail that fails its check.
    server = _silent_server()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{server.getsockname()[1]}/test?connect_timeout=1"
    try:
        silent = make_app(_config(url))
        with silent.app_context():
            result = silent.test_cli_runner().invoke(args=["audit", "verify"])
        assert result.exit_code == 4, result.output
        assert result.output == "Accord cannot use its database: connection timeout expired\n"
        with caplog.at_level(logging.INFO):
            health = silent.test_client().get("/healthz")
            page = silent.test_client().get("/api/v1/cases", headers={"Authorization": "Bearer x"})
    finally:
        server.close()
    assert health.status_code == 503 and health.get_json()["database"] == "unreachable"
    assert page.status_code == 503 and page.get_json()["error"] == "unavailable"
    assert not any(r.exc_info for r in caplog.records)


def _one_connection_app(app, make_app):
    """Return an app on the test's database whose pool holds one connection and waits 0.2 s for it."""
    options = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}
    return make_app({**app.config, "SQLALCHEMY_ENGINE_OPTIONS": options})


def test_every_connection_in_use_is_answered_503_not_a_traceback(app, make_user, api, make_app, caplog):
    # A full pool raised SQLAlchemy's TimeoutError, which is no driver's error: pages answered
    # 500 with a traceback, and /healthz logged one at every probe of the load balancer.
    token = api(make_user("ann", "staff")).token
    small = _one_connection_app(app, make_app)
    with small.app_context(), db.engine.connect():  # (a request that holds the one connection)
        with caplog.at_level(logging.INFO):
            health = small.test_client().get("/healthz")
            answer = small.test_client().get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert health.status_code == 503 and health.get_json() == {
        "status": "error", "database": "busy", "error": "unavailable", "message": "Every connection to the database is in use."}
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
    assert answer.get_json()["message"] == "Accord is too busy to answer just now; nothing was changed. Try again in a minute."
    [said] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert said.getMessage().startswith("database busy on GET '/api/v1/cases': QueuePool limit of size 1 overflow 0")
    assert not said.exc_info
    assert small.test_client().get("/healthz").status_code == 200  # (the connection back, all is well)


def test_a_database_lost_while_saving_is_not_said_to_have_changed_nothing(app, make_user, api, monkeypatch):
    # The connection failed at COMMIT: what was sent may be saved. "Nothing was changed" had the
    # person (or a script) send it again, and a case created twice.
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from workflows import engine
    from workflows.transaction import _wrote

    ann = make_user("ann", "staff")
    case = engine.create_case(db.session, ann, "travel", "Trip", ["research"], {})
    client = api(ann)

    def lost(session):
        if not _wrote(session):
            return  # (a request's reads end with a COMMIT too, before its write begins)
        raise OperationalError("COMMIT", None, Exception("server closed the connection unexpectedly"),
                               connection_invalidated=True)

    event.listen(Session, "before_commit", lost)
    try:
        r = client.post(f"/api/v1/cases/{case.id}/comments", json={"comment": "Seen."})
    finally:
        event.remove(Session, "before_commit", lost)
    assert r.status_code == 503
    assert r.get_json()["message"] == ("Accord lost its database while saving what you sent: it may or may not have "
                                       "been saved. Look at the request again in a minute, before you send anything "
                                       "twice.")
    assert "Retry-After" not in r.headers  # (not an invitation to send it again)


def _connection_lost(*_args, **_kwargs):
    """Fail as a statement fails when the server closed the connection."""
    from sqlalchemy.exc import OperationalError

    raise OperationalError("SELECT", None, Exception("server closed the connection unexpectedly"),
                           connection_invalidated=True)


def test_a_database_lost_after_saving_says_it_was_saved(app, make_user, api):
    # What failed came after the COMMIT (here, what is done once a comment is recorded): the comment
    # is kept, and "may or may not have been saved" would have had it sent again.
    from workflows import engine

    ann = make_user("ann", "staff")
    case = engine.create_case(db.session, ann, "travel", "Trip", ["research"], {})
    client = api(ann)

    engine.comment_committed.connect(_connection_lost)
    try:
        r = client.post(f"/api/v1/cases/{case.id}/comments", json={"comment": "Seen."})
    finally:
        engine.comment_committed.disconnect(_connection_lost)
    assert r.status_code == 503 and "Retry-After" not in r.headers
    assert r.get_json()["message"] == ("What you sent was saved, but Accord could not show the result just now. "
                                       "Look at the request again in a minute; do not send it again.")
    history = client.get(f"/api/v1/cases/{case.id}/history").get_json()["events"]
    assert history[-1]["comment"] == "Seen."


def test_a_request_that_saved_nothing_is_still_said_to_have_changed_nothing(app, make_user, api, monkeypatch):
    # An edit that changes nothing writes nothing: a failure after it changed nothing either.
    from api import cases as api_cases
    from workflows import engine

    ann = make_user("ann", "staff")
    case = engine.create_case(db.session, ann, "travel", "Trip", ["research"], {})
    client = api(ann)

    monkeypatch.setattr(api_cases, "case_dict", _connection_lost)  # (the answer, read after the edit)
    r = client.patch(f"/api/v1/cases/{case.id}", json={"version": case.version, "title": "Trip"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    assert "nothing was changed" in r.get_json()["message"]
