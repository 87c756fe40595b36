"""The annual report against a count by hand of a scenario built on its edge cases (written by a
reviewer who had not read reports/annual.py)."""
from __future__ import annotations

from datetime import date

from flask import current_app

import clock
from extensions import db
from reports.annual import compute_annual
from tests.reports.scenario import Scenario, local, relief, report, trip


def test_travel_figures_match_the_hand_count(make_user):
    """The 2025, 2026 and 2027 travel figures, goals and cycle-time counts of a small year, counted by
    hand: steps at the turn of the year in the City's time zone, a trip returned and approved, one
    cancelled submitted and one as a draft, reports late by days and by an hour, one never filed,
    a decision taken in the next year, and another workflow's request beside them."""
    people = {
        "sam": make_user("sam", "staff", full_name="Sam"),
        "dana": make_user("dana", "dept_head", full_name="Dana"),
        "chen": make_user("chen", "councillor", department="City Council"),
        "pat": make_user("pat", "committee", department="City Clerk's Office"),
        "cara": make_user("cara", "cao", department="CAO"),
        "hana": make_user("hana", "hco", department="SCP"),
    }
    s = Scenario(people)
    c = {"registration": "1000.00"}
    # A: submitted NYE 2025 23:30 local, approved 2026 (for December: its report is owed by no approval below)
    s.create("A", "sam", "travel", ["research"], trip("WHO", date(2026, 12, 1), 2, c), local(2025, 12, 20))
    s.fire("A", "sam", "submit", local(2025, 12, 31, 23, 30))
    s.fire("A", "dana", "approve", local(2026, 1, 5))
    # B: returned then approved
    s.create("B", "sam", "travel", ["economy"], trip("WHO", date(2026, 9, 1), 2, c), local(2026, 2, 1, 8))
    s.fire("B", "sam", "submit", local(2026, 2, 1, 9))
    s.fire("B", "dana", "return", local(2026, 2, 3), comment="fix")
    s.fire("B", "sam", "submit", local(2026, 2, 5))
    s.fire("B", "dana", "approve", local(2026, 2, 6))
    # C: submitted then cancelled
    s.create("C", "sam", "travel", ["economy"], trip("WHO", date(2026, 9, 1), 2, c), local(2026, 3, 1, 8))
    s.fire("C", "sam", "submit", local(2026, 3, 1, 9))
    s.fire("C", "sam", "cancel", local(2026, 3, 2))
    # D: draft cancelled
    s.create("D", "sam", "travel", ["economy"], trip("WHO", date(2026, 9, 1), 2, c), local(2026, 3, 1, 8))
    s.fire("D", "sam", "cancel", local(2026, 3, 2))
    # F: late report
    s.create("F", "sam", "travel", ["culture"], trip("ICLEI", date(2026, 6, 1), 4, c), local(2026, 5, 1, 8))
    s.fire("F", "sam", "submit", local(2026, 5, 1, 9))
    s.fire("F", "dana", "approve", local(2026, 5, 2))
    s.fire("F", "sam", "complete_trip", local(2026, 6, 1))
    s.fire("F", "sam", "submit_report", local(2026, 7, 20), payload=report("L-F", "900.00"))
    # H: never filed, due 2026-12-31
    s.create("H", "sam", "travel", ["culture"], trip("ICLEI", date(2026, 11, 27), 4, c), local(2026, 10, 1, 8))
    s.fire("H", "sam", "submit", local(2026, 10, 1, 9))
    s.fire("H", "dana", "approve", local(2026, 10, 2))
    s.fire("H", "sam", "complete_trip", local(2026, 11, 27))
    # I: due 2026-12-30, filed 12-31 23:00 local
    s.create("I", "sam", "travel", ["culture"], trip("ICLEI", date(2026, 11, 26), 4, c), local(2026, 10, 1, 8))
    s.fire("I", "sam", "submit", local(2026, 10, 1, 9))
    s.fire("I", "dana", "approve", local(2026, 10, 2))
    s.fire("I", "sam", "complete_trip", local(2026, 11, 26))
    s.fire("I", "sam", "submit_report", local(2026, 12, 31, 23), payload=report("L-I", "1100.00"))
    # K: councillor trip above threshold, approved by CAO in 2027
    s.create("K", "chen", "travel", ["democracy"], trip("Metropolis", date(2027, 3, 1), 2, {"transport": "6000.00"}),
             local(2026, 12, 1, 8))
    s.fire("K", "chen", "submit", local(2026, 12, 20))
    s.fire("K", "pat", "approve", local(2026, 12, 21))
    s.fire("K", "cara", "approve", local(2027, 1, 2))
    # relief
    s.create("R", "sam", "relief", ["compassion"], relief("Chile", "flood", "1000.00", date(2026, 6, 1)), local(2026, 6, 2))
    s.fire("R", "sam", "submit", local(2026, 6, 2, 13))
    clock.set(local(2027, 2, 1))
    r = {y: compute_annual(db.session, y, current_app.config) for y in (2025, 2026, 2027)}
    t = r[2026]["travel"]
    # A counts in 2025 (23:30 on New Year's Eve); D (a draft cancelled) never; K's approval is 2027's.
    assert r[2025]["travel"]["requests"] == 1 and r[2025]["travel"]["approved"] == 0
    assert (t["requests"], t["approved"], t["cancelled"], t["trips_completed"], t["reports_filed"]) == (6, 5, 1, 3, 2)
    # F late (due 07-05, filed 07-20); I late (due 12-30, filed 12-31 23:00 local = 2027 UTC); H overdue.
    assert (t["reports_on_time"], t["reports_late"], t["reports_overdue"]) == (0, 2, 1)
    assert (str(t["estimated_cost"]), str(t["actual_cost"])) == ("5000.00", "2000.00")
    assert t["trips_by_month"] == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0]
    assert r[2026]["goals"] == {"research": 0, "economy": 2, "leadership": 0, "compassion": 1, "culture": 3,
                                "human_rights": 0, "democracy": 1}
    steps = {(s["step"], s["from_state"], s["to_state"]): s["count"] for s in r[2026]["cycle_times"]["travel"]}
    assert steps[("submit", "draft", "submitted")] == 7 and steps[("approve", "submitted", "cao_review")] == 1
    assert r[2027]["travel"]["approved"] == 1 and str(r[2027]["travel"]["estimated_cost"]) == "6000.00"
