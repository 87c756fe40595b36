"""A known year of activity, 2025, built through the engine with the clock set for every event.

Some events straddle New Year in the City's time zone: a travel request submitted at 22:00 on
31 December 2024 (03:00 UTC on 1 January 2025) belongs to 2024; one submitted at 23:30 on
31 December 2025 (04:30 UTC in 2026) belongs to 2025. The test module holds the expected figures,
counted by hand from the timeline below.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

import clock
from extensions import db
from models import Case, Partnership
from workflows import engine
from workflows.scoring import submit_score

TORONTO = ZoneInfo("America/Toronto")
RELIEF_RATINGS = {"unmet_need": 4, "city_capability": 4, "time_critical": 4, "channel_accountability": 4,
                  "relationship": 4, "leverage": 3, "recovery": 3}
PARTNERSHIP_RATINGS = {"strategic_alignment": 4, "exchange_content": 4, "community_support": 3,
                       "partner_capacity": 4, "work_plan": 3, "cost_reasonableness": 4}


def local(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    """Return a moment in Toronto time."""
    return datetime(y, m, d, hh, mm, tzinfo=TORONTO)


def trip(organizer: str, start: date, days: int, costs: dict) -> dict:
    """Return complete travel request data."""
    return {"event_name": f"{organizer} congress {start.year}", "event_organizer": organizer,
            "event_city": "Sao Paulo", "event_country": "Brazil", "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=days)).isoformat(), "purpose": "Share Toronto's Healthy City work.",
            "role_at_event": "presenter", "funding": "city", "estimated_cost": costs}


def report(learnings: str, actual: str) -> dict:
    """Return a post-trip report."""
    return {"summary": "Sessions on urban health.", "learnings": learnings, "actual_cost": actual,
            "contacts": [{"name": "Ana Souza", "organization": "Prefeitura", "email": "ana@example.org"}]}


def relief(country: str, disaster: str, amount: str, disaster_date: date) -> dict:
    """Return complete relief request data."""
    return {"requesting_party": f"Municipality in {country}", "party_type": "municipality", "city": "Capital",
            "country": country, "disaster_type": disaster, "disaster_date": disaster_date.isoformat(),
            "affected_population": 50000, "assistance_types": ["financial"], "amount_requested": amount,
            "channel": "Canadian Red Cross appeal", "description": "Emergency relief.",
            "contact": {"name": "Ana Martinez", "email": "ana@example.org"}}


def proposal(kind: str, city: str, country: str, partnership_id: int | None = None) -> dict:
    """Return complete partnership proposal data."""
    data = {"proposal_type": kind, "partner_city": city, "partner_country": country,
            "sponsor_organization": "FCM", "sponsor_funding_secured": True, "sponsor_amount": "45000.00",
            "city_contribution": "15000.00", "focus_areas": ["Waste management"],
            "lead_department": "Solid Waste Management", "duration_months": 24,
            "rationale": "Both cities ask for the exchange.", "expected_outcomes": "Two staff exchanges a year."}
    if partnership_id:
        data["partnership_id"] = partnership_id
    return data


@dataclass
class Scenario:
    """The people, the cases and the timeline of state changes (for cycle times)."""

    people: dict
    cases: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)  # (workflow, trigger, from, to, utc moment, seconds in from-state)
    entered: dict = field(default_factory=dict)

    def create(self, key: str, who: str, workflow: str, goals: list[str], data: dict, when: datetime) -> None:
        clock.set(when)
        case = engine.create_case(db.session, self.people[who], workflow, f"{workflow} {key}", goals, data)
        self.cases[key], self.entered[key] = case.id, when

    def fire(self, key: str, who: str, trigger: str, when: datetime, comment: str | None = None,
             payload: dict | None = None) -> None:
        clock.set(when)
        case = db.session.get(Case, self.cases[key])
        before, version = case.state, case.version
        case = engine.fire(db.session, self.people[who], case.id, trigger, version, comment=comment, payload=payload)
        # In UTC: between two Toronto times Python would ignore a change of daylight saving time.
        seconds = (when.astimezone(timezone.utc) - self.entered[key].astimezone(timezone.utc)).total_seconds()
        self.steps.append((case.workflow, trigger, before, case.state, when.astimezone(timezone.utc), seconds))
        self.entered[key] = when

    def score(self, key: str, who: str, ratings: dict, when: datetime) -> None:
        clock.set(when)
        submit_score(db.session, self.people[who], self.cases[key], ratings)


def build(make_user) -> Scenario:
    """Build the year of activity; the clock is left at 1 February 2026, 12:00 in Toronto."""
    people = {
        "sam": make_user("sam", "staff", full_name="Sam Okafor"),
        "dana": make_user("dana", "dept_head", full_name="Dana Reyes"),
        "erin": make_user("erin", "staff", department="Economic Development and Culture"),
        "eli": make_user("eli", "dept_head", department="Economic Development and Culture"),
        "chen": make_user("chen", "councillor", department="City Council"),
        "pat": make_user("pat", "committee", department="City Clerk's Office"),
        "cara": make_user("cara", "cao", department="Chief Administrative Officer"),
        "hana": make_user("hana", "hco", department="Strategic and Corporate Policy"),
        "ravi": make_user("ravi", "finance", department="Finance"),
        "jordan": make_user("jordan", "council", department="City Clerk's Office"),
    }
    s = Scenario(people)
    _travel(s)
    _relief(s)
    _partnerships(s)
    clock.set(local(2026, 2, 1))
    return s


def _travel(s: Scenario) -> None:
    # T1: submitted on New Year's Eve 2024 (local), approved, reported on its due day at 23:30 (on time).
    s.create("T1", "sam", "travel", ["leadership", "research"],
             trip("Metropolis", date(2025, 2, 10), 4, {"registration": "650.00", "transport": "1400.00",
                                                       "accommodation": "900.00"}), local(2024, 12, 31, 21))
    s.fire("T1", "sam", "submit", local(2024, 12, 31, 22))
    s.fire("T1", "dana", "approve", local(2025, 1, 6, 10))
    s.fire("T1", "sam", "complete_trip", local(2025, 2, 10, 9))
    s.fire("T1", "sam", "submit_report", local(2025, 3, 16, 23, 30),
           payload=report("Community health agents reach every household.", "2875.40"))
    s.fire("T1", "dana", "accept_report", local(2025, 3, 18, 9))
    # T2: above the CAO threshold; reported late, returned, filed again with a new actual cost.
    s.create("T2", "erin", "travel", ["economy"],
             trip("ICLEI", date(2025, 5, 20), 3, {"transport": "3200.00", "accommodation": "3000.00"}),
             local(2025, 3, 3, 8))
    s.fire("T2", "erin", "submit", local(2025, 3, 3, 9))
    s.fire("T2", "eli", "approve", local(2025, 3, 4, 9))
    s.fire("T2", "cara", "approve", local(2025, 3, 6, 9))
    s.fire("T2", "erin", "complete_trip", local(2025, 5, 20, 9))
    s.fire("T2", "erin", "submit_report", local(2025, 6, 25, 9),
           payload=report("Green bonds finance retrofits.", "6400.00"))
    s.fire("T2", "eli", "return_report", local(2025, 6, 27, 9), comment="Attach the receipts.")
    s.fire("T2", "erin", "submit_report", local(2025, 6, 30, 9),
           payload=report("Green bonds finance retrofits.", "6350.00"))
    s.fire("T2", "eli", "accept_report", local(2025, 7, 2, 9))
    # T3: a councillor's trip whose report is never filed: overdue at year end.
    s.create("T3", "chen", "travel", ["democracy"],
             trip("Metropolis", date(2025, 10, 1), 4, {"registration": "1000.00", "transport": "2000.00"}),
             local(2025, 9, 1, 8))
    s.fire("T3", "chen", "submit", local(2025, 9, 1, 9))
    s.fire("T3", "pat", "approve", local(2025, 9, 2, 9))
    s.fire("T3", "chen", "complete_trip", local(2025, 10, 1, 9))
    # T4: declined.
    s.create("T4", "sam", "travel", ["compassion"],
             trip("WHO", date(2025, 6, 1), 2, {"registration": "1200.00"}), local(2025, 4, 1, 8))
    s.fire("T4", "sam", "submit", local(2025, 4, 1, 9))
    s.fire("T4", "dana", "decline", local(2025, 4, 3, 9), comment="No budget left.")
    # T5: submitted at 23:30 on 31 December 2025 (2026 in UTC), approved in 2026.
    s.create("T5", "sam", "travel", ["research"],
             trip("WHO", date(2026, 3, 1), 2, {"registration": "2000.00"}), local(2025, 12, 31, 23))
    s.fire("T5", "sam", "submit", local(2025, 12, 31, 23, 30))
    s.fire("T5", "dana", "approve", local(2026, 1, 5, 9))
    # T6: travelled in December; its report is due in 2026, so not overdue at year end.
    s.create("T6", "erin", "travel", ["economy", "culture"],
             trip("WHO", date(2025, 12, 15), 3, {"transport": "1500.00"}), local(2025, 11, 1, 8))
    s.fire("T6", "erin", "submit", local(2025, 11, 1, 9))
    s.fire("T6", "eli", "approve", local(2025, 11, 3, 9))
    s.fire("T6", "erin", "complete_trip", local(2025, 12, 15, 9))


def relief_path(s: Scenario, key: str, day: datetime, granted: str) -> None:
    s.fire(key, "sam", "submit", day)
    s.fire(key, "hana", "start_triage", day + timedelta(days=1))
    s.score(key, "hana", RELIEF_RATINGS, day + timedelta(days=1, hours=2))
    s.fire(key, "hana", "recommend", day + timedelta(days=2), comment="Strong case.",
           payload={"recommendation": "approve", "amount_granted": granted})


def _relief(s: Scenario) -> None:
    s.create("R1", "sam", "relief", ["compassion"], relief("El Salvador", "hurricane", "40000.00", date(2025, 1, 20)),
             local(2025, 2, 3, 9))
    relief_path(s, "R1", local(2025, 2, 3, 10), "20000.00")
    s.fire("R1", "cara", "approve", local(2025, 2, 8, 10))
    s.fire("R1", "ravi", "disburse", local(2025, 2, 20, 10),
           payload={"amount_paid": "20000.00", "paid_on": "2025-02-20", "payment_reference": "EFT-1"})
    s.fire("R1", "hana", "close", local(2025, 3, 1, 10), payload={"outcome": "Shelters rebuilt."})
    # R2: above the CAO's limit: endorsed by the CAO, approved by Council with a revised amount.
    s.create("R2", "sam", "relief", ["compassion", "human_rights"],
             relief("Turkey", "earthquake", "60000.00", date(2025, 5, 20)), local(2025, 6, 2, 8))
    relief_path(s, "R2", local(2025, 6, 2, 9), "50000.00")
    s.fire("R2", "cara", "approve", local(2025, 6, 6, 9))
    s.fire("R2", "jordan", "approve", local(2025, 6, 16, 9), payload={"amount_granted": "45000.00"})
    s.fire("R2", "ravi", "disburse", local(2025, 6, 30, 9),
           payload={"amount_paid": "45000.00", "paid_on": "2025-06-30", "payment_reference": "EFT-2"})
    # R3: screened out in triage.
    s.create("R3", "sam", "relief", ["compassion"], relief("Pakistan", "flood", "10000.00", date(2025, 9, 1)),
             local(2025, 9, 10, 8))
    s.fire("R3", "sam", "submit", local(2025, 9, 10, 9))
    s.fire("R3", "hana", "start_triage", local(2025, 9, 11, 9))
    s.fire("R3", "hana", "decline", local(2025, 9, 12, 9), comment="No delivering channel.")
    # R4: submitted at 20:00 on New Year's Eve (2026 in UTC), never triaged.
    s.create("R4", "sam", "relief", ["compassion"], relief("El Salvador", "drought", "5000.00", date(2025, 12, 1)),
             local(2025, 12, 31, 19))
    s.fire("R4", "sam", "submit", local(2025, 12, 31, 20))
    # R5: approved in December, paid in January 2026.
    s.create("R5", "sam", "relief", ["compassion"], relief("Philippines", "hurricane", "8000.00", date(2025, 11, 20)),
             local(2025, 12, 1, 8))
    relief_path(s, "R5", local(2025, 12, 1, 9), "8000.00")
    s.fire("R5", "cara", "approve", local(2025, 12, 4, 9))
    s.fire("R5", "ravi", "disburse", local(2026, 1, 5, 9),
           payload={"amount_paid": "8000.00", "paid_on": "2026-01-05", "payment_reference": "EFT-3"})


def proposal_to_committee(s: Scenario, key: str, day: datetime) -> None:
    s.fire(key, "chen", "submit", day)
    s.fire(key, "hana", "start_review", day + timedelta(days=1))
    s.score(key, "hana", PARTNERSHIP_RATINGS, day + timedelta(days=1, hours=2))
    s.fire(key, "hana", "recommend", day + timedelta(days=5))


def _partnerships(s: Scenario) -> None:
    sao_paulo = db.session.scalar(select(Partnership).where(Partnership.city == "Sao Paulo"))
    s.create("P1", "chen", "partnership", ["research", "democracy"],
             proposal("revival", "Sao Paulo", "Brazil", sao_paulo.id), local(2025, 1, 15, 8))
    proposal_to_committee(s, "P1", local(2025, 1, 15, 9))
    s.fire("P1", "pat", "approve", local(2025, 2, 10, 9))
    s.fire("P1", "jordan", "approve", local(2025, 3, 5, 9))
    s.create("P2", "chen", "partnership", ["democracy"], proposal("new", "Durban", "South Africa"), local(2025, 4, 1, 8))
    proposal_to_committee(s, "P2", local(2025, 4, 1, 9))
    s.fire("P2", "pat", "decline", local(2025, 5, 1, 9), comment="Not a priority this term.")
    s.create("P3", "chen", "partnership", ["democracy"], proposal("new", "Lagos", "Nigeria"), local(2025, 6, 1, 8))
    s.fire("P3", "chen", "submit", local(2025, 6, 1, 9))
    s.fire("P3", "chen", "withdraw", local(2025, 6, 10, 9))
    s.create("P4", "chen", "partnership", ["democracy"], proposal("new", "Curitiba", "Brazil"), local(2025, 10, 1, 8))
    proposal_to_committee(s, "P4", local(2025, 10, 1, 9))
    s.fire("P4", "pat", "defer", local(2025, 11, 1, 9), comment="Await the FCM decision.")
    # P5: referred to Council in 2025, adopted in 2026 (its inventory entry is created then).
    s.create("P5", "chen", "partnership", ["democracy"], proposal("new", "Porto Alegre", "Brazil"),
             local(2025, 11, 10, 8))
    proposal_to_committee(s, "P5", local(2025, 11, 10, 9))
    s.fire("P5", "pat", "approve", local(2025, 12, 1, 9))
    s.fire("P5", "jordan", "approve", local(2026, 1, 20, 9))
