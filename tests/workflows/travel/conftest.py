"""Travel fixtures: the people of a department, a councillor, the committee and the CAO, and trips
moved through the engine to any state."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

import clock
from extensions import db
from models import Case
from workflows import engine

TODAY = date(2026, 3, 2)


def trip_data(start: date, days: int = 4, **costs) -> dict:
    """Return complete request data for a trip starting on a day."""
    return {
        "event_name": "Metropolis World Congress", "event_organizer": "Metropolis", "event_city": "Sao Paulo",
        "event_country": "Brazil", "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=days)).isoformat(),
        "purpose": "Present Toronto's Healthy City work and meet the Sao Paulo delegation.",
        "role_at_event": "presenter", "funding": "city",
        "estimated_cost": costs or {"registration": "650.00", "transport": "1400.00", "accommodation": "900.00"},
    }


@pytest.fixture(autouse=True)
def frozen_clock(app):
    clock.set(datetime(2026, 3, 2, 15, 0))
    yield
    clock.set(None)


@pytest.fixture
def people(make_user):
    return {
        "sam": make_user("sam", "staff"),
        "dana": make_user("dana", "dept_head"),
        "eli": make_user("eli", "dept_head", department="Economic Development and Culture"),
        "erin": make_user("erin", "staff", department="Economic Development and Culture"),
        "chen": make_user("chen", "councillor", department="City Council"),
        "pat": make_user("pat", "committee", department="City Clerk's Office"),
        "cao": make_user("cao", "cao", department="Chief Administrative Officer"),
    }


APPROVER = {"sam": "dana", "erin": "eli", "chen": "pat"}
# How to reach each state from draft: (trigger, who: "owner" / "approver" / "cao", body)
REPORT = {"summary": "Three sessions on urban health.", "learnings": "Sao Paulo's community health agents.",
          "contacts": [{"name": "Ana Souza", "organization": "Prefeitura de Sao Paulo", "email": "ana@example.org"}],
          "actual_cost": "2875.40"}
PATHS = {
    "draft": [],
    "submitted": [("submit", "owner", {})],
    "approved": [("submit", "owner", {}), ("approve", "approver", {})],
    "declined": [("submit", "owner", {}), ("decline", "approver", {"comment": "No budget left."})],
    "cancelled": [("cancel", "owner", {})],
    "travelled": [("submit", "owner", {}), ("approve", "approver", {}), ("complete_trip", "owner", {})],
    "report_submitted": [("submit", "owner", {}), ("approve", "approver", {}), ("complete_trip", "owner", {}),
                         ("submit_report", "owner", {"payload": REPORT})],
    "closed": [("submit", "owner", {}), ("approve", "approver", {}), ("complete_trip", "owner", {}),
               ("submit_report", "owner", {"payload": REPORT}), ("accept_report", "approver", {})],
}


@pytest.fixture
def make_trip(people):
    """Make a trip of an owner and move it to a state: make_trip("sam", "approved")."""

    def make(owner: str = "sam", state: str = "draft", data: dict | None = None, title: str = "Metropolis 2026"):
        data = data or trip_data(TODAY + timedelta(days=30))
        start = date.fromisoformat(data["start_date"])
        # A trip in the past was requested and approved before it began.
        clock.set(datetime.combine(min(TODAY, start - timedelta(days=20)), datetime.min.time()) + timedelta(hours=15))
        case = engine.create_case(db.session, people[owner], "travel", title, ["leadership"], data)
        for trigger, who, body in PATHS[state]:
            actor = people[owner if who == "owner" else APPROVER[owner] if who == "approver" else who]
            if trigger == "complete_trip":
                clock.set(datetime.fromisoformat(data["start_date"]) + timedelta(hours=15))
            case = engine.fire(db.session, actor, case.id, trigger, case.version, **body)
        clock.set(datetime.combine(TODAY, datetime.min.time()) + timedelta(hours=15))
        return case

    return make


def reported_after_a_recusal(make_trip, people, owner: str, recused: str, decider: str) -> Case:
    """Return a trip of an owner whose approver declared a conflict of interest on it, decided by
    another in their place, taken and reported on: its report waits for sign-off."""
    from workflows.scoring import submit_score

    trip = make_trip(owner, "submitted")
    submit_score(db.session, people[recused], trip.id, {}, conflict="recused")
    trip = engine.fire(db.session, people[decider], trip.id, "approve", db.session.get(Case, trip.id).version)
    clock.set(datetime.fromisoformat(trip.data["start_date"]) + timedelta(hours=15))
    trip = engine.fire(db.session, people[owner], trip.id, "complete_trip", trip.version)
    trip = engine.fire(db.session, people[owner], trip.id, "submit_report", trip.version, payload=REPORT)
    assert trip.state == "report_submitted"
    clock.set(datetime.combine(TODAY, datetime.min.time()) + timedelta(hours=15))
    return trip

