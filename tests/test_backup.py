"""A backup restores to an identical trail that verifies."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from sqlalchemy import create_engine, select, text

from app import create_app
from extensions import db
from reference import inventory_rows
from models import AuditEvent
from tests.conftest import _config
from workflows import engine


def _trail(session) -> list[tuple]:
    return [tuple(r) for r in session.execute(
        select(AuditEvent.chain, AuditEvent.seq, AuditEvent.action, AuditEvent.hash).order_by(AuditEvent.id))]


@pytest.fixture
def some_history(make_user):
    owner = make_user("ann", "staff")
    for i in range(3):
        engine.create_case(db.session, owner, "travel", f"Trip {i}", ["research"], {"event_name": f"Event {i}"})
    return _trail(db.session)


def test_backup_and_restore_gives_an_identical_trail(app, tmp_path, some_history):
    target = tmp_path / "backup.bin"
    r = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert r.exit_code == 0, r.output
    if db.engine.dialect.name == "sqlite":
        restored_url = f"sqlite:///{target}"
    else:
        if shutil.which("pg_restore") is None:
            pytest.skip("pg_restore is not installed")
        admin = create_engine("postgresql+psycopg://postgres@127.0.0.1/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS accord_restore_test"))
            conn.execute(text("CREATE DATABASE accord_restore_test"))
        admin.dispose()
        subprocess.run(["pg_restore", "--no-owner", "-d", "postgresql://postgres@127.0.0.1/accord_restore_test",
                        str(target)], check=True)
        restored_url = "postgresql+psycopg://postgres@127.0.0.1/accord_restore_test"
    restored = create_app(_config(restored_url))
    with restored.app_context():
        assert _trail(db.session) == some_history
        result = restored.test_cli_runner().invoke(args=["audit", "verify"])
        inherited = len(inventory_rows())  # each entry of the framework's inventory: its loading
        assert result.exit_code == 0 and f"{3 + inherited} events in {3 + inherited} chains" in result.output
        db.session.remove()
        db.engine.dispose()


def test_a_backup_replaces_the_last_one_whole_or_fails_with_a_message(app, tmp_path, some_history):
    target = tmp_path / "nightly.bin"
    target.write_text("last night's backup, or anything else")
    r = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert r.exit_code == 0, r.output
    assert target.read_bytes()[:5] in (b"SQLit", b"PGDMP")  # a database file, or pg_dump's custom format
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # Somewhere it cannot be written: a message naming the place, no traceback, the old file kept.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    r = app.test_cli_runner().invoke(args=["backup", str(blocker / "backup.bin")])
    assert r.exit_code == 1 and "The backup could not be written to" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_pg_dump_gets_the_password_in_its_environment_never_on_its_command_line(tmp_path, monkeypatch):
    # On the command line any local user could read it (ps), and a failure's message printed it.
    from cli.backup import backup_postgresql

    fake = tmp_path / "bin" / "pg_dump"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/argv\necho "$PGPASSWORD" > {tmp_path}/env\nexit 1\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        backup_postgresql("postgresql+psycopg://accord:S3cretPW@db.example:5432/accord", tmp_path / "out.dump")
    assert "S3cretPW" not in (tmp_path / "argv").read_text() and "accord@db.example:5432/accord" in (
        tmp_path / "argv").read_text()
    assert (tmp_path / "env").read_text().strip() == "S3cretPW"
    assert "S3cretPW" not in str(failed.value)


def test_a_backup_of_no_accord_database_is_refused_and_makes_none(app, make_app, tmp_path):
    # A slip in a cron job's DATABASE_URL made an empty SQLite file there, and "Backup written"
    # of it every night, exit status 0.
    from tests.conftest import empty_pg_database

    wrong = tmp_path / "nothere.sqlite3"
    urls = [(f"sqlite:///{wrong}", "There is no database at"),
            (f"sqlite:///{tmp_path / 'empty.sqlite3'}", "holds no Accord database")]
    (tmp_path / "empty.sqlite3").write_bytes(b"")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        urls.append((empty_pg_database("accord_backup_empty"), "holds no Accord database"))
    try:
        for url, says in urls:
            other = make_app(_config(url))
            with other.app_context():
                r = other.test_cli_runner().invoke(args=["backup", str(tmp_path / "b.bin")])
            assert r.exit_code == 1 and says in r.output and "nothing was backed up" in r.output, (url, r.output)
            assert not (tmp_path / "b.bin").exists() and not wrong.exists()
    finally:
        if len(urls) > 2:
            empty_pg_database("accord_backup_empty", drop=True)


def test_a_backup_of_a_postgresql_database_that_does_not_exist_says_it_cannot_use_it(app, make_app, tmp_path):
    # (The README names this case's status, 4, apart from the 1 of a database that is not Accord's.)
    from sqlalchemy.engine import make_url

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("this run is on SQLite, whose missing file is refused as no Accord database (CI runs PostgreSQL)")
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(database="accord_no_such_database")
    other = make_app(_config(url.render_as_string(hide_password=False)))
    with other.app_context():
        r = other.test_cli_runner().invoke(args=["backup", str(tmp_path / "b.bin")])
    assert r.exit_code == 4
    assert r.output.startswith("Accord cannot use its database: ") and 'database "accord_no_such_database" does not exist' in r.output
    assert not (tmp_path / "b.bin").exists()
