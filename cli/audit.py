"""flask audit verify | head."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from extensions import db
from workflows.audit import check_head, head_digest, verify_all

audit = AppGroup("audit", help="Check the tamper-evident audit trail.")


@audit.command("verify")
@click.option("--head", "recorded", default=None, help="A digest printed earlier by `flask audit head`.")
def verify(recorded: str | None) -> None:
    """Check every hash chain; exit non-zero naming the first bad event."""
    chains, events, faults = verify_all(db.session)
    if faults:
        for fault in faults:
            click.echo(f"BAD {fault}", err=True)
        raise SystemExit(1)
    if recorded is not None:
        try:
            same = check_head(db.session, recorded)
        except ValueError as err:
            raise click.ClickException(str(err)) from None
        if not same:
            click.echo("BAD head digest: the trail up to that point was rewritten since it was recorded.", err=True)
            raise SystemExit(1)
    click.echo(f"OK: {events} events in {chains} chains verify.")


@audit.command("head")
def head() -> None:
    """Print one digest over every chain's head; keep it outside the database."""
    click.echo(head_digest(db.session))


def register(app: Flask) -> None:
    app.cli.add_command(audit)
