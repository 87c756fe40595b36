"""The flask commands of api.md: init-db, seed-demo, users, audit, criteria, report, ..."""
from __future__ import annotations

import functools
import sys

import click
from flask import Flask

#: The exit status of a command that could not reach or use the database (refused, lost, its file
#: missing or locked, or never migrated): apart from 1, which `flask audit verify` gives a trail that fails its check, so that
#: a scheduled check tells "the database is down" from "the trail was rewritten".
DATABASE_FAILED = 4


def register_commands(app: Flask) -> None:
    """Attach every command group to the app."""
    from cli import audit, backup, criteria, database, users

    for module in (database, users, audit, criteria, backup):
        module.register(app)


def database_faults_in_one_line(app: Flask) -> None:
    """Make every command of the app's (those of the workflows and reports too, once registered)
    say in one line that the database could not be reached, and exit with DATABASE_FAILED: pointed
    at a database that did not answer, each printed some 140 lines and two tracebacks, and exited 1."""
    def wrap(command: click.Command) -> None:
        if isinstance(command, click.Group):
            for inner in command.commands.values():
                wrap(inner)
        elif command.callback is not None and not getattr(command.callback, "_database_said", False):
            command.callback = _said(command.callback)

    for command in app.cli.commands.values():
        wrap(command)


def _said(callback):
    from sqlalchemy.exc import DBAPIError

    from models.liveness import missing_table, said, unreachable

    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except DBAPIError as err:
            if missing_table(err):
                click.echo(f"Accord's database lacks its tables ({said(err)}): run `flask init-db` first.", err=True)
            elif unreachable(err):
                click.echo(f"Accord cannot use its database: {said(err)}", err=True)
            else:
                raise  # (a statement refused: a fault, with its traceback)
            sys.exit(DATABASE_FAILED)

    run._database_said = True
    return run
