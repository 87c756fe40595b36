"""Fixtures for the relief workflow: its people, valid request data, and cases in any state."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

import clock
from extensions import db
from models import AuditEvent, Case
from workflows import engine
from workflows.scoring import submit_score

POLICY = "Strategic and Corporate Policy"
#: A full, good rating of every rated relief criterion.
RATINGS = {"unmet_need": 4, "city_capability": 4, "time_critical": 4, "channel_accountability": 4,
           "relationship": 4, "leverage": 3, "recovery": 3}


def relief_data(**changes) -> dict:
    """Return the data of a complete relief request, with some fields changed."""
    data = {
        "requesting_party": "Municipality of Soyapango", "party_type": "municipality",
        "city": "Soyapango", "country": "El Salvador", "disaster_type": "hurricane",
        "disaster_date": (clock.today() - timedelta(days=10)).isoformat(), "affected_population": 120000,
        "assistance_types": ["financial", "technical"], "amount_requested": "40000.00",
        "channel": "Canadian Red Cross appeal", "description": "Flooding and landslides after the hurricane.",
        "contact": {"name": "Ana Martinez", "email": "ana.martinez@soyapango.example"},
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def snapshot(case_id: int) -> tuple:
    """Return what a refused request must leave unchanged."""
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    events = db.session.scalar(select(func.count()).where(AuditEvent.case_id == case_id))
    return case.state, case.version, dict(case.data), events, case.assignee_id, case.last_event_hash


def fire(client, case_id, trigger, version, **body):
    """Post a transition through the API."""
    return client.post(f"/api/v1/cases/{case_id}/transitions", json={"trigger": trigger, "version": version, **body})


@pytest.fixture
def people(make_user):
    return {
        "owner": make_user("sam", "staff", full_name="Sam Okafor"),
        "cllr": make_user("chen", "councillor", department="City Council"),
        "hco": make_user("hana", "hco", department=POLICY, full_name="Hana Lindqvist"),
        "hco2": make_user("omar", "hco", department=POLICY),
        "cao": make_user("morgan", "cao", department="Chief Administrative Officer"),
        "council": make_user("jordan", "council", department="City Clerk's Office"),
        "finance": make_user("ravi", "finance", department="Finance"),
        "stranger": make_user("erin", "staff", department="Economic Development and Culture"),
        "both": make_user("kim", "hco", "cao", department=POLICY),
    }


#: The steps that bring a new request to each state: (who, trigger, comment, payload).
def _steps(amount: str) -> dict[str, list]:
    submitted = [("owner", "submit", None, None)]
    triage = submitted + [("hco", "start_triage", None, None)]
    proposal = {"recommendation": "approve", "amount_granted": amount}
    recommended = triage + [("hco", "score", None, None), ("hco", "recommend", "Strong case.", proposal)]
    approved = recommended + [("cao", "approve", None, None)]
    disbursed = approved + [("finance", "disburse", None, {"amount_paid": amount, "paid_on": clock.today().isoformat(),
                                                          "payment_reference": "EFT-2026-0147"})]
    return {
        "draft": [], "submitted": submitted, "in_triage": triage,
        "scored": triage + [("hco", "score", None, None)],
        "info_requested": triage + [("hco", "request_info", "Please give the delivering agency.", None)],
        "recommended": recommended, "council_review": recommended + [("cao", "approve", None, None)],
        "approved": approved, "disbursed": disbursed,
        "closed": disbursed + [("hco", "close", None, {"outcome": "Water systems restored in three districts."})],
        "declined": triage + [("hco", "decline", "Screened out: no delivering channel.", None)],
        "withdrawn": [("owner", "withdraw", None, None)],
    }


@pytest.fixture
def make_case(people):
    """Bring a new relief request to a state: make_case("recommended", amount="30000.00")."""

    def make(state: str, amount: str | None = None, **data_changes) -> Case:
        amount = amount or ("30000.00" if state == "council_review" else "20000.00")
        case = engine.create_case(db.session, people["owner"], "relief", "Hurricane relief for Soyapango",
                                  ["compassion"], relief_data(**data_changes))
        for who, trigger, comment, payload in _steps(amount)[state]:
            if trigger == "score":
                submit_score(db.session, people[who], case.id, RATINGS)
                continue
            case = engine.fire(db.session, people[who], case.id, trigger, case.version, comment=comment,
                               payload=payload)
        return db.session.get(Case, case.id)

    return make
