"""Fixtures for the partnership workflow: its people, valid proposals, and cases driven
through the engine to any state."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Case, Partnership
from workflows import engine
from workflows.scoring import submit_score

RATINGS = {"strategic_alignment": 4, "exchange_content": 4, "community_support": 3, "partner_capacity": 4,
           "work_plan": 3, "cost_reasonableness": 4}
DECISION = {"meeting_reference": "2026.PF13.5", "motion": "That Council revive the partnership.",
            "votes_for": 7, "votes_against": 1, "interests_declared": ["Councillor Ana Bailão"]}


@pytest.fixture
def people(make_user):
    return {
        "chen": make_user("cllr.chen", "councillor", department="City Council"),
        "rossi": make_user("cllr.rossi", "councillor", department="City Council"),
        "hana": make_user("hana.hco", "hco", department="Strategic and Corporate Policy"),
        "omar": make_user("omar.hco", "hco", department="Strategic and Corporate Policy"),
        "pat": make_user("pat.committee", "committee", department="City Clerk's Office"),
        "jordan": make_user("clerk.council", "council", department="City Clerk's Office"),
        "cao": make_user("cao.office", "cao", department="Chief Administrative Officer"),
        "ada": make_user("ada.admin", "admin", department="Information and Technology"),
    }


def entry(city: str) -> Partnership:
    """Return the inventory entry of a city: the first made, when a test has added another (the
    framework's, since PostgreSQL returns rows in no set order)."""
    return db.session.scalar(select(Partnership).where(Partnership.city == city).order_by(Partnership.id))


def revival(city: str = "Sao Paulo", **over) -> dict:
    """Return complete data for a revival of an inventory entry."""
    p = entry(city)
    return {"proposal_type": "revival", "partnership_id": p.id, "partner_city": p.city,
            "partner_country": p.country, "sponsor_organization": "FCM", "sponsor_funding_secured": True,
            "sponsor_amount": "45000.00", "city_contribution": "15000.00",
            "focus_areas": ["Waste management", "Healthy City approach"], "lead_department": "Solid Waste Management",
            "duration_months": 24, "rationale": "Both cities ask to renew the exchange on waste and health.",
            "expected_outcomes": "A joint landfill-gas study and two staff exchanges a year.", **over}


def new(city: str = "Durban", country: str = "South Africa", **over) -> dict:
    """Return complete data for a new partnership."""
    data = {k: v for k, v in revival().items() if k != "partnership_id"}
    data.update(proposal_type="new", partner_city=city, partner_country=country)
    return {**data, **over}


# The steps that take a case from draft to each state: (trigger, actor key, comment, payload).
PATHS = {
    "draft": [],
    "submitted": [("submit", "owner", None, None)],
    "under_review": [("submit", "owner", None, None), ("start_review", "hana", None, None)],
}
PATHS["revision_requested"] = PATHS["under_review"] + [("request_revision", "hana", "Add a work plan.", None)]
PATHS["committee_review"] = PATHS["under_review"] + [("score", "hana", None, None), ("recommend", "hana", None, None)]
PATHS["deferred"] = PATHS["committee_review"] + [("defer", "pat", "Await the FCM decision.", DECISION)]
PATHS["council_review"] = PATHS["committee_review"] + [("approve", "pat", None, DECISION)]
PATHS["adopted"] = PATHS["council_review"] + [("approve", "jordan", None, {"meeting_reference": "2026.CC14.2"})]
PATHS["declined"] = PATHS["committee_review"] + [("decline", "pat", "Not a priority this term.", None)]
PATHS["withdrawn"] = [("withdraw", "owner", None, None)]


@pytest.fixture
def make_case(people):
    """Drive a case through the engine to a state: make_case("deferred", data=new())."""

    def make(state: str, data: dict | None = None, owner: str = "chen", title: str = "Revive Sao Paulo") -> Case:
        case = engine.create_case(db.session, people[owner], "partnership", title, ["research", "democracy"],
                                  revival() if data is None else data)
        for trigger, who, comment, payload in PATHS[state]:
            actor = people[owner if who == "owner" else who]
            if trigger == "score":
                submit_score(db.session, actor, case.id, RATINGS)
                continue
            case = engine.fire(db.session, actor, case.id, trigger, case.version, comment=comment, payload=payload)
        assert case.state == state
        return case

    return make


def snapshot(case_id: int) -> tuple:
    """Return what a refused request must leave unchanged, the inventory included."""
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    inventory = tuple(db.session.execute(select(Partnership.id, Partnership.status).order_by(Partnership.id)))
    return case.state, case.version, dict(case.data), case.assignee_id, events, case.last_event_hash, inventory


def fire(client, case_id: int, trigger: str, version: int, **body):
    """Post a transition through the API."""
    return client.post(f"/api/v1/cases/{case_id}/transitions",
                       json={"trigger": trigger, "version": version, **body})


@pytest.fixture
def browser_of(browse):
    """Return a web client signed in as a user: browser_of(user)."""
    return browse
