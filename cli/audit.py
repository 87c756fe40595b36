"""flask audit verify | head."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from extensions import db
from workflows.audit import check_head, head_digest, parse_head, verify_all

audit = AppGroup("audit", help="Check the tamper-evident audit trail.")


def _digest(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Refuse a --head that is not a digest as `flask audit head` prints it: a usage error (exit 2),
    not the verdict of a rewritten trail that comparing it would give."""
    if value is not None:
        try:
            parse_head(value)
        except ValueError as err:
            raise click.BadParameter(str(err), ctx=ctx, param=param) from None
    return value


@audit.command("verify")
@click.option("--head", "recorded", default=None, callback=_digest,
              help="A digest printed earlier by `flask audit head`.")
def verify(recorded: str | None) -> None:
    """Check every hash chain; exit non-zero naming the first bad event."""
    chains, events, faults = verify_all(db.session)
    if faults:
        for fault in faults:
            click.echo(f"BAD {fault}", err=True)
        raise SystemExit(1)
    if recorded is not None:
        if (fault := check_head(db.session, recorded)) is not None:
            click.echo(f"BAD head digest: {fault}", err=True)
            raise SystemExit(1)
    click.echo(f"OK: {events} events in {chains} chains verify.")


@audit.command("head")
def head() -> None:
    """Print one digest over every chain's head; keep it outside the database."""
    click.echo(head_digest(db.session))


def register(app: Flask) -> None:
    app.cli.add_command(audit)
