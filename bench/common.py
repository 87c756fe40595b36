"""What every benchmark shares: databases to run on, the app on them, people, tables of figures."""
from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import timeit
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from typing import Iterator

from sqlalchemy import create_engine, insert, select, text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1/postgres")
PASSWORD = "bench-password-2026"
_NUMBER = re.compile(r"[\d,.x-]+")


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    """Print rows as an aligned text table under a title."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) if n and _NUMBER.fullmatch(c) else c.ljust(w)
                               for c, w in zip(row, widths)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _memory_gib() -> str:
    try:
        return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB"
    except (ValueError, OSError):
        return "?"


def python_speed() -> str:
    """Return how long this interpreter takes over a fixed loop: a rough gauge of the machine's speed
    on the day, since figures from two runs compare only as far as their machines do (the same
    kind of shared 2-core host has run this loop in 110 to 250 us)."""
    best = min(timeit.repeat("sum(range(10_000))", number=100, repeat=5)) / 100
    return f"sum(range(10_000)) in {best * 1e6:.0f} us (lower is faster)"


def machine_rows() -> list[list[str]]:
    """Return the machine, database and library versions the figures were measured with."""
    import sqlite3

    rows = [["machine", f"{platform.machine()}, {os.cpu_count()} cores, {_cpu()}, {_memory_gib()}"],
            ["system", platform.platform()],
            ["python", f"{platform.python_version()} ({sys.executable})"],
            ["python speed", python_speed()],
            ["sqlite", sqlite3.sqlite_version]]
    if pg_available():
        engine = create_engine(PG_ADMIN)
        with engine.connect() as conn:
            rows.append(["postgresql", conn.scalar(text("SHOW server_version"))])
        engine.dispose()
    else:
        rows.append(["postgresql", "not reachable at " + PG_ADMIN])
    for name in ("SQLAlchemy", "Flask", "psycopg", "transitions", "gunicorn", "SpiffWorkflow", "psutil"):
        rows.append([name, _package(name)])
    wrk = shutil.which("wrk")
    rows.append(["wrk", subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split("\n")[0]
                 if wrk else "not installed (apt-get install wrk)"])
    return rows


def print_machine() -> None:
    """Print the machine table that heads every run."""
    print_table("Machine, database and versions", ["what", "version"], machine_rows())


def pg_available() -> bool:
    """Return whether the PostgreSQL server for benchmarks answers."""
    try:
        engine = create_engine(PG_ADMIN)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # any failure to connect means "skip PostgreSQL"
        return False


def pg_database(name: str) -> str:
    """(Re)create a benchmark database on the PostgreSQL server and return its URL."""
    assert name.startswith("accord_bench_"), "benchmarks only ever touch their own databases"
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(name: str) -> None:
    """Drop a benchmark database."""
    assert name.startswith("accord_bench_")
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@contextmanager
def databases(name: str) -> Iterator[list[tuple[str, str]]]:
    """Yield [(label, url)]: a fresh SQLite file, and a fresh PostgreSQL database when one answers."""
    folder = tempfile.mkdtemp(prefix="accord-bench-")
    found = [("SQLite", f"sqlite:///{folder}/{name}.sqlite3")]
    pg = pg_available()
    if pg:
        found.append(("PostgreSQL", pg_database(f"accord_bench_{name}")))
    try:
        yield found
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if pg:
            drop_pg_database(f"accord_bench_{name}")


def app_config(url: str) -> dict:
    """Return the configuration of an app for benchmarks (development, no rate limit)."""
    return {"SQLALCHEMY_DATABASE_URI": url, "ACCORD_ENV": "development", "SECRET_KEY": "bench-secret",
            "RATELIMIT_ENABLED": False}


def make_app(url: str):
    """Create an app on a database, migrate it and add the roles."""
    import logging

    from flask_migrate import upgrade

    from accounts.service import ensure_roles
    from app import create_app
    from extensions import db

    app = create_app(app_config(url))
    # Every transition logs a line and every notification its mail: quieten them for timing.
    for name in ("accord", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        ensure_roles(db.session)
        db.session.commit()
    return app


def make_people(session, spec: list[tuple[str, list[str], str]]) -> dict:
    """Create users (username, roles, department) with one quick password hash; return them by name."""
    from accounts.passwords import hash_password
    from accounts.service import department
    from models import Role, User

    digest = hash_password(PASSWORD)
    roles = {r.name: r for r in session.scalars(select(Role))}
    people = {}
    for username, names, dept in spec:
        user = User(username=username, full_name=username.replace(".", " ").title(), password_hash=digest,
                    department=department(session, dept), roles=[roles[n] for n in names],
                    email=f"{username}@toronto.example")
        session.add(user)
        people[username] = user
    session.commit()
    return people


def trip_data(start) -> dict:
    """Return complete data of a travel request starting on a day."""
    return {
        "event_name": "Metropolis World Congress", "event_organizer": "Metropolis", "event_city": "Sao Paulo",
        "event_country": "Brazil", "start_date": start.isoformat(), "end_date": (start + timedelta(days=3)).isoformat(),
        "purpose": "Present Toronto's Healthy City work and meet the Sao Paulo delegation.",
        "role_at_event": "presenter", "funding": "city",
        "estimated_cost": {"registration": "650.00", "transport": "1400.00", "accommodation": "900.00"},
    }


def bulk_travel_cases(session, owners: list, count: int, state: str = "submitted", batch: int = 5000) -> None:
    """Insert `count` travel cases in a state with SQLAlchemy Core, spread over owners, oldest first.

    Each has its creation event, so that case pages show a real timeline; hashes are placeholders.
    """
    from datetime import datetime

    from models import AuditEvent, Case

    start = datetime(2024, 1, 1)
    data = trip_data(datetime(2027, 6, 1).date())
    data["estimated_cost"]["total"] = "2950.00"
    ids = session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0
    for first in range(0, count, batch):
        cases, events = [], []
        for n in range(first, min(count, first + batch)):
            owner = owners[n % len(owners)]
            at = start + timedelta(minutes=10 * n)
            cid = ids + n + 1
            cases.append({
                "id": cid, "workflow": "travel", "title": f"Metropolis congress, trip {n + 1}", "state": state,
                "owner_id": owner.id, "department_id": owner.department_id, "goals": ["leadership"], "data": data,
                "version": 2, "created_at": at, "updated_at": at, "submitted_at": at, "state_entered_at": at,
                "category": "Metropolis", "country": "Brazil", "amount_requested": Decimal("2950.00"),
                "requested_as": "staff", "last_event_seq": 1, "last_event_hash": "0" * 64})
            events.append({
                "chain": f"case:{cid}", "case_id": cid, "seq": 1, "at": at, "actor_id": owner.id,
                "actor_username": owner.username, "actor_roles": ["staff"], "action": "submit",
                "from_state": "draft", "to_state": state, "comment": None, "payload": {},
                "prev_hash": "0" * 64, "hash": "0" * 64})
        session.execute(insert(Case), cases)
        session.execute(insert(AuditEvent), events)
        session.commit()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
    # Planner statistics, as autovacuum keeps them on PostgreSQL and `PRAGMA optimize` on SQLite:
    # without them SQLite sorts every visible case instead of reading the newest-first index.
    session.execute(text("ANALYZE"))
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        # And the visibility map autovacuum keeps, without which PostgreSQL cannot count the
        # visible cases from an index alone (VACUUM runs outside a transaction).
        with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE cases, audit_events"))
