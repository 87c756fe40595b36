"""The commands of api.md: init-db, users create/token, criteria check."""
from __future__ import annotations

import logging
import os
from datetime import datetime

import pytest
from argon2 import extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import func, select

import clock
from app import create_app
from extensions import db
from models import AuditEvent, Partnership, User
from tests.conftest import fresh_database_url
from tests.factories import TEST_PASSWORD


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_users_create_and_token(app):
    r = run(app, "users", "create", "ann", "--password", "a long enough pw", "--role", "staff", "--role",
            "councillor", "--department", "City Council", "--name", "Ann Example")
    assert r.exit_code == 0, r.output
    user = db.session.scalar(select(User).where(User.username == "ann"))
    assert user.role_names == {"staff", "councillor"} and user.department.name == "City Council"
    # argon2id at the cost RFC 9106 recommends where memory is short (the test users' hashes are cheap)
    assert extract_parameters(user.password_hash) == RFC_9106_LOW_MEMORY
    clock.set(datetime(2026, 3, 2, 15, 30))
    r = run(app, "users", "token", "ann")
    assert r.exit_code == 0
    assert "valid until 2026-05-31 15:30 UTC" in r.output  # ACCORD_TOKEN_DAYS, 90 by default
    token = r.output.strip().splitlines()[-1]
    assert app.test_client().get("/api/v1/workflows", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize("username, message", [
    ("bo\nb", "no spaces, line breaks or control characters"),
    ("bo b", "no spaces, line breaks or control characters"),
    ("b\x1bob", "no spaces, line breaks or control characters"),
    ("ANN", "A user named 'ann' already exists; usernames differing only in capitals read as one."),
])
def test_a_username_that_would_read_as_another_in_the_trail_is_refused(app, make_user, username, message):
    make_user("ann", "staff")
    r = run(app, "users", "create", username, "--password", "a long enough pw", "--role", "staff", "--department", "X")
    assert r.exit_code != 0 and message in r.output


@pytest.mark.parametrize("args, message", [
    (["--role", "wizard"], "Unknown role wizard"),
    (["--role", "staff"], "already exists"),
])
def test_users_create_refuses(app, make_user, args, message):
    make_user("ann", "staff")
    r = run(app, "users", "create", "ann" if "already" in message else "bob", "--password", "a long enough pw",
            "--department", "X", *args)
    assert r.exit_code != 0
    assert message in r.output


@pytest.mark.parametrize("args, message", [
    (["--department", "D" * 121], "department of 1 to 120 characters"),
    (["--department", "  "], "department of 1 to 120 characters"),
    (["--department", "X", "--name", "N" * 201], "name of 0 to 200 characters"),
    # DEL and the C1 controls, not only those below 32: a name that reads as another in the trail.
    (["--department", "Dept\x7f"], "department of 1 to 120 characters, on one line"),
    (["--department", "X", "--name", "Bob\x85Smith"], "name of 0 to 200 characters, on one line"),
    # A line break in an address would have made every mail to them fail, after their step committed.
    (["--department", "X", "--email", "h@y.example\nBcc: all@y.example"], "is not an email address"),
    (["--department", "X", "--email", "not an address"], "is not an email address"),
])
def test_users_create_refuses_what_it_could_not_store_or_use(app, args, message):
    r = run(app, "users", "create", "bob", "--password", "a long enough pw", "--role", "staff", *args)
    assert r.exit_code == 1 and message in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert db.session.scalar(select(User).where(User.username == "bob")) is None


def test_a_token_is_not_issued_to_a_deactivated_person(app, make_user):
    make_user("ann", "staff").active = False
    db.session.commit()
    r = run(app, "users", "token", "ann")
    assert r.exit_code == 1 and "deactivated" in r.output


def test_users_create_refuses_a_weak_password(app):
    r = run(app, "users", "create", "bob", "--password", "short", "--role", "staff", "--department", "X")
    assert r.exit_code != 0 and "too weak" in r.output


def test_init_db_is_idempotent(app):
    before = db.session.scalar(select(func.count(Partnership.id)))
    assert before == 13
    for _ in range(2):
        r = run(app, "init-db")
        assert r.exit_code == 0, r.output
    assert db.session.scalar(select(func.count(Partnership.id))) == before


def test_a_command_that_migrates_goes_on_logging_what_it_does(app, caplog):
    # Alembic's env.py set up logging from alembic.ini: the root logger went to WARNING with one
    # handler on the stream of that moment, so a command's INFO lines after `upgrade` were lost,
    # and a long-lived process later wrote to a closed stream.
    caplog.set_level(logging.NOTSET)  # (the levels are the app's own)
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    assert run(app, "init-db").exit_code == 0
    assert (root.level, list(root.handlers)) == before
    logging.getLogger("accord.engine").info("after the migration")
    assert "after the migration" in caplog.messages


def test_the_demo_inventory_was_there_before_the_demo_requests_that_name_it(database_template, tmp_path, make_app):
    # A new database got its inventory as of the day seed-demo ran, while the demo's proposals are
    # dated months back: an entry's history showed Council's adoption before the entry existed.
    from tests.conftest import _config

    (tmp_path / "demo").mkdir()
    demo = make_app(_config(fresh_database_url(database_template, tmp_path / "demo")))
    r = demo.test_cli_runner().invoke(args=["seed-demo"])
    assert r.exit_code == 0, r.output
    with demo.app_context():
        loaded = db.session.scalar(select(func.max(AuditEvent.at)).where(AuditEvent.action == "inventory_create",
                                                                           AuditEvent.actor_id.is_(None)))
        first_case = db.session.scalar(select(func.min(AuditEvent.at)).where(AuditEvent.action == "create"))
        adopted = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.chain.like("partnership:%"), AuditEvent.actor_id.is_not(None)))
        db.session.remove()
    assert adopted and loaded < first_case


@pytest.mark.parametrize("env", ["production", "staging"])
def test_demo_accounts_are_refused_outside_development(app, env):
    # Their password is in the README: a CAO and an administrator anyone could sign in as.
    app.config["ACCORD_ENV"] = env
    r = run(app, "seed-demo")
    assert r.exit_code == 1 and f"only in development (ACCORD_ENV={env})" in r.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_secret_key_is_required_outside_development(monkeypatch, capsys):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(SystemExit) as stopped:
        create_app({"ACCORD_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert stopped.value.code == 3
    assert capsys.readouterr().err == "Accord cannot start: SECRET_KEY must be set outside development (ACCORD_ENV=production).\n"


def test_a_setting_the_environment_spells_wrong_stops_a_command_in_one_line():
    # `flask ...` printed some 30 lines of traceback before naming the setting.
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "FLASK_APP": "app.py", "ACCORD_TIMEZONE": "Mars/Base", "DATABASE_URL": "sqlite://"}
    done = subprocess.run([sys.executable, "-m", "flask", "criteria", "check"], cwd=Path(__file__).parents[1],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        "Accord cannot start: ACCORD_TIMEZONE must be a time zone such as 'America/Toronto', not 'Mars/Base'."]


def test_sqlite_runs_durable(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_a_deactivated_account_signs_in_nowhere_and_reopened_brings_no_old_token_back(app, make_user):
    make_user("ann", "staff")
    token = run(app, "users", "token", "ann").output.strip().splitlines()[-1]
    web = app.test_client()
    assert web.post("/login", data={"username": "ann", "password": TEST_PASSWORD}).status_code == 302
    assert web.get("/").status_code == 200
    r = run(app, "users", "deactivate", "ann")
    assert r.exit_code == 0 and "1 token(s) revoked" in r.output
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/workflows", headers=headers).status_code == 401
    assert web.get("/").status_code == 302  # the open web session ended
    assert run(app, "users", "activate", "ann").exit_code == 0
    assert app.test_client().get("/api/v1/workflows", headers=headers).status_code == 401
    assert app.test_client().post("/login", data={"username": "ann", "password": TEST_PASSWORD}).status_code == 302
    assert run(app, "users", "deactivate", "nobody").exit_code != 0


def test_two_init_db_at_once_load_the_inventory_once(database_template, tmp_path, monkeypatch):
    # Two hosts deploying at once: each found the roles and the inventory missing and added them
    # (on PostgreSQL the inventory twice, or one failed on a role; on SQLite "database is locked").
    import threading
    import time

    import reference
    from cli.database import load_reference
    from tests.conftest import _config, fresh_database_url

    app = create_app(_config(fresh_database_url(database_template, tmp_path)))
    real_rows, outcomes = reference.inventory_rows, []

    def slow_rows():
        time.sleep(0.3)  # the other one counts the inventory meanwhile
        return real_rows()

    monkeypatch.setattr(reference, "inventory_rows", slow_rows)

    def init():
        with app.app_context():
            try:
                load_reference()
                outcomes.append("ok")
            except Exception as err:  # noqa: BLE001 - the test reports any outcome
                outcomes.append(repr(err)[:200])
            finally:
                db.session.remove()

    threads = [threading.Thread(target=init) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with app.app_context():
        assert outcomes == ["ok", "ok"]
        assert db.session.scalar(select(func.count(Partnership.id))) == 13
        db.session.remove()
        db.engine.dispose()


def test_two_users_differing_only_in_capitals_created_at_once_make_one(app, monkeypatch):
    # On PostgreSQL both checks ran before either wrote, and "Bob" and "bob" were both created.
    import threading
    import time

    from accounts import service
    from workflows.transaction import write_transaction

    real = service.policy_problems

    def slow_policy(*args):
        time.sleep(0.3)  # after the duplicate check: the other creation checks meanwhile
        return real(*args)

    monkeypatch.setattr(service, "policy_problems", slow_policy)
    outcomes = []

    def create(name):
        with app.app_context():
            try:
                with write_transaction(db.session) as session:
                    service.create_user(session, name, "a-long-enough-passphrase", ["staff"], "New Office")
                outcomes.append("created")
            except service.AccountError as err:
                outcomes.append(str(err))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create, args=(name,)) for name in ("Bob", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("created") == 1 and any("differing only in capitals read as one" in o for o in outcomes)
    db.session.rollback()
    assert db.session.scalar(select(func.count(User.id)).where(func.lower(User.username) == "bob")) == 1


@pytest.mark.parametrize("command", ["token", "revoke-tokens", "deactivate", "activate"])
def test_user_commands_write_though_another_process_writes_meanwhile(app, make_user, monkeypatch, command):
    # They read the user, then wrote: on SQLite, after a write committed in between (the web, a
    # cron job), the write was refused ("database is locked") and the command failed.
    import sqlite3
    import threading

    import cli.users as cli_users

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("on PostgreSQL a read does not stop a later write (this is SQLite's snapshot rule)")
    sam = make_user("sam", "staff")
    make_user("other", "staff")
    if command == "activate":
        sam.active = False
        db.session.commit()
    db.session.remove()
    path, real = db.engine.url.database, cli_users._user

    def elsewhere():
        other = sqlite3.connect(path, timeout=10)
        other.execute("UPDATE users SET full_name = 'Changed meanwhile' WHERE username = 'other'")
        other.commit()
        other.close()

    def read_then_another_writes(*args):
        user = real(*args)
        writer = threading.Thread(target=elsewhere)
        writer.start()
        writer.join(0.5)  # done at once, unless this command holds the write lock already
        return user

    monkeypatch.setattr(cli_users, "_user", read_then_another_writes)
    r = run(app, "users", command, "sam")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("config, says", [
    ({"ACCORD_ENV": "prod", "SECRET_KEY": "k" * 40}, "ACCORD_ENV must be development, test or production, not 'prod'."),
    ({"ACCORD_ENV": "production", "SECRET_KEY": "secret"}, "SECRET_KEY must be at least 32 characters in production"),
])
def test_an_environment_that_is_not_one_or_a_guessable_key_stops_the_app(config, says, capsys):
    # "prod" ran without HTTPS, HSTS or secure cookies; a key like "..." signed every session.
    with pytest.raises(SystemExit) as stopped:
        create_app({**config, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert stopped.value.code == 3 and says in capsys.readouterr().err


def test_a_password_left_out_is_asked_for_unseen_and_twice(app):
    # Given on the command line it shows in `ps` to every local user, and stays in the shell's history.
    r = app.test_cli_runner().invoke(args=["users", "create", "ann", "--role", "staff", "--department", "X"],
                                      input="a long enough pw\na long enough pw\n")
    assert r.exit_code == 0, r.output
    assert "Initial password: \nRepeat for confirmation: \n" in r.output and "a long enough pw" not in r.output
    assert app.test_client().post("/login", data={"username": "ann", "password": "a long enough pw"}).status_code == 302
    # Not asked for when the command cannot succeed: an option missing, or the name taken.
    r = app.test_cli_runner().invoke(args=["users", "create", "bob", "--department", "X"], input="x\nx\n")
    assert r.exit_code == 2 and "Missing option '--role'" in r.output and "Initial password" not in r.output
    r = app.test_cli_runner().invoke(args=["users", "create", "ANN", "--role", "staff", "--department", "X"],
                                      input="x\nx\n")
    assert r.exit_code == 1 and "A user named 'ann' already exists." in r.output and "Initial password" not in r.output
