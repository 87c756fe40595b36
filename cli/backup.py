"""flask backup: a consistent copy of the database while the application keeps running."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import Flask
from sqlalchemy.engine import make_url

from extensions import db


def backup_sqlite(database: str, target: Path) -> None:
    """Copy a live SQLite database with its online backup API (consistent under WAL)."""
    source = sqlite3.connect(database)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()


def backup_postgresql(url: str, target: Path) -> None:
    """Dump a PostgreSQL database with pg_dump in its custom format (restore with pg_restore)."""
    if shutil.which("pg_dump") is None:
        raise click.ClickException("pg_dump is not installed (Debian: postgresql-client).")
    parsed = make_url(url).set(drivername="postgresql")
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}",
                    parsed.render_as_string(hide_password=False)], check=True)


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup(target: Path) -> None:
    """Write a consistent backup of the database to TARGET."""
    url = db.engine.url
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        backup_sqlite(url.database, target)
    elif url.get_backend_name() == "postgresql":
        backup_postgresql(url.render_as_string(hide_password=False), target)
    else:
        raise click.ClickException(f"No backup method for {url.get_backend_name()}.")
    click.echo(f"Backup written to {target} ({target.stat().st_size:,} bytes).")


def register(app: Flask) -> None:
    app.cli.add_command(backup)
