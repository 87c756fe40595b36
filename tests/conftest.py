"""Fixtures: an app on a fresh database per test (SQLite by default, PostgreSQL when
TEST_DATABASE_URL names one), users made quickly, API and web clients."""
from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import g
from sqlalchemy import Engine, create_engine, event, text

import clock
from accounts.service import ensure_roles
from accounts.sign_in import issue_token
from app import create_app
from extensions import db
from models import Department, Role, User
from tests.factories import TEST_PASSWORD

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1/test"
# Every test user shares one argon2id hash of TEST_PASSWORD, made with the least work argon2 allows:
# a hash names its own cost, so signing in checks it in well under a millisecond instead of the
# 0.1 s the production cost takes, and the suite signs in hundreds of times. The production cost
# itself is tested where passwords are set (tests/test_cli.py).
_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(TEST_PASSWORD)


def _build_url_builders_once() -> None:
    """Let every test app reuse the URL builders werkzeug compiles for its routes.

    Each test makes its own app, and werkzeug compiles two Python functions per route to build its
    URLs: about 30 ms of each test's 100 to 180, on the same routes each time. A builder depends only
    on the route's parsed parts and the defaults written into it (a converter is called through the
    rule it is bound to), so one compiled for a route serves that route in any app. A route with a
    default for one of its own variables turns it to text while compiling: those are compiled as usual.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    built: dict = {}

    def reused(self, append_unknown: bool = True):
        defaults = self.defaults or {}
        if any(is_dynamic and data in defaults for is_dynamic, data in self._trace):
            return compile_builder(self, append_unknown)
        key = (self.rule, tuple(self._trace), append_unknown, tuple(defaults))
        if key not in built:
            built[key] = compile_builder(self, append_unknown)
        return built[key]

    Rule._compile_builder = reused


_build_url_builders_once()


@event.listens_for(Engine, "connect")
def _unordered_rows_backwards(dbapi_connection, _record) -> None:
    """Have SQLite return the rows of a query without ORDER BY in reverse (tests only).

    PostgreSQL promises no order either, yet mostly returns rows as they were written, as SQLite
    does: a page or a test that relied on that would pass on both and then fail some day on
    PostgreSQL. Backwards on SQLite and forwards on PostgreSQL, it fails on one of them now.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA reverse_unordered_selects=ON")


#: Under `pytest -n` (pytest-xdist) each worker process is named ("gw0", "gw1"...) and works in
#: PostgreSQL databases of its own, named after the configured ones ("test_gw0"), so that the
#: workers' truncations and schema resets never meet. Empty when the tests run in one process.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _own(name: str) -> str:
    """The name of this worker's copy of a database (the name itself outside pytest -n)."""
    return f"{name}_{WORKER}" if WORKER else name


def _server_admin(url: str):
    return create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")


@functools.cache
def pg_url() -> str | None:
    """Return a reachable PostgreSQL URL for tests, or None: the named database, or under pytest -n
    this worker's own beside it, created the first time, but only on a server where the named one
    answers (a server without it is not one kept for tests)."""
    url = os.environ.get("TEST_DATABASE_URL") or PG_DEFAULT
    if not url.startswith("postgresql"):
        return None
    base, name = url.rsplit("/", 1)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if WORKER and conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": _own(name)}) is None:
                try:
                    conn.execute(text(f'CREATE DATABASE "{_own(name)}"'))
                except Exception as exc:  # (workers sharing the named one would truncate it under each other)
                    raise RuntimeError(f"pytest -n gives each worker a database of its own beside {name}, and "
                                       f"creating {_own(name)} failed: {exc.__class__.__name__}. Grant the role "
                                       "CREATEDB, or run the tests in one process (make test TEST_WORKERS=0)."
                                       ) from exc
    except RuntimeError:
        raise
    except Exception:
        return None
    finally:
        engine.dispose()
    return f"{base}/{_own(name)}"


def empty_pg_database(name: str, drop: bool = False) -> str | None:
    """Make an empty PostgreSQL database of this name (this worker's copy of it) beside the tests'
    own, and return its URL (None when no server answers); with drop, remove it instead. For the
    tests that run the commands on a database of their own (init-db, gunicorn)."""
    base = pg_url()
    if base is None:
        return None
    name = _own(name)
    admin = _server_admin(base)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        if not drop:
            conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}"


def _config(url: str) -> dict:
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "ACCORD_ENV": "test", "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "SERVER_NAME": None}


def _upgrade(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(_config(url))
    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                _commits_unflushed(conn)
        upgrade()
        db.engine.dispose()


def _commits_unflushed(conn) -> None:
    """Let the tests' database answer a COMMIT before its WAL reaches the disk.

    Nothing a test checks depends on a commit surviving a power cut, and on a machine whose disk
    flushes slowly (2 to 4 ms) the suite's tens of thousands of commits doubled its time. The app
    still ships PostgreSQL's default, synchronous_commit=on (bench/ measures with it). A role that
    may not change the setting runs the tests as they are.
    """
    name = conn.scalar(text("SELECT current_database()"))
    try:
        with conn.begin_nested():
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    except Exception:  # noqa: BLE001 - (not the owner: slower, not wrong)
        pass


def _memory_folder() -> Path | None:
    """Return a folder in memory (tmpfs) with room for the tests' SQLite files, or None.

    Each test's database is a file with the settings Accord ships (WAL, synchronous=FULL), and
    every commit waits for the disk: on a machine whose disk flushes in 2 to 4 ms the SQLite half
    of the suite took 10 minutes instead of 4. In memory, a flush costs nothing, and nothing a
    test checks depends on one reaching a disk.
    """
    shm = Path("/dev/shm")
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    if stats.f_bavail * stats.f_frsize < 2 * 1024**3 or not os.access(shm, os.W_OK):
        return None
    return shm


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> dict:
    """Migrate a database once per session: a SQLite file to copy, or the PostgreSQL schema."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        url = pg_url() or url  # (this worker's own database; unreachable, the upgrade says so)
        _upgrade(url)
        # What _seed writes, kept to be written back after each test's truncation in a few
        # statements: loading it through the app took a tenth of each test's time.
        app = create_app(_config(url))
        with app.app_context():
            _seed(db.session)
            with db.engine.connect() as conn:
                seeded = [(table, [row._asdict() for row in conn.execute(table.select().order_by(*table.primary_key))])
                          for table in _seeded_tables()]
            db.session.remove()
            db.engine.dispose()
        yield {"kind": "postgresql", "url": url, "seeded": seeded}
        return
    memory = _memory_folder()
    folder = Path(tempfile.mkdtemp(prefix="accord-tests-", dir=memory)) if memory else tmp_path_factory.mktemp("db")
    template = folder / "template.sqlite3"
    _upgrade(f"sqlite:///{template}")
    # And a copy with what every test's app holds before the test begins (the roles, the inventory
    # and its chains): loading them took a tenth of a test's time, in each test.
    seeded = folder / "seeded.sqlite3"
    shutil.copy(template, seeded)
    app = create_app(_config(f"sqlite:///{seeded}"))
    with app.app_context():
        _seed(db.session)
        db.session.remove()
        db.engine.dispose()
    yield {"kind": "sqlite", "path": template, "seeded": seeded}
    if memory:
        shutil.rmtree(folder, ignore_errors=True)


def _seed(session) -> None:
    """Load what an app's database holds before a test: the roles and the reference inventory."""
    from reference import load_reference_data

    ensure_roles(session)
    load_reference_data(session)
    session.commit()


def _seeded_tables():
    """The tables _seed writes, in the order their rows may be written back."""
    from models import AuditEvent, Partnership, Role

    return [Role.__table__, Partnership.__table__, AuditEvent.__table__]


def fresh_database_url(template: dict, tmp_path: Path, seeded: bool = False) -> str:
    """Return the URL of an empty migrated database for one test (a SQLite file beside the
    template, in memory where there is room: see _memory_folder); seeded, it holds the roles and
    the inventory already (the app fixture's)."""
    if template["kind"] == "sqlite":
        target = template["path"].with_name(f"{tmp_path.name}.sqlite3")
        shutil.copy(template["seeded" if seeded else "path"], target)
        return f"sqlite:///{target}"
    with _cleaner(template["url"]).begin() as conn:
        _empty(conn)
        if seeded:
            for table, rows in template["seeded"]:
                if rows:
                    conn.execute(table.insert(), rows)
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                      f"{max(row['id'] for row in rows)})"))
    return template["url"]


@functools.cache
def _cleaner(url: str):
    """The engine that empties a PostgreSQL test database between tests, connected once (and
    again, should a test have ended the connection: tests of a lost database do)."""
    return create_engine(url, pool_pre_ping=True)


def _empty(conn) -> None:
    """Empty every table of a PostgreSQL test database and restart its ids.

    DELETE, with the triggers (the trail's refusals, the foreign keys) off for the transaction, as
    a superuser may: TRUNCATE makes every table anew on disk, and took 150 ms of each test on a
    machine whose disk flushes slowly. Other roles TRUNCATE.
    """
    tables = [r[0] for r in conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
    try:
        with conn.begin_nested():
            conn.execute(text("SET LOCAL session_replication_role = replica"))
    except Exception:  # noqa: BLE001 - (not a superuser)
        # (The trail refuses TRUNCATE, as it refuses UPDATE and DELETE: let it go between tests.)
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_truncate"))
        return
    conn.exec_driver_sql("; ".join(f'DELETE FROM "{table}"' for table in tables))
    conn.exec_driver_sql("SELECT setval(c.oid, 1, false) FROM pg_class c "
                         "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace")


#: Per kind of database, the first test app's SQL dialect and its cache of compiled statements.
_COMPILED: dict = {}


def _share_compiled_sql(engine) -> None:
    """Let every test app's engine reuse the SQL the first one compiled.

    SQLAlchemy caches each statement's compiled SQL in its engine, under a key holding the engine's
    dialect object, and each test makes a new engine: a test compiled again the twenty-odd
    statements every earlier test had, about a quarter of its time. The test apps' engines differ
    only in the database file (or, on PostgreSQL, in nothing), so one dialect serves them all, and
    with it the cache. The first is made ready by connecting once (the dialect reads the server's
    version and settings then); connections themselves are still made by each engine's own pool.
    """
    kind = engine.url.drivername
    if kind not in _COMPILED:
        with engine.connect():
            pass
        _COMPILED[kind] = (engine.dialect, engine._compiled_cache)
    engine.dialect, engine._compiled_cache = _COMPILED[kind]


@pytest.fixture
def app(database_template, tmp_path):
    """An application on a fresh database, with the roles and the reference inventory loaded."""
    clock.set(None)
    app = create_app(_config(fresh_database_url(database_template, tmp_path, seeded=True)))

    @app.teardown_request
    def forget_user(_exc) -> None:
        # The test keeps one app context open, which requests reuse; in production each request
        # has its own, so the signed-in user must not leak from one test request to the next.
        g.pop("_login_user", None)

    with app.app_context():
        _share_compiled_sql(db.engine)
        yield app
        db.session.remove()
        db.engine.dispose()
    if database_template["kind"] == "sqlite":  # (in memory, the files would stay until the session ends)
        for leftover in database_template["path"].parent.glob(f"{tmp_path.name}.sqlite3*"):
            leftover.unlink(missing_ok=True)
    clock.set(None)


@pytest.fixture
def make_app():
    """Create further apps (as further processes would be): make_app(config); engines disposed after."""
    apps = []

    def make(config: dict):
        other = create_app(config)
        apps.append(other)
        return other

    yield make
    for other in apps:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def make_user(app):
    """Create a user: make_user("ann", "staff", department="Public Health")."""

    def make(username: str, *roles: str, department: str = "Toronto Public Health",
             full_name: str | None = None) -> User:
        dept = db.session.scalar(db.select(Department).where(Department.name == department))
        if dept is None:
            dept = Department(name=department)
            db.session.add(dept)
        found = list(db.session.scalars(db.select(Role).where(Role.name.in_(roles))))
        assert len(found) == len(roles), f"unknown role in {roles}"
        user = User(username=username, full_name=full_name or username.title(), password_hash=_HASH,
                    department=dept, roles=found, email=f"{username}@toronto.example")
        db.session.add(user)
        db.session.commit()
        return user

    return make


class ApiClient:
    """A test client that sends a user's bearer token and JSON."""

    def __init__(self, client, token: str | None):
        self.client, self.token = client, token

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(), **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(), **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch(url, json=json, headers=self._headers(), **kw)


@pytest.fixture
def browse(app):
    """Return a web client signed in through the sign-in form as a user: browse(user)."""

    def signed_in(user):
        client = app.test_client()
        r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
        assert r.status_code == 302, r.status_code
        return client

    return signed_in


@pytest.fixture
def api(app):
    """Return an API client for a user: api(user) or api(None) for no token."""

    def make(user: User | None) -> ApiClient:
        token = issue_token(db.session, user) if user is not None else None
        db.session.commit()
        return ApiClient(app.test_client(), token)

    return make
