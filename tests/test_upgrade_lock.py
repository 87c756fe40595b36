"""Two `flask init-db` at once on PostgreSQL (two hosts deploying a new release): one upgrades the
schema, the other waits for it, and both end with the database ready. Two `flask seed-demo` at
once likewise: one seeds, the other waits and finds nothing to add."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import empty_pg_database

ROOT = Path(__file__).resolve().parents[1]
DB = "accord_upgrade_test"


def test_two_init_db_at_once_both_succeed_on_a_new_database():
    target = empty_pg_database(DB)
    if target is None:
        pytest.skip("no PostgreSQL server answers (CI runs one): SQLite is one file on one host")
    # (A pool of one connection: the lock is held on a connection of its own, not the pool's.)
    env = {**os.environ, "DATABASE_URL": target, "FLASK_APP": "app.py", "ACCORD_ENV": "development",
           "ACCORD_DB_POOL_SIZE": "1", "ACCORD_DB_MAX_OVERFLOW": "0"}
    env.pop("TEST_DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask"]
    try:
        runs = [subprocess.Popen([*flask, "init-db"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        engine = create_engine(target)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM partnerships")).scalar() == 13
        engine.dispose()
    finally:
        empty_pg_database(DB, drop=True)


def test_two_seed_demo_at_once_seed_once():
    # The second failed ("a user named 'sam.staff' already exists"), or, the people there already,
    # both made the demo's requests: 13 proposals for 10 titles.
    target = empty_pg_database(DB)
    if target is None:
        pytest.skip("no PostgreSQL server answers (CI runs one): SQLite is one file on one host")
    env = {**os.environ, "DATABASE_URL": target, "FLASK_APP": "app.py", "ACCORD_ENV": "development"}
    env.pop("TEST_DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask"]
    try:
        runs = [subprocess.Popen([*flask, "seed-demo"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        outputs = [run.communicate(timeout=600)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        engine = create_engine(target)
        with engine.connect() as conn:
            per_title = conn.execute(text("SELECT max(n) FROM (SELECT count(*) AS n FROM cases GROUP BY workflow, title)"
                                          " AS t")).scalar()
        engine.dispose()
        assert per_title == 1
        # The one that waited found the demo there: it added nothing.
        assert sorted("travel: 0 demo case(s) added" in out for out in outputs) == [False, True], outputs
    finally:
        empty_pg_database(DB, drop=True)
