"""flask criteria check."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from criteria import check_all, load_criteria_set
from extensions import db
from workflows import registry
from workflows.scoring import known_fields, versions_in_use

criteria = AppGroup("criteria", help="Check the criteria files.")


@criteria.command("check")
@click.option("--dir", "directory", default=None, help="The folder of criteria files (default: the configured one).")
def check(directory: str | None) -> None:
    """Validate every criteria file; exit non-zero naming file, criterion and fault."""
    wanted = {wf.name: known_fields(wf) for wf in registry.all_workflows() if wf.scored}
    folder = Path(directory or current_app.config["ACCORD_CRITERIA_DIR"])
    problems = check_all(folder, wanted)
    if not problems:
        problems = _versions_in_use(folder, wanted)
    if problems:
        for problem in problems:
            click.echo(f"BAD {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"OK: criteria for {', '.join(sorted(wanted)) or 'no workflow'} are valid.")


def _versions_in_use(folder: Path, wanted: dict[str, set[str]]) -> list[str]:
    """Return the sets of the folder that keep a version the scores carry with other criteria; if
    the database cannot be read (not made yet, say), say so and find none."""
    from sqlalchemy.exc import SQLAlchemyError

    sets = {name: load_criteria_set(folder / f"{name}.yaml", fields, name) for name, fields in wanted.items()}
    try:
        return versions_in_use(db.session, sets, folder.name)
    except SQLAlchemyError as err:
        click.echo(f"NOTE: the sets were not compared with the scores in the database: {type(err).__name__}.")
        return []
    finally:
        db.session.rollback()


def register(app: Flask) -> None:
    app.cli.add_command(criteria)
