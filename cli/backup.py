"""flask backup: a consistent copy of the database while the application keeps running."""
from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import Flask
from sqlalchemy.engine import make_url

from extensions import db


#: Said of a database in which no Accord migration has run: a backup of it would restore nothing.
NOT_ACCORDS = ("{where} holds no Accord database (no migration has run in it: is DATABASE_URL the right "
               "one?); nothing was backed up.")


def backup_sqlite(database: str, target: Path) -> None:
    """Copy a live SQLite database with its online backup API (consistent under WAL).

    The source is opened read-only: a wrong path (a typing slip in a cron job's DATABASE_URL)
    made a new empty database there, and an empty "backup" of it every night."""
    if not Path(database).is_file():
        raise click.ClickException(f"There is no database at {database}; nothing was backed up.")
    source = sqlite3.connect(f"{Path(database).resolve().as_uri()}?mode=ro", uri=True)
    try:
        try:
            source.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.DatabaseError:
            raise click.ClickException(NOT_ACCORDS.format(where=database)) from None
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()


def backup_postgresql(url: str, target: Path) -> None:
    """Dump a PostgreSQL database with pg_dump in its custom format (restore with pg_restore)."""
    if shutil.which("pg_dump") is None:
        raise click.ClickException("pg_dump is not installed (Debian: postgresql-client).")
    parsed = make_url(url).set(drivername="postgresql")
    # The password goes in pg_dump's environment, not on its command line, where any local user
    # could read it (ps) and a failure's message would print it.
    env = {**os.environ, **({"PGPASSWORD": parsed.password} if parsed.password else {})}
    try:
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}",
                        parsed._replace(password=None).render_as_string(hide_password=False)], check=True, env=env)
    except subprocess.CalledProcessError as err:
        raise subprocess.CalledProcessError(err.returncode, "pg_dump") from None


def _check_migrated(url) -> None:
    """Refuse to dump a PostgreSQL database in which no Accord migration has run."""
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except ProgrammingError:
        raise click.ClickException(NOT_ACCORDS.format(where=url.render_as_string(hide_password=True))) from None


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup(target: Path) -> None:
    """Write a consistent backup of the database to TARGET (replacing it, once the backup is whole)."""
    url = db.engine.url
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise click.ClickException(f"No backup method for {url.get_backend_name()}.")
    # Written beside the target first and moved into its place when complete: a backup that fails
    # (a full disk, pg_dump refused) leaves the previous one as it was, never half a file.
    partial = target.with_name(f".{target.name}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
        if url.get_backend_name() == "sqlite":
            backup_sqlite(url.database, partial)
        else:
            _check_migrated(url)
            backup_postgresql(url.render_as_string(hide_password=False), partial)
        partial.replace(target)
    except (OSError, sqlite3.Error, subprocess.CalledProcessError) as err:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise click.ClickException(f"The backup could not be written to {target}: {err}") from None
    click.echo(f"Backup written to {target} ({target.stat().st_size:,} bytes).")


def register(app: Flask) -> None:
    app.cli.add_command(backup)
