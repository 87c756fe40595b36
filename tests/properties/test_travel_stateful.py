"""Travel under random use: random people fire random steps with random data on a few trips,
and after every step each trip's state, trail, cost routing and deadlines still hold."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from hypothesis import strategies as st

import clock
from models import AuditEvent, Case
from tests.properties.conftest import ODD_MONEY, WorkflowMachine, cents, local_day, run_machine
from workflows.travel.definition import estimated_total
from workflows.travel.schemas import COST_LINES, FUNDING, MAX_CONTACTS, ROLES_AT_EVENT, cost_total

# Longer than the indexed category column (80) yet within the field (120): PostgreSQL must take it.
LONG_ORGANIZER = "Metropolis, World Association of the Major Metropolises: Commission on Healthy Cities"
ORGANIZERS = st.sampled_from(["Metropolis", "IULA", "ICLEI", "WHO", LONG_ORGANIZER])
PLACES = st.sampled_from([("Sao Paulo", "Brazil"), ("Cape Town", "South Africa"), ("Geneva", "Switzerland")])
# Random integers lean small; typical amounts keep both sides of the CAO threshold in play.
LINE_COSTS = st.sampled_from(["0.00", "450.00", "1400.00", "2250.50", "3100.00"]) | cents(0, 300_000)
COSTS = st.fixed_dictionaries({}, optional={line: LINE_COSTS for line in COST_LINES})


@st.composite
def trips(draw, today: date) -> dict:
    """Return the data of a complete trip, starting a little before or well after today."""
    start = today + timedelta(days=draw(st.integers(-1, 14)))
    city, country = draw(PLACES)
    data = {
        "event_name": "World Congress on Healthy Cities", "event_organizer": draw(ORGANIZERS),
        "event_city": city, "event_country": country, "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=draw(st.integers(0, 7)))).isoformat(),
        "purpose": "Present Toronto's Healthy City work and meet the partner delegation.",
        "role_at_event": draw(st.sampled_from(ROLES_AT_EVENT)), "estimated_cost": draw(COSTS),
        "funding": draw(st.sampled_from(FUNDING)),
    }
    if data["funding"] != "city":
        data["sponsor_name"] = "Federation of Canadian Municipalities"
    return data


def partial(data: dict) -> st.SearchStrategy[dict]:
    """Return the data with a few fields left out (a draft)."""
    return st.sets(st.sampled_from(sorted(data)), min_size=1, max_size=4).map(
        lambda gone: {k: v for k, v in data.items() if k not in gone})


def spoiled(data: dict) -> st.SearchStrategy[dict]:
    """Return the data with one field made invalid."""
    faults = st.sampled_from([
        {"end_date": (date.fromisoformat(data["start_date"]) - timedelta(days=1)).isoformat()},
        {"start_date": "2026-02-30"}, {"role_at_event": "tourist"}, {"funding": "lottery"},
        {"event_name": "   "}, {"funding": "shared", "sponsor_name": None}, {"event_city": "x" * 121},
        {"purpose": "nul\x00"}, {"report": {"summary": "x"}},
    ]) | ODD_MONEY.map(lambda odd: {"estimated_cost": {"transport": odd}})
    return faults.map(lambda fault: {**data, **fault})


CONTACTS = st.lists(st.fixed_dictionaries({"name": st.just("Ana Souza"), "organization": st.just("Prefeitura"),
                                           "email": st.sampled_from(["ana@example.org", None])}), max_size=2)
REPORTS = st.fixed_dictionaries({"summary": st.just("Three sessions on urban health."),
                                 "learnings": st.just("Community health agents reach every household."),
                                 "contacts": CONTACTS, "actual_cost": cents(0, 1_500_000)})
BAD_REPORTS = st.one_of(
    REPORTS.map(lambda r: {k: v for k, v in r.items() if k != "learnings"}),
    st.tuples(REPORTS, ODD_MONEY).map(lambda p: {**p[0], "actual_cost": p[1]}),
    REPORTS.map(lambda r: {**r, "contacts": [{"name": "A", "organization": "B"}] * (MAX_CONTACTS + 1)}),
    REPORTS.map(lambda r: {**r, "contacts": [{"name": "A", "organization": "B", "email": "not-mail"}]}),
    REPORTS.map(lambda r: {**r, "summary": " "}),
)


class TravelMachine(WorkflowMachine):
    workflow = "travel"
    # Staff, a head travelling themselves, a councillor, one who sits on the committee; admin may not ask.
    owners = ("staff", "staff", "head", "cllr", "cllr_committee", "admin")

    def case_data(self, valid: bool) -> st.SearchStrategy[dict]:
        trip = trips(clock.today())
        return st.one_of(trip, trip, trip.flatmap(partial)) if valid else trip.flatmap(spoiled)

    def edit_data(self, case: Case, valid: bool) -> st.SearchStrategy:
        trip = trips(clock.today())
        if valid:
            return st.one_of(trip, COSTS.map(lambda c: {"estimated_cost": c}))
        return st.one_of(trip.flatmap(spoiled), st.just({"estimated_cost": {"total": "1.00"}}),
                         st.just({"sponsor_name": None}), st.just({"start_date": None}))

    def good_payload(self, trigger: str, case: Case):
        return REPORTS if trigger == "submit_report" else None

    def bad_payload(self, trigger: str, case: Case):
        return BAD_REPORTS if trigger == "submit_report" else None

    def check_history(self, case: Case, events: list[AuditEvent]) -> None:
        threshold = current_app.config["ACCORD_TRAVEL_CAO_THRESHOLD"]
        data: dict = {}
        for e in events:
            if e.action == "create":
                data = dict(e.payload["data"])
            elif e.action == "edit":
                data.update(e.payload.get("data", {}))
            elif e.action == "submit":
                assert date.fromisoformat(data["end_date"]) >= local_day(e.at), f"case {case.id}: trip was over"
            elif e.action == "approve" and date.fromisoformat(data["end_date"]) < local_day(e.at):
                raise AssertionError(f"case {case.id}: approved after the trip was over")
            elif e.action == "approve" and e.from_state == "submitted":
                # Above the threshold the CAO reviews too, unless the CAO was the approver (a
                # department head's own trip).
                total = cost_total(data.get("estimated_cost"))
                at_once = total <= threshold or "cao" in e.actor_roles
                assert (e.to_state == "approved") == at_once, \
                    f"case {case.id}: {total} went to {e.to_state} without the CAO"
            elif e.action == "complete_trip":
                assert local_day(e.at) >= date.fromisoformat(data["start_date"]), f"case {case.id}: before start"
        # The trail holds every change to the request; the report is the only other thing in the data.
        assert {k: v for k, v in case.data.items() if k != "report"} == data, f"case {case.id}: data off the trail"
        report = case.data.get("report")
        assert (report is not None) == any(e.action == "submit_report" for e in events)
        assert case.amount_paid == (Decimal(report["actual_cost"]) if report else None)
        assert case.amount_requested == estimated_total(case)


def test_travel_keeps_its_rules_under_random_use(app, capsys):
    run_machine(TravelMachine, capsys)
