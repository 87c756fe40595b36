"""flask criteria check."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from criteria import check_all
from workflows import registry
from workflows.scoring import known_fields

criteria = AppGroup("criteria", help="Check the criteria files.")


@criteria.command("check")
@click.option("--dir", "directory", default=None, help="The folder of criteria files (default: the configured one).")
def check(directory: str | None) -> None:
    """Validate every criteria file; exit non-zero naming file, criterion and fault."""
    wanted = {wf.name: known_fields(wf) for wf in registry.all_workflows() if wf.scored}
    problems = check_all(directory or current_app.config["ACCORD_CRITERIA_DIR"], wanted)
    if problems:
        for problem in problems:
            click.echo(f"BAD {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"OK: criteria for {', '.join(sorted(wanted)) or 'no workflow'} are valid.")


def register(app: Flask) -> None:
    app.cli.add_command(criteria)
