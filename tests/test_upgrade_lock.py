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


@pytest.fixture
def new_database():
    """Yield the URL of an empty PostgreSQL database, dropped afterwards."""
    target = empty_pg_database(DB)
    if target is None:
        pytest.skip("no PostgreSQL server answers (CI runs one): SQLite is one file on one host")
    try:
        yield target
    finally:
        empty_pg_database(DB, drop=True)


def _twice_at_once(target: str, command: str, **settings: str) -> list[str]:
    """Run a flask command in two processes at once on the database; return their outputs, both
    having succeeded."""
    env = {**os.environ, "DATABASE_URL": target, "FLASK_APP": "app.py", "ACCORD_ENV": "development", **settings}
    env.pop("TEST_DATABASE_URL", None)
    runs = [subprocess.Popen([sys.executable, "-m", "flask", command], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    return outputs


def _count(target: str, sql: str) -> int:
    engine = create_engine(target)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_two_init_db_at_once_both_succeed_on_a_new_database(new_database):
    # (A pool of one connection: the lock is held on a connection of its own, not the pool's.)
    _twice_at_once(new_database, "init-db", ACCORD_DB_POOL_SIZE="1", ACCORD_DB_MAX_OVERFLOW="0")
    assert _count(new_database, "SELECT count(*) FROM alembic_version") == 1
    assert _count(new_database, "SELECT count(*) FROM partnerships") == 13


def test_two_seed_demo_at_once_seed_once(new_database):
    # The second failed ("a user named 'sam.staff' already exists"), or, the people there already,
    # both made the demo's requests: 13 proposals for 10 titles.
    outputs = _twice_at_once(new_database, "seed-demo")
    assert _count(new_database, "SELECT max(n) FROM (SELECT count(*) AS n FROM cases GROUP BY workflow, title) AS t") == 1
    # The one that waited found the demo there: it added nothing.
    assert sorted("travel: 0 demo case(s) added" in out for out in outputs) == [False, True], outputs
