"""The report in its other formats: CSV rows, an HTML document and, from that HTML, a PDF."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from flask import render_template

from reports.annual import csv_rows, sections
from reports.charts import report_charts
from workflows import registry
from workflows.goals import GOALS

PRINT_CSS = Path(__file__).with_name("print.css")
CSV_HEADER = ("section", "measure", "group", "value")


def to_csv(report: dict) -> str:
    """Return the report as CSV: one figure a line, under the header section,measure,group,value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(report))
    return out.getvalue()


def context(report: dict) -> dict:
    """Return what the report's templates need beside the figures."""
    return {"report": report, "sections": sections(), "charts": report_charts(report), "goals": GOALS,
            "workflow_title": lambda name: registry.get(name).title if registry.get(name) else name}


def to_html(report: dict) -> str:
    """Return the report as a self-contained HTML document that reads like a report to Council."""
    return render_template("reports/document.html", css=PRINT_CSS.read_text(encoding="utf-8"), **context(report))


def to_pdf(report: dict) -> bytes:
    """Return the report as a PDF, typeset from the HTML document by WeasyPrint."""
    from weasyprint import HTML  # imported here: it loads Pango, which only this format needs

    return HTML(string=to_html(report)).write_pdf()
