"""The annual report's figures, in JSON and CSV, against a year of activity counted by hand."""
from __future__ import annotations

import csv
import io
import json
import statistics
from datetime import datetime

import pytest

from tests.reports.expected import (GOALS_2025, GOALS_BY_WORKFLOW_2025, PARTNERSHIPS_2025, RELIEF_2025,
                                    TRAVEL_2025)
from tests.reports.scenario import build

# 2025 in Toronto, in UTC.
START, END = datetime(2025, 1, 1, 5), datetime(2026, 1, 1, 5)


@pytest.fixture
def year(app, make_user, api):
    """Build the scenario; return it with an API client of the CAO's office."""
    scenario = build(make_user)
    return scenario, api(scenario.people["cara"])


def expected_cycle_times(scenario) -> dict:
    """Return each step's count, median and 90th percentile in hours, from the scenario's own timeline."""
    durations: dict[tuple, list[float]] = {}
    for workflow, trigger, before, after, moment, seconds in scenario.steps:
        if START <= moment.replace(tzinfo=None) < END:
            durations.setdefault((workflow, trigger, before, after), []).append(seconds / 3600)
    result = {}
    for key, hours in durations.items():
        p90 = statistics.quantiles(hours, n=10, method="inclusive")[8] if len(hours) > 1 else hours[0]
        result[key] = {"count": len(hours), "median_hours": round(statistics.median(hours), 2),
                       "p90_hours": round(p90, 2)}
    return result


def test_every_json_figure_matches_the_hand_count_and_new_year_splits_by_city_time(year):
    scenario, client = year
    response = client.get("/api/v1/reports/annual?year=2025")
    assert response.status_code == 200
    report = json.loads(response.get_data())  # plain floats, as a client reads them
    assert (report["year"], report["as_of"], report["complete"]) == (2025, "2026-01-01", True)
    assert report["travel"] == TRAVEL_2025
    assert report["relief"] == RELIEF_2025
    assert report["partnerships"] == PARTNERSHIPS_2025
    assert report["goals"] == GOALS_2025
    assert report["goals_by_workflow"] == GOALS_BY_WORKFLOW_2025
    got = {(wf, s["step"], s["from_state"], s["to_state"]): {k: s[k] for k in ("count", "median_hours", "p90_hours")}
           for wf, steps in report["cycle_times"].items() for s in steps}
    assert got == expected_cycle_times(scenario)
    # Worked out by hand: T1 waited from 22:00 on 31 December 2024 to 10:00 on 6 January 2025 (132 h),
    # T3 from 09:00 on 1 to 09:00 on 2 September (24 h), T6 from 09:00 on 1 to 09:00 on 3 November 2025,
    # across the end of daylight saving time (49 h): median 49, 90th percentile 49 + 0.8 * (132 - 49).
    assert got[("travel", "approve", "submitted", "approved")] == {"count": 3, "median_hours": 49.0,
                                                                   "p90_hours": 115.4}
    assert got[("relief", "approve", "council_review", "approved")] == {"count": 1, "median_hours": 240.0,
                                                                       "p90_hours": 240.0}
    # Events near New Year count in their year in the City's time zone.
    before = json.loads(client.get("/api/v1/reports/annual?year=2024").get_data())
    assert before["travel"]["requests"] == 1  # T1, at 22:00 on 31 December 2024 (03:00 UTC in 2025)
    assert before["relief"]["requests"] == 0
    assert before["partnerships"]["inventory_by_status"] == {"active": 1, "dormant": 1, "completed": 10,
                                                             "prospective": 1}
    after = json.loads(client.get("/api/v1/reports/annual?year=2026").get_data())  # the clock stands at 1 February 2026
    assert (after["as_of"], after["complete"]) == ("2026-02-01", False)
    assert after["travel"]["requests"] == 0  # T5 was submitted at 23:30 on 31 December 2025
    assert (after["travel"]["approved"], after["travel"]["estimated_cost"]) == (1, "2000.00")
    assert after["travel"]["reports_overdue"] == 2  # T3, and T6 whose report was due on 17 January 2026
    # The Council's only travel figure of 2026 is T3's overdue report: it still has its row.
    overdue = {r["department"]: (r["requests"], r["approved"], r["estimated_cost"], r["reports_overdue"])
               for r in after["travel"]["by_department"]}
    assert overdue == {"City Council": (0, 0, "0.00", 1), "Economic Development and Culture": (0, 0, "0.00", 1),
                       "Toronto Public Health": (0, 1, "2000.00", 0)}
    assert {r["organizer"]: r["reports_overdue"] for r in after["travel"]["by_organizer"]} == {
        "Metropolis": 1, "WHO": 1}
    assert (after["relief"]["requests"], after["relief"]["amount_paid"]) == (0, "8000.00")
    assert after["partnerships"]["adopted"] == 1
    assert after["partnerships"]["inventory_by_status"]["active"] == 3


def _value(v) -> str:
    return "" if v is None else str(v)


def expected_csv_rows(scenario) -> set[tuple[str, str, str, str]]:
    """Return every row the CSV of 2025 must hold, flattened from the hand-counted figures."""
    rows = {("report", "year", "", "2025"), ("report", "as_of", "", "2026-01-01")}
    for section, figures, groups in (("travel", TRAVEL_2025, {"by_department": "department",
                                                               "by_organizer": "organizer"}),
                                     ("relief", RELIEF_2025, {"by_country": "country",
                                                              "by_disaster_type": "disaster_type"}),
                                     ("partnerships", PARTNERSHIPS_2025, {"by_type": "proposal_type"})):
        for name, value in figures.items():
            if name in groups:
                rows |= {(section, f"{name}.{k}", r[groups[name]], _value(v))
                         for r in value for k, v in r.items() if k != groups[name]}
            elif not isinstance(value, (list, dict)):
                rows.add((section, name, "", _value(value)))
    rows |= {("travel", "trips_by_month", f"{m:02d}", str(n)) for m, n in enumerate(TRAVEL_2025["trips_by_month"], 1)}
    rows |= {("travel", "learnings", f"{goal}: #{e['case_id']} {e['title']}", e["learnings"])
             for goal, entries in TRAVEL_2025["learnings_by_goal"].items() for e in entries}
    rows |= {("partnerships", "inventory_by_status", status, str(n))
             for status, n in PARTNERSHIPS_2025["inventory_by_status"].items()}
    rows |= {("goals", goal, "", str(n)) for goal, n in GOALS_2025.items()}
    rows |= {("goals", goal, wf, str(n)) for goal, per in GOALS_BY_WORKFLOW_2025.items() for wf, n in per.items()}
    for (wf, step, before, after), figures in expected_cycle_times(scenario).items():
        rows |= {("cycle_times", name, f"{wf}:{before}>{step}>{after}", str(v)) for name, v in figures.items()}
    return rows


def test_every_csv_figure_of_2025_matches_the_hand_count(year):
    scenario, client = year
    response = client.get("/api/v1/reports/annual?year=2025&format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="accord-annual-report-2025.csv"' in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines[0] == ["section", "measure", "group", "value"]
    got = [tuple(line) for line in lines[1:]]
    assert len(got) == len(set(got))
    assert set(got) == expected_csv_rows(scenario)
