"""Demo partnership proposals in every state, drawn from the framework's inventory (§6.1.2):
revivals of completed partnerships, a new one with Cape Town, and the prospective Botswana.
Sao Paulo is left dormant for a newcomer to revive."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

import clock
from models import Partnership, User
from workflows import engine
from demo import play, seed_missing

STRONG = {"strategic_alignment": 4, "exchange_content": 4, "community_support": 4, "partner_capacity": 4,
          "work_plan": 3, "cost_reasonableness": 4}
FAIR = {"strategic_alignment": 3, "exchange_content": 3, "community_support": 2, "partner_capacity": 3,
        "work_plan": 2, "cost_reasonableness": 3}

SUBMIT = [("owner", "submit", None, None)]
REVIEW = SUBMIT + [("hana.hco", "start_review", None, None)]


def _scored(ratings: dict, note: str | None) -> list:
    return REVIEW + [("hana.hco", "score", ratings, None), ("hana.hco", "recommend", note, None)]


def _decision(ref: str, motion: str, votes: tuple[int, int] | None = None, interests=()) -> dict:
    decision = {"meeting_reference": ref, "motion": motion}
    if votes:
        decision.update(votes_for=votes[0], votes_against=votes[1])
    if interests:
        decision["interests_declared"] = list(interests)
    return decision


def _proposal(kind: str, entry: Partnership | None, sponsor: str, secured: bool, sponsor_amount: str | None,
              city: str, focus: list[str], department: str, months: int, rationale: str, outcomes: str,
              partner: tuple[str, str] | None = None) -> dict:
    data = {"proposal_type": kind, "sponsor_organization": sponsor, "sponsor_funding_secured": secured,
            "sponsor_amount": sponsor_amount, "city_contribution": city, "focus_areas": focus,
            "lead_department": department, "duration_months": months, "rationale": rationale,
            "expected_outcomes": outcomes}
    if entry is not None:
        data.update(partnership_id=entry.id, partner_city=entry.city, partner_country=entry.country)
    if partner:
        data.update(partner_city=partner[0], partner_country=partner[1])
    return data


def _cases(inv: dict[str, Partnership]) -> list[dict]:
    """Return the demo proposals: owner, title, goals, age in days, data, and the steps taken."""
    return [
        {"owner": "cllr.rossi", "title": "Revive the Vilnius municipal management exchange", "age": 3,
         "goals": ["leadership"], "steps": [],
         "data": {"proposal_type": "revival", "partnership_id": inv["Vilnius"].id, "partner_city": "Vilnius",
                  "partner_country": "Lithuania", "focus_areas": ["Tourism development strategy"]}},
        {"owner": "cllr.chen", "title": "Revive the Nanjing municipal management exchange", "age": 6,
         "goals": ["economy", "leadership"], "steps": SUBMIT,
         "data": _proposal("revival", inv["Nanjing"], "FCM", False, "60000.00", "20000.00",
                           ["Municipal management", "Transit planning"], "Transportation Services", 36,
                           "Scarborough's 1996 exchange built lasting ties; Nanjing's planners ask to resume it "
                           "on transit.", "A joint transit study and four staff placements.")},
        {"owner": "cllr.rossi", "title": "Revive the Lima emergency services partnership", "age": 12,
         "goals": ["compassion"], "steps": REVIEW,
         "data": _proposal("revival", inv["Lima"], "CIDA", True, "80000.00", "10000.00",
                           ["Emergency services", "Paramedic training"], "Toronto Paramedic Services", 24,
                           "Lima's fire and ambulance services ask to renew the 1990 exchange.",
                           "A paramedic training programme for 40 Lima responders.")},
        {"owner": "cllr.chen", "title": "Revive the Istanbul waste and landfill exchange", "age": 20,
         "goals": ["research"],
         "steps": REVIEW + [("hana.hco", "request_revision", "Please name the Toronto community partners and "
                                                             "add first-year milestones.", None)],
         "data": _proposal("revival", inv["Istanbul"], "FCM", False, None, "25000.00",
                           ["Waste disposal", "Landfill gas"], "Solid Waste Management Services", 24,
                           "Istanbul's landfill gas work matches Toronto's own.", "Shared landfill gas data.")},
        {"owner": "cllr.rossi", "title": "A new partnership with Cape Town on governance and housing", "age": 30,
         "goals": ["democracy", "human_rights"], "steps": _scored(STRONG, "Strong proposal; FCM funding secured."),
         "data": _proposal("new", None, "FCM", True, "120000.00", "30000.00",
                           ["Governance models", "Affordable housing", "Community participation"],
                           "Social Development, Finance and Administration", 36,
                           "The 1995 exchange on governance models is complete; Cape Town asks for a new one on "
                           "housing, with the South African community of Toronto.",
                           "Two study tours, a housing policy exchange and a joint report to both councils.",
                           partner=("Cape Town", "South Africa"))},
        {"owner": "cllr.chen", "title": "Revive the Medellin exchange on urban drug strategies", "age": 45,
         "goals": ["compassion", "research"],
         "steps": _scored(FAIR, None) + [("pat.committee", "defer", "Deferred until CIDA confirms its funding.",
                                          _decision("2026.PF11.7", "That the Committee defer the proposal until "
                                                    "CIDA confirms its funding.", (6, 2)))],
         "data": _proposal("revival", inv["Medellin"], "CIDA", False, "50000.00", "15000.00",
                           ["Drug strategy", "Public health"], "Toronto Public Health", 24,
                           "Medellin hosted the 1997 summit on large cities' drug plans; Toronto's drug strategy "
                           "would gain from a renewed exchange.", "A shared evaluation of both drug strategies.")},
        {"owner": "cllr.rossi", "title": "Revive the Tallinn strategic planning exchange", "age": 60,
         "goals": ["leadership", "economy"],
         "steps": _scored(STRONG, None) + [("pat.committee", "approve", None,
                                            _decision("2026.PF12.4", "That the Committee recommend that Council "
                                                      "revive the partnership with Tallinn.", (8, 0)))],
         "data": _proposal("revival", inv["Tallinn"], "CUI", True, "40000.00", "12000.00",
                           ["Strategic planning", "Tourism development"], "Economic Development and Culture", 24,
                           "The Canadian Baltic programme ended in 1999; Tallinn asks to resume the tourism work.",
                           "A tourism strategy exchange and a trade mission.")},
        {"owner": "cllr.chen", "title": "A new partnership with Botswana on public health", "age": 90,
         "goals": ["compassion", "human_rights"],
         "steps": _scored(STRONG, "Recommended: long dialogue, secured FCM funding.") + [
             ("pat.committee", "approve", None, _decision("2026.PF10.3", "That the Committee recommend that Council "
                                                          "establish a partnership with Botswana.", (7, 1),
                                                          ["Councillor Marco Rossi"])),
             ("clerk.council", "approve", None, _decision("2026.CC10.12", "That Council establish a technical "
                                                          "exchange partnership with Botswana.", (38, 4)))],
         "data": _proposal("new", inv["Botswana"], "FCM", True, "150000.00", "20000.00",
                           ["Public health", "HIV/AIDS prevention"], "Toronto Public Health", 36,
                           "The City has been in dialogue with Botswana since the framework of 2002.",
                           "A public health exchange and a joint HIV/AIDS prevention programme.")},
        {"owner": "cllr.rossi", "title": "Revive the Middlesex ambulance services exchange", "age": 75,
         "goals": ["research"],
         "steps": _scored(FAIR, None) + [
             ("pat.committee", "approve", None, _decision("2026.PF09.2", "That the Committee refer the proposal "
                                                          "to Council without recommendation.", (5, 4))),
             ("clerk.council", "decline", "Council declined: no sponsor funding and a cost above the benefit.",
              _decision("2026.CC09.8", "That Council decline the revival of the Middlesex exchange.", (12, 30)))],
         "data": _proposal("revival", inv["Middlesex"], "none", False, None, "45000.00",
                           ["Ambulance services"], "Toronto Paramedic Services", 12,
                           "Middlesex's ambulance service asks to compare dispatch models.", "A dispatch review.")},
        {"owner": "cllr.chen", "title": "Revive the State of Mexico infrastructure exchange", "age": 15,
         "goals": ["economy"], "steps": SUBMIT + [("owner", "withdraw", None, None)],
         "data": _proposal("revival", inv["The State of Mexico"], "Metropolis", False, None, "10000.00",
                           ["Infrastructure financing"], "Corporate Finance", 24,
                           "Metropolis offers support for an infrastructure financing exchange.",
                           "A financing handbook.")},
    ]


def _run(session: Session, people: dict[str, User], spec: dict, now: datetime) -> None:
    clock.set(now - timedelta(days=spec["age"]))
    owner = people[spec["owner"]]
    case = engine.create_case(session, owner, "partnership", spec["title"], spec["goals"], spec["data"])
    play(session, people, owner, case, spec["steps"], {"days": 2})


def seed(session: Session, people: dict[str, User]) -> int:
    """Add the demo partnership proposals that are missing; return how many were added."""
    inv = {p.city: p for p in session.scalars(select(Partnership))}
    return seed_missing(session, "partnership", _cases(inv),
                        lambda session, spec, now: _run(session, people, spec, now))
