"""flask init-db and flask seed-demo."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta

import click
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

import clock
from extensions import db


#: The key of the PostgreSQL advisory lock that one schema upgrade at a time holds ("Accord").
UPGRADE_LOCK = 0x4163636F7264
#: ... and that one demo seeding at a time holds.
SEED_LOCK = UPGRADE_LOCK + 1


def one_upgrade_at_a_time() -> AbstractContextManager[None]:
    """Hold, on PostgreSQL, a lock that another init-db's upgrade waits for until this one ends.

    Two hosts deploying at once each found the schema at the old revision and ran the same
    migrations: the second failed on the tables the first had made, or recorded its revision
    twice. Waiting, the second finds the schema at head and has nothing to do. (SQLite is one
    file on one host; its write lock serialises the migrations' writes.)"""
    return one_at_a_time(UPGRADE_LOCK)


@contextmanager
def one_at_a_time(key: int) -> Iterator[None]:
    """Hold the PostgreSQL advisory lock `key` until the block ends (nothing on SQLite)."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    # A connection of its own, outside the app's pool: the migrations take one from the pool, which
    # may hold a single connection (ACCORD_DB_POOL_SIZE=1); and the lock is the server session's,
    # so it needs a direct connection (not a transaction-mode pooler's, which may send the unlock
    # to another server session).
    locker = create_engine(db.engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with locker.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        locker.dispose()


def init_database() -> None:
    """Upgrade the schema to head and load the reference data a new database needs."""
    with one_upgrade_at_a_time():
        upgrade()
    load_reference()


def load_reference() -> None:
    """Create the standard roles and load the inventory that the database lacks, in one write
    transaction that waits for any other doing the same: two init-db at once (two hosts deploying)
    each found the inventory empty, and on PostgreSQL loaded it twice; on SQLite one failed."""
    from accounts.service import ensure_roles
    from reference import load_reference_data
    from workflows.partnership.inventory import lock_inventory
    from workflows.transaction import write_transaction

    with write_transaction(db.session) as session:
        lock_inventory(session)  # (PostgreSQL; SQLite's write transaction holds the only write lock)
        ensure_roles(session)
        load_reference_data(session)


def recount_cases() -> int:
    """Rebuild the case list's counters from the cases; return how many cases were counted.

    The triggers keep the counters for every row written, but not through TRUNCATE or writes
    made with triggers disabled (PostgreSQL's session_replication_role = replica). Other writers
    wait while the counters are rebuilt (a table lock on PostgreSQL, the write lock on SQLite).
    """
    from sqlalchemy import delete, func, insert, select, text

    from models import Case, CaseCount
    from workflows.transaction import write_transaction

    with write_transaction(db.session) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("LOCK TABLE cases IN SHARE ROW EXCLUSIVE MODE"))
        session.execute(delete(CaseCount))
        groups = (select(Case.workflow, Case.department_id, Case.state, func.count())
                  .group_by(Case.workflow, Case.department_id, Case.state))
        session.execute(insert(CaseCount).from_select(["workflow", "department_id", "state", "n"], groups))
        return session.scalar(select(func.coalesce(func.sum(CaseCount.n), 0)))


def register(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the database and load the reference data (safe to run again)."""
        init_database()
        click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")

    @app.cli.command("recount-cases")
    def recount() -> None:
        """Rebuild the counters behind the case list's totals (after TRUNCATE or disabled triggers)."""
        click.echo(f"Counted {recount_cases():,} cases.")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Add demo users for every role and sample cases of every workflow (idempotent)."""
        if app.config["ACCORD_ENV"] not in ("development", "test"):
            # Their password is published in the README: anywhere but on a developer's machine they
            # would be open doors (a CAO and an administrator among them).
            raise click.ClickException(f"demo accounts are made only in development (ACCORD_ENV="
                                       f"{app.config['ACCORD_ENV']}); create people with `flask users create`.")
        # One at a time: two at once each found the demo people missing (the second then failed on
        # the first's), or each found its requests missing and made them twice.
        with one_at_a_time(SEED_LOCK):
            _seed_demo()

    def _seed_demo() -> None:
        # The demo's requests are dated up to months back (clock moved back); the inventory they
        # name is loaded into a new database as of two years ago, so that no entry's history shows
        # a change before the entry existed. (A database that has its inventory keeps it as it is.)
        from demo import seed
        from models import Partnership

        with one_upgrade_at_a_time():
            upgrade()
        new = db.session.scalar(select(Partnership.id).limit(1)) is None
        db.session.rollback()  # (the read's transaction: loading takes the write lock first)
        if new:
            clock.set(clock.now() - timedelta(days=730))
        try:
            load_reference()
        finally:
            if new:
                clock.set(None)
        for line in seed(db.session):
            click.echo(line)
