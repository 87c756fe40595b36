"""The annual report's figures, in JSON and CSV, against a year of activity counted by hand."""
from __future__ import annotations

import csv
import io
import json
import statistics
from datetime import date, datetime, timedelta

import pytest

import clock
from extensions import db
from models import AuditEvent, Case
from tests.reports.expected import (GOALS_2025, GOALS_BY_WORKFLOW_2025, PARTNERSHIPS_2025, RELIEF_2025,
                                    TRAVEL_2025)
from tests.reports.scenario import Scenario, proposal_to_committee, relief_path, build, local, proposal, relief
from workflows import engine

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


def _small_year(make_user) -> Scenario:
    """Return a scenario with a traveller, their head, a triage officer and the CAO's office, and no case yet."""
    return Scenario({"sam": make_user("sam", "staff"), "dana": make_user("dana", "dept_head"),
                     "hana": make_user("hana", "hco", department="Strategic and Corporate Policy"),
                     "cara": make_user("cara", "cao", department="Chief Administrative Officer")})


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
    rows = {("report", "year", "", "2025"), ("report", "as_of", "", "2026-01-01"), ("report", "complete", "", "true")}
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
    rows |= {("travel", "contacts", f"{goal}: #{e['case_id']} {e['title']}", "Ana Souza (Prefeitura)")
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


def test_proposals_count_once_however_often_deferred_and_a_withdrawn_draft_is_no_proposal(make_user, api):
    people = {"chen": make_user("chen", "councillor", department="City Council"),
              "pat": make_user("pat", "committee", department="City Clerk's Office"),
              "hana": make_user("hana", "hco", department="Strategic and Corporate Policy"),
              "cara": make_user("cara", "cao", department="Chief Administrative Officer")}
    s = Scenario(people)
    # Q1: deferred, reconsidered and deferred again in 2024, then once more in 2025.
    s.create("Q1", "chen", "partnership", ["democracy"], proposal("new", "Durban", "South Africa"), local(2024, 3, 1, 8))
    proposal_to_committee(s, "Q1", local(2024, 3, 1, 9))
    for when in (local(2024, 4, 1), local(2024, 6, 1), local(2025, 2, 1)):
        s.fire("Q1", "pat", "defer", when, comment="Await the FCM decision.")
        s.fire("Q1", "pat", "reconsider", when + timedelta(days=20))
    # Q2: a draft withdrawn before it was ever sent; Q3: withdrawn after it was submitted.
    s.create("Q2", "chen", "partnership", ["democracy"], proposal("new", "Lagos", "Nigeria"), local(2024, 5, 1, 8))
    s.fire("Q2", "chen", "withdraw", local(2024, 5, 2))
    s.create("Q3", "chen", "partnership", ["democracy"], proposal("new", "Accra", "Ghana"), local(2024, 7, 1, 8))
    s.fire("Q3", "chen", "submit", local(2024, 7, 1, 9))
    s.fire("Q3", "chen", "withdraw", local(2024, 7, 10))
    clock.set(local(2025, 6, 1))
    client = api(people["cara"])
    year = json.loads(client.get("/api/v1/reports/annual?year=2024").get_data())["partnerships"]
    assert {k: year[k] for k in ("proposals", "deferred", "withdrawn")} == {"proposals": 2, "deferred": 1, "withdrawn": 1}
    assert year["by_type"] == [{"proposal_type": "new", "proposals": 2, "adopted": 0, "declined": 0, "withdrawn": 1}]
    assert json.loads(client.get("/api/v1/reports/annual?year=2025").get_data())["partnerships"]["deferred"] == 1
    csv_rows = list(csv.reader(io.StringIO(client.get("/api/v1/reports/annual?year=2024&format=csv").get_data(as_text=True))))
    assert ["partnerships", "deferred", "", "1"] in csv_rows and ["partnerships", "withdrawn", "", "1"] in csv_rows


def test_amounts_of_tens_of_millions_are_reported_to_the_cent(make_user, api):
    # Above 2^31 cents ($21,474,836.47), where a 32-bit sum of cents would overflow (PostgreSQL's INTEGER).
    people = {"sam": make_user("sam", "staff"),
              "hana": make_user("hana", "hco", department="Strategic and Corporate Policy"),
              "cara": make_user("cara", "cao", department="Chief Administrative Officer"),
              "jordan": make_user("jordan", "council", department="City Clerk's Office"),
              "ravi": make_user("ravi", "finance", department="Finance")}
    s = Scenario(people)
    s.create("R", "sam", "relief", ["compassion"], relief("Turkey", "earthquake", "30000000.01", date(2024, 2, 6)),
             local(2024, 2, 10, 8))
    relief_path(s, "R", local(2024, 2, 10, 9), "25000000.50")
    s.fire("R", "cara", "approve", local(2024, 2, 14, 9))
    s.fire("R", "jordan", "approve", local(2024, 2, 20, 9))
    s.fire("R", "ravi", "disburse", local(2024, 3, 1, 9),
           payload={"amount_paid": "24999999.99", "paid_on": "2024-03-01", "payment_reference": "EFT-9"})
    clock.set(local(2025, 6, 1))
    response = api(people["cara"]).get("/api/v1/reports/annual?year=2024")
    assert response.status_code == 200, response.get_data(as_text=True)
    relief_year = json.loads(response.get_data())["relief"]
    assert {k: relief_year[k] for k in ("amount_requested", "amount_granted", "amount_paid")} == {
        "amount_requested": "30000000.01", "amount_granted": "25000000.50", "amount_paid": "24999999.99"}


def test_a_closed_years_actual_cost_is_not_rewritten_by_a_report_filed_again_the_next_year(make_user, api):
    # The figure came from the case's current actual cost: a report filed in December at $1,000,
    # returned, and filed again in January at $3,000, changed 2025's total after the year ended.
    from tests.reports.scenario import report, trip

    people = {"sam": make_user("sam", "staff"), "dana": make_user("dana", "dept_head"),
              "cara": make_user("cara", "cao", department="Chief Administrative Officer")}
    s = Scenario(people)
    s.create("T", "sam", "travel", ["research"], trip("Metropolis", date(2025, 11, 10), 3,
                                                      {"transport": "1400.00"}), local(2025, 10, 1, 9))
    s.fire("T", "sam", "submit", local(2025, 10, 1, 10))
    s.fire("T", "dana", "approve", local(2025, 10, 2, 10))
    s.fire("T", "sam", "complete_trip", local(2025, 11, 10, 9))
    s.fire("T", "sam", "submit_report", local(2025, 12, 1, 9), payload=report("Agents.", "1000.00"))
    clock.set(local(2026, 1, 2))
    client = api(people["cara"])
    before = json.loads(client.get("/api/v1/reports/annual?year=2025").get_data())["travel"]["actual_cost"]
    s.fire("T", "dana", "return_report", local(2026, 1, 15, 9), comment="Add the receipts.")
    s.fire("T", "sam", "submit_report", local(2026, 1, 20, 9), payload=report("Agents.", "3000.00"))
    clock.set(local(2026, 2, 1))
    assert before == "1000.00"
    assert json.loads(client.get("/api/v1/reports/annual?year=2025").get_data())["travel"]["actual_cost"] == "1000.00"


def test_steps_too_quick_to_draw_in_days_are_not_said_to_be_none(make_user, browse):
    # A year whose steps each took an hour drew no chart (every bar 0.0 days), and the page said
    # "No step was taken in the year." above the table of those very steps.
    from tests.reports.scenario import trip

    people = {"sam": make_user("sam", "staff"), "dana": make_user("dana", "dept_head"),
              "cara": make_user("cara", "cao", department="Chief Administrative Officer")}
    s = Scenario(people)
    s.create("T", "sam", "travel", ["research"], trip("Metropolis", date(2025, 11, 10), 3, {"transport": "1400.00"}),
             local(2025, 10, 1, 9))
    s.fire("T", "sam", "submit", local(2025, 10, 1, 10))
    s.fire("T", "dana", "decline", local(2025, 10, 1, 11), comment="Attend online.")
    clock.set(local(2026, 1, 2))
    page = browse(people["cara"]).get("/reports/annual?year=2025").get_data(as_text=True)
    assert "No step was taken in the year." not in page
    assert "too little to draw in days: the tables\n    below give the hours." in page
    assert "<th scope=\"row\">Submitted → Declined: Decline</th><td class=\"num\">1</td>" in page
    clock.set(local(2026, 1, 2))
    empty = browse(people["cara"]).get("/reports/annual?year=2024").get_data(as_text=True)
    assert "No step was taken in the year." in empty


def test_a_closed_years_groups_and_amounts_stay_when_a_request_is_edited_the_next_year(make_user, api):
    # The figures came from the cases as they are now: a relief request submitted in 2025 for
    # Haiti at $40,000, then revised in 2026 to the Dominican Republic at $90,000, moved 2025's
    # figures; so did a trip returned and sent to another organizer with another goal.
    from tests.reports.scenario import trip

    s = _small_year(make_user)
    people = s.people
    s.create("R", "sam", "relief", ["compassion"], relief("Haiti", "hurricane", "40000.00", date(2025, 10, 20)),
             local(2025, 11, 1, 9))
    s.fire("R", "sam", "submit", local(2025, 11, 1, 10))
    s.fire("R", "hana", "start_triage", local(2025, 11, 2, 9))
    s.fire("R", "hana", "request_info", local(2025, 11, 3, 9), comment="Which districts?")
    s.create("T", "sam", "travel", ["research"], trip("Metropolis", date(2026, 3, 10), 3, {"transport": "1400.00"}),
             local(2025, 12, 1, 9))
    s.fire("T", "sam", "submit", local(2025, 12, 1, 10))
    s.fire("T", "dana", "return", local(2025, 12, 2, 10), comment="Is there a closer congress?")
    clock.set(local(2026, 1, 5))
    client = api(people["cara"])

    def figures() -> tuple:
        report = json.loads(client.get("/api/v1/reports/annual?year=2025").get_data())
        relief_, travel = report["relief"], report["travel"]
        return (relief_["amount_requested"], [(r["country"], r["amount_requested"]) for r in relief_["by_country"]],
                [(r["disaster_type"], r["requests"]) for r in relief_["by_disaster_type"]],
                [(r["organizer"], r["requests"]) for r in travel["by_organizer"]],
                {goal: n for goal, n in report["goals"].items() if n})

    before = figures()
    assert before == ("40000.00", [("Haiti", "40000.00")], [("hurricane", 1)], [("Metropolis", 1)],
                      {"compassion": 1, "research": 1})
    clock.set(local(2026, 1, 10))
    relief_case = db.session.get(Case, s.cases["R"])
    engine.update_case(db.session, people["sam"], relief_case.id, relief_case.version, data={
        "country": "Dominican Republic", "amount_requested": "90000.00", "disaster_type": "flood"})
    s.fire("R", "sam", "provide_info", local(2026, 1, 10, 10))
    trip_case = db.session.get(Case, s.cases["T"])
    engine.update_case(db.session, people["sam"], trip_case.id, trip_case.version, goals=["economy"],
                       data={"event_organizer": "ICLEI"})
    s.fire("T", "sam", "submit", local(2026, 1, 11, 10))
    clock.set(local(2026, 2, 1))
    assert figures() == before


def test_a_closed_years_departments_stay_when_a_returned_trip_is_sent_again_from_another(make_user, api):
    # A trip sent in December and returned, then sent again in January by its traveller, who had
    # moved department meanwhile: the request is filed under the new department when it leaves its
    # draft, and 2025's figures moved there with it.
    from sqlalchemy import select

    from models import Department, User
    from tests.reports.scenario import trip

    s = _small_year(make_user)
    s.people["eli"] = make_user("eli", "dept_head", department="Economic Development and Culture")
    s.create("T", "sam", "travel", ["research"], trip("Metropolis", date(2026, 3, 10), 3, {"transport": "1400.00"}),
             local(2025, 12, 1, 9))
    s.fire("T", "sam", "submit", local(2025, 12, 1, 10))
    s.fire("T", "dana", "return", local(2025, 12, 2, 10), comment="Is there a closer congress?")
    client = api(s.people["cara"])

    def departments(year: int) -> list:
        report = json.loads(client.get(f"/api/v1/reports/annual?year={year}").get_data())
        return [(r["department"], r["requests"]) for r in report["travel"]["by_department"]]

    clock.set(local(2026, 1, 5))
    before = departments(2025)
    assert before == [("Toronto Public Health", 1)]
    sam = db.session.get(User, s.people["sam"].id)
    sam.department_id = db.session.scalar(select(Department.id).where(Department.name == "Economic Development and Culture"))
    db.session.commit()
    s.fire("T", "sam", "submit", local(2026, 1, 11, 10))
    assert db.session.get(Case, s.cases["T"]).department.name == "Economic Development and Culture"
    clock.set(local(2026, 2, 1))
    assert departments(2025) == before
    s.fire("T", "eli", "return", local(2026, 2, 2, 10), comment="Still too far")  # (moved on again, no move)
    assert departments(2025) == before
    assert departments(2026) == []  # (a request is counted in the year it was first sent, once)


def test_a_field_emptied_within_the_year_stays_empty_in_it_when_the_request_changes_later(make_user, api):
    # A request for $40,000 switched to help in kind in November, its amount emptied: 2025 showed
    # 0.00 requested, until a comment in January made the closed year read the $40,000 again.
    s = _small_year(make_user)
    s.create("R", "sam", "relief", ["compassion"], relief("Haiti", "hurricane", "40000.00", date(2025, 10, 20)),
             local(2025, 11, 1, 9))
    s.fire("R", "sam", "submit", local(2025, 11, 1, 10))
    s.fire("R", "hana", "start_triage", local(2025, 11, 2, 9))
    s.fire("R", "hana", "request_info", local(2025, 11, 3, 9), comment="Money or goods?")
    clock.set(local(2025, 11, 4, 8))
    case_ = db.session.get(Case, s.cases["R"])
    engine.update_case(db.session, s.people["sam"], case_.id, case_.version,
                       data={"assistance_types": ["in_kind"], "amount_requested": None})
    s.fire("R", "sam", "provide_info", local(2025, 11, 4, 9))
    clock.set(local(2026, 1, 5))
    client = api(s.people["cara"])

    def requested() -> tuple:
        relief_ = client.get("/api/v1/reports/annual?year=2025").get_json()["relief"]
        return relief_["amount_requested"], [(r["country"], r["amount_requested"]) for r in relief_["by_country"]]

    assert requested() == ("0.00", [("Haiti", "0.00")])
    clock.set(local(2026, 1, 6))
    engine.add_comment(db.session, s.people["hana"], s.cases["R"], "Goods shipped via the Red Cross.")
    clock.set(local(2026, 1, 7))
    assert requested() == ("0.00", [("Haiti", "0.00")])


def test_requests_given_up_by_their_owners_are_counted_drafts_are_not(make_user, api):
    # A trip approved and then cancelled, and a relief request withdrawn in triage, appeared nowhere:
    # the year's approvals and amounts could not be reconciled.
    from tests.reports.scenario import trip

    s = _small_year(make_user)
    people = s.people
    s.create("T", "sam", "travel", ["research"], trip("Metropolis", date(2025, 11, 10), 3, {"transport": "1400.00"}),
             local(2025, 9, 1, 9))
    s.fire("T", "sam", "submit", local(2025, 9, 1, 10))
    s.fire("T", "dana", "approve", local(2025, 9, 2, 10))
    s.fire("T", "sam", "cancel", local(2025, 10, 1, 10), comment="The congress moved online.")
    s.create("D", "sam", "travel", ["research"], trip("WHO", date(2025, 11, 10), 3, {"transport": "900.00"}),
             local(2025, 9, 3, 9))
    s.fire("D", "sam", "cancel", local(2025, 9, 3, 10))  # a draft never sent: no request
    s.create("B", "sam", "travel", ["research"], trip("ICLEI", date(2025, 11, 10), 3, {"transport": "700.00"}),
             local(2025, 9, 4, 9))
    s.fire("B", "sam", "submit", local(2025, 9, 4, 10))
    s.fire("B", "dana", "return", local(2025, 9, 5, 10), comment="Which sessions?")
    s.fire("B", "sam", "cancel", local(2025, 9, 6, 10))  # returned, then given up: a request cancelled
    s.create("R", "sam", "relief", ["compassion"], relief("Haiti", "hurricane", "9000.00", date(2025, 10, 20)),
             local(2025, 11, 1, 9))
    s.fire("R", "sam", "submit", local(2025, 11, 1, 10))
    s.fire("R", "hana", "start_triage", local(2025, 11, 2, 9))
    s.fire("R", "sam", "withdraw", local(2025, 11, 3, 9))
    clock.set(local(2026, 1, 5))
    report = json.loads(api(people["cara"]).get("/api/v1/reports/annual?year=2025").get_data())
    assert (report["travel"]["requests"], report["travel"]["approved"], report["travel"]["cancelled"]) == (2, 1, 2)
    assert (report["relief"]["requests"], report["relief"]["withdrawn"]) == (1, 1)


def test_a_country_or_organizer_typed_two_ways_is_one_group(make_user, api):
    # Requesters type countries and organizers: "Turkey" and "TURKEY" were two rows of the
    # breakdown, each with part of the amounts, and an overdue report sat in a row of its own.
    from tests.reports.scenario import trip

    s = _small_year(make_user)
    people = s.people
    for key, country, amount in (("R1", "Turkey", "1000.00"), ("R2", "TURKEY", "2000.00"), ("R3", "Turkey", "500.00")):
        s.create(key, "sam", "relief", ["compassion"], relief(country, "earthquake", amount, date(2025, 2, 6)),
                 local(2025, 3, 1, 9))
        s.fire(key, "sam", "submit", local(2025, 3, 1, 10))
    for key, organizer in (("T1", "ICLEI"), ("T2", "ICLEI"), ("T3", "iclei")):
        s.create(key, "sam", "travel", ["research"], trip(organizer, date(2025, 6, 10), 3, {"transport": "900.00"}),
                 local(2025, 4, 1, 9))
        s.fire(key, "sam", "submit", local(2025, 4, 1, 10))
        s.fire(key, "dana", "approve", local(2025, 4, 2, 10))
    s.fire("T3", "sam", "complete_trip", local(2025, 6, 14, 10))  # its report never filed: overdue
    clock.set(local(2026, 1, 5))
    report = json.loads(api(people["cara"]).get("/api/v1/reports/annual?year=2025").get_data())
    assert [(r["country"], r["requests"], r["amount_requested"]) for r in report["relief"]["by_country"]] == [
        ("Turkey", 3, "3500.00")]
    assert [(r["organizer"], r["requests"], r["approved"], r["reports_overdue"])
            for r in report["travel"]["by_organizer"]] == [("ICLEI", 3, 3, 1)]


def test_data_changed_with_the_answer_to_a_question_stays_in_its_year(make_user, api):
    # The year's end replay read creations and edits only: a relief request whose country and
    # amount were corrected with provide_info in 2025 moved back to its first country and amount
    # in the 2025 report as soon as anything happened to it in 2026 (a comment).
    s = _small_year(make_user)
    people = s.people
    s.create("R", "sam", "relief", ["compassion"], relief("Atlantis", "hurricane", "40000.00", date(2025, 10, 20)),
             local(2025, 11, 1, 9))
    s.fire("R", "sam", "submit", local(2025, 11, 1, 10))
    s.fire("R", "hana", "start_triage", local(2025, 11, 2, 9))
    s.fire("R", "hana", "request_info", local(2025, 11, 3, 9), comment="Which country, and how much?")
    s.fire("R", "sam", "provide_info", local(2025, 11, 4, 9),
           payload={"country": "El Salvador", "amount_requested": "20000.00", "disaster_type": "flood"})
    clock.set(local(2026, 1, 5))
    client = api(people["cara"])

    def figures() -> tuple:
        relief_ = json.loads(client.get("/api/v1/reports/annual?year=2025").get_data())["relief"]
        return (relief_["amount_requested"], [(r["country"], r["requests"]) for r in relief_["by_country"]],
                [(r["disaster_type"], r["requests"]) for r in relief_["by_disaster_type"]])

    before = figures()
    assert before == ("20000.00", [("El Salvador", 1)], [("flood", 1)])
    clock.set(local(2026, 2, 1))
    engine.add_comment(db.session, people["hana"], s.cases["R"], "Checked with the Red Cross.")
    assert figures() == before


def test_the_json_kind_of_each_path_is_read_from_that_path_however_often_the_statement_was_built():
    # Two statements that differ only in the path shared one compiled form (the path was not in
    # the cache key), so the second read the first one's field.
    from sqlalchemy import create_engine, select, text

    from reports.sql import json_kind

    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE audit_events (seq INTEGER PRIMARY KEY, payload TEXT)"))
        conn.execute(text("""INSERT INTO audit_events (payload) VALUES ('{"a": 1, "b": null, "c": {"d": "x"}}')"""))
        column = AuditEvent.__table__.c.payload
        kinds = [conn.execute(select(json_kind(column, path))).scalar() for path in (("a",), ("b",), ("c", "d"), ("e",))]
    assert kinds == ["integer", "null", "text", None]


def test_a_relief_draft_withdrawn_before_it_was_sent_is_no_withdrawn_request(make_user, api):
    # As a travel draft cancelled (above): a relief request given up before its submission was never
    # a request, so it is not among the year's withdrawn ones beside the requests counted.
    s = _small_year(make_user)
    s.create("D", "sam", "relief", ["compassion"], relief("Haiti", "hurricane", "9000.00", date(2025, 10, 20)),
             local(2025, 11, 1, 9))
    s.fire("D", "sam", "withdraw", local(2025, 11, 1, 10))
    s.create("R", "sam", "relief", ["compassion"], relief("Chile", "flood", "5000.00", date(2025, 10, 20)),
             local(2025, 11, 2, 9))
    s.fire("R", "sam", "submit", local(2025, 11, 2, 10))
    s.fire("R", "sam", "withdraw", local(2025, 11, 3, 10))
    clock.set(local(2026, 1, 5))
    report = json.loads(api(s.people["cara"]).get("/api/v1/reports/annual?year=2025").get_data())
    assert (report["relief"]["requests"], report["relief"]["withdrawn"]) == (1, 1)


def test_the_years_edge_is_the_citys_midnight_and_a_report_due_on_new_years_day_is_not_yet_overdue(make_user, api):
    # A year runs to the City's midnight, exclusive: a request submitted at 00:00 on 1 January counts
    # in the new year only. At that cutoff a report due on 31 December is overdue, one due on
    # 1 January is not yet (it may still be filed that day).
    from tests.reports.scenario import trip

    s = _small_year(make_user)
    s.create("N", "sam", "travel", ["research"], trip("ICLEI", date(2026, 2, 10), 3, {"transport": "700.00"}),
             local(2025, 12, 30, 9))
    s.fire("N", "sam", "submit", local(2026, 1, 1, 0))
    # Trips ending on 1 and 2 December 2025: reports due on 31 December and 1 January (30 days on).
    for key, start in (("Dec", date(2025, 11, 28)), ("Jan", date(2025, 11, 29))):
        s.create(key, "sam", "travel", ["research"], trip("WHO", start, 3, {"transport": "900.00"}),
                 local(2025, 10, 1, 9))
        s.fire(key, "sam", "submit", local(2025, 10, 1, 10))
        s.fire(key, "dana", "approve", local(2025, 10, 2, 10))
        s.fire(key, "sam", "complete_trip", local(2025, 12, 3, 10))
    assert db.session.get(Case, s.cases["Jan"]).due_on.date() == date(2026, 1, 1)
    clock.set(local(2026, 1, 5))
    client = api(s.people["cara"])
    y2025 = json.loads(client.get("/api/v1/reports/annual?year=2025").get_data())
    y2026 = json.loads(client.get("/api/v1/reports/annual?year=2026").get_data())
    assert (y2025["travel"]["requests"], y2026["travel"]["requests"]) == (2, 1)
    assert y2025["travel"]["reports_overdue"] == 1


def test_an_inventory_change_at_the_citys_midnight_belongs_to_the_new_year(make_user, api):
    # The inventory by status is as it stood at the year's end: a partnership made active at 00:00
    # on 1 January was still dormant when the old year closed.
    from models import Partnership

    cara = make_user("cara", "cao", department="Chief Administrative Officer")
    admin = make_user("ada", "admin", department="Information and Technology")
    sao = db.session.scalar(db.select(Partnership).where(Partnership.status == "dormant"))
    clock.set(local(2026, 1, 1, 0))
    assert api(admin).patch(f"/api/v1/partnerships/{sao.id}", json={"status": "active"}).status_code == 200
    clock.set(local(2026, 1, 5))
    report = json.loads(api(cara).get("/api/v1/reports/annual?year=2025").get_data())
    assert report["partnerships"]["inventory_by_status"] == {"active": 1, "dormant": 1, "completed": 10,
                                                             "prospective": 1}
