"""flask report annual --year YYYY --format json|csv|html|pdf [--output FILE]."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from extensions import db
from reports.annual import compute_annual
from reports.period import FIRST_YEAR, current_year, valid_year
from reports.render import to_csv, to_html, to_json, to_pdf

report = AppGroup("report", help="The annual accountability report.")


@report.command("annual")
@click.option("--year", type=int, default=None, help="The year (default: this year, in the City's time zone).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "html", "pdf"]), default="json", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="The file to write (default: standard output).")
def annual(year: int | None, fmt: str, output: str | None) -> None:
    """Write the annual report of a year in one format."""
    year = current_year() if year is None else valid_year(year)
    if year is None:
        raise click.BadParameter(f"give a year from {FIRST_YEAR} to {current_year()}", param_hint="--year")
    data = compute_annual(db.session, year, current_app.config)
    if fmt == "json":
        body: str | bytes = to_json(data)
    elif fmt == "csv":
        body = to_csv(data)
    elif fmt == "html":
        body = to_html(data)
    else:
        body = to_pdf(data)
    if output:
        mode = "wb" if isinstance(body, bytes) else "w"
        try:
            Path(output).parent.mkdir(parents=True, exist_ok=True)  # (as flask backup makes its folder)
            with open(output, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as out:
                out.write(body)
        except OSError as err:
            raise click.ClickException(f"The report could not be written to {output}: {err.strerror}.") from None
        click.echo(f"Wrote the {year} report ({fmt}) to {output}.", err=True)
    elif isinstance(body, bytes):
        sys.stdout.buffer.write(body)
    else:
        click.echo(body, nl=False)


def register(app: Flask) -> None:
    """Attach the report command group to the app."""
    app.cli.add_command(report)
