"""The annual report on the web (a page and its downloads) and in the API (JSON, CSV, PDF)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, g, render_template, request
from flask_login import current_user, login_required

from api import bp as api_bp
from api.auth import token_required
from api.errors import error_response
from extensions import db
from reports.annual import compute_annual
from reports.period import FIRST_YEAR, current_year, valid_year
from reports.render import context, to_csv, to_json, to_pdf
from workflows.errors import Forbidden, NotFound

bp = Blueprint("reports", __name__, url_prefix="/reports")
#: Who may read the annual report.
READERS = ("cao", "admin")
FORMATS = ("json", "csv", "pdf")


def _year_arg() -> int | None:
    raw = request.args.get("year")
    return current_year() if raw in (None, "") else valid_year(raw)


def _year_message() -> str:
    return f"Give a year from {FIRST_YEAR} to {current_year()}."


def download(report: dict, fmt: str) -> Response:
    """Return the report as a JSON, CSV or PDF attachment."""
    name = f"accord-annual-report-{report['year']}.{fmt}"
    if fmt == "json":
        body, mimetype = to_json(report), "application/json"
    elif fmt == "csv":
        body, mimetype = to_csv(report), "text/csv"  # (Werkzeug adds "; charset=utf-8")
    else:
        body, mimetype = to_pdf(report), "application/pdf"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@api_bp.get("/reports/annual")
@token_required
def annual_report():
    """Return the annual accountability report of a year (for cao and admin).
    ---
    get:
      summary: The annual accountability report
      parameters:
      - {in: query, name: year, schema: {type: integer}, description: "The year (default: this year)"}
      - {in: query, name: format, schema: {type: string, enum: [json, csv, pdf], default: json}}
      responses:
        200:
          description: The report as JSON (money as strings with two decimals), CSV or PDF
          content:
            application/json: {schema: {type: object}}
            text/csv: {schema: {type: string}}
            application/pdf: {schema: {type: string, format: binary}}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    if not g.api_user.has_role(*READERS):
        return error_response(403, "Only the CAO's office and administrators may read the annual report.")
    year, fmt = _year_arg(), request.args.get("format", "json")
    if year is None:
        return error_response(422, _year_message(), errors={"year": [_year_message()]})
    if fmt not in FORMATS:
        message = "Ask for format json, csv or pdf."
        return error_response(422, message, errors={"format": [message]})
    report = compute_annual(db.session, year, current_app.config)
    return report if fmt == "json" else download(report, fmt)


def _report_or_abort() -> dict:
    if not current_user.has_role(*READERS):
        raise Forbidden("The annual report is read by the CAO's office and administrators.")
    year = _year_arg()
    if year is None:
        raise NotFound(f"There is no annual report for that year: give a year from {FIRST_YEAR} to {current_year()}.")
    return compute_annual(db.session, year, current_app.config)


@bp.get("/annual")
@login_required
def annual_page():
    """Show the annual report of a year, with its charts and tables."""
    report = _report_or_abort()
    years = list(range(current_year(), FIRST_YEAR - 1, -1))
    return render_template("reports/annual.html", years=years, **context(report))


@bp.get("/annual.<any(json, csv, pdf):ext>")
@login_required
def annual_file(ext: str):
    """Download the annual report of a year as JSON, CSV or PDF."""
    return download(_report_or_abort(), ext)
