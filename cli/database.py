"""flask init-db and flask seed-demo."""
from __future__ import annotations

import click
from flask import Flask
from flask_migrate import upgrade

from extensions import db


def init_database() -> None:
    """Upgrade the schema to head and load the reference data a new database needs."""
    from accounts.service import ensure_roles
    from reference import load_reference_data

    upgrade()
    ensure_roles(db.session)
    load_reference_data(db.session)
    db.session.commit()


def register(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the database and load the reference data (safe to run again)."""
        init_database()
        click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Add demo users for every role and sample cases of every workflow (idempotent)."""
        from demo import seed

        init_database()
        for line in seed(db.session):
            click.echo(line)
