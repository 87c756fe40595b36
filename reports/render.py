"""The report in its other formats: a JSON file, CSV rows, an HTML document and, from that HTML, a PDF."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from flask import render_template

import clock
from reports.annual import csv_rows, sections
from reports.charts import report_charts
from workflows import registry
from workflows.goals import GOALS

PRINT_CSS = Path(__file__).with_name("print.css")
CSV_HEADER = ("section", "measure", "group", "value")


def to_json(report: dict) -> str:
    """Return the report as a JSON document, as the API answers it (money as strings), indented."""
    from api.json import DecimalJSONProvider

    return json.dumps(report, indent=2, ensure_ascii=False, default=DecimalJSONProvider.default) + "\n"


def to_csv(report: dict) -> str:
    """Return the report as CSV: one figure a line, under the header section,measure,group,value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows([tuple(map(_inert, row)) for row in csv_rows(report)])
    return out.getvalue()


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def _inert(value):
    """Return a cell as text a spreadsheet shows rather than runs.

    Requesters type some of the report's groups and texts (a relief request's country, a trip's
    organizer, a report's learnings): "=HYPERLINK(...)" there would run when the CAO's office
    opens the CSV. Such a cell gets a leading apostrophe (OWASP's advice), so that it reads as text; numbers stay.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def generated_locally(stamp: str) -> str:
    """Return the moment a report was generated (UTC, as its JSON gives it) in the City's time:
    "1 February 2026, 12:00 (Toronto time)"."""
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).astimezone(clock.zone())
    return f"{moment.day} {moment:%B %Y, %H:%M} ({clock.zone().key.rpartition('/')[2].replace('_', ' ')} time)"


def context(report: dict) -> dict:
    """Return what the report's templates need beside the figures."""
    return {"report": report, "sections": sections(), "charts": report_charts(report), "goals": GOALS,
            "workflow_title": lambda name: registry.get(name).title if registry.get(name) else name,
            "generated_locally": generated_locally}


def to_html(report: dict) -> str:
    """Return the report as a self-contained HTML document that reads like a report to Council."""
    return render_template("reports/document.html", css=PRINT_CSS.read_text(encoding="utf-8"), **context(report))


def to_pdf(report: dict) -> bytes:
    """Return the report as a PDF, typeset from the HTML document by WeasyPrint."""
    from weasyprint import HTML  # imported here: it loads Pango, which only this format needs

    # PDF/UA-1: tagged (headings, tables and their headers, the charts' alternative text reach a
    # screen reader), with the document's title and language, as a public report to Council must be.
    return HTML(string=to_html(report)).write_pdf(pdf_variant="pdf/ua-1")
