"""Demo travel requests in every state, built through the engine with the clock moved back."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

import clock
from models import User
from workflows import engine
from workflows.scoring import submit_score
from workflows.travel.definition import NAME


def _trip(event, organizer, city, country, start, days, role, purpose, costs, funding="city", sponsor=None):
    return {"event_name": event, "event_organizer": organizer, "event_city": city, "event_country": country,
            "start": start, "days": days, "role_at_event": role, "purpose": purpose, "funding": funding,
            "sponsor_name": sponsor, "estimated_cost": dict(zip(
                ("registration", "transport", "accommodation", "per_diem", "other"), costs))}


REPORT_BERLIN = {
    "summary": "Board meeting of Metropolis: the 2027 work plan, the Commission on Urban Poverty and the "
               "membership dues review. Toronto was confirmed on the board for a further term.",
    "learnings": "Berlin's district partnership model could frame our dormant Sao Paulo exchange; the "
                 "Commission wants a North American city to co-chair the housing stream.",
    "contacts": [{"name": "Katrin Vogel", "organization": "Senatskanzlei Berlin", "email": "k.vogel@example.de"},
                 {"name": "Joan Puig", "organization": "Metropolis Secretariat", "email": "jpuig@example.org"}],
    "actual_cost": "4385.20"}
REPORT_CAPE_TOWN = {
    "summary": "Technical exchange on TB screening in informal settlements with the City of Cape Town's "
               "health directorate, under the FCM municipal partnership programme.",
    "learnings": "Mobile screening with community health workers reached three times as many people as "
                 "clinic-based screening; worth piloting in our shelter outreach.",
    "contacts": [{"name": "Nomvula Dlamini", "organization": "City of Cape Town", "email": "n.dlamini@example.za"}],
    "actual_cost": "3918.75"}

# title, owner, goals, data (dates as days from today), steps: (days from today, trigger, actor, extra)
TRIPS = [
    ("ICLEI World Congress 2027", "sam.staff", ["research", "economy"],  # an early, incomplete draft
     _trip("ICLEI World Congress", "ICLEI", "Cape Town", "South Africa", 120, 4, "attendee", None, (None,) * 5),
     [(-2, "create", None, {})]),
    ("WHO Healthy Cities Conference", "sam.staff", ["compassion", "research"],
     _trip("International Healthy Cities Conference", "WHO", "Copenhagen", "Denmark", 60, 3, "presenter",
           "Present Toronto's community health worker model; Toronto hosted the conference that began the "
           "Healthy Cities movement.", ("850.00", "1450.00", "720.00", "380.00", None)),
     [(-10, "create", None, {}), (-9, "submit", "sam.staff", {})]),
    ("Metropolis World Congress", "cllr.chen", ["leadership", "democracy", "economy"],
     _trip("Metropolis World Congress", "Metropolis", "Sao Paulo", "Brazil", 75, 5, "delegation_lead",
           "Lead Toronto's delegation, report on the Commission on Urban Poverty and discuss reviving the "
           "dormant technical exchange with Sao Paulo.", ("1100.00", "2650.00", "1900.00", "620.00", "150.00")),
     [(-20, "create", None, {}), (-19, "submit", "cllr.chen", {}),
      (-13, "score", "pat.committee", {"relevance": 5, "expected_value": 4, "knowledge_sharing": 4}),
      (-12, "approve", "pat.committee", {"comment": "Recommended by the Policy and Finance Committee."})]),
    ("IULA World Congress", "erin.staff", ["democracy", "leadership"],
     _trip("IULA World Congress", "IULA", "Rio de Janeiro", "Brazil", 40, 4, "panelist",
           "Panel on the World Charter of Local Self-Government; Toronto endorsed the Barcelona Declaration.",
           ("700.00", "1800.00", "1250.00", "450.00", None), "shared", "Federation of Canadian Municipalities"),
     [(-50, "create", None, {}), (-49, "submit", "erin.staff", {}), (-45, "approve", "eli.head", {})]),
    ("Metropolis Forum on Urban Poverty Reduction", "erin.staff", ["compassion", "economy"],
     _trip("Public Policy Forum on Urban Poverty Reduction", "Metropolis", "Montreal", "Canada", 30, 2,
           "attendee", "Hear how member cities measure poverty reduction.", ("400.00", "350.00", "500.00",
                                                                               "160.00", None)),
     [(-35, "create", None, {}), (-34, "submit", "erin.staff", {}),
      (-30, "decline", "eli.head", {"comment": "The division's conference budget is spent this year; a colleague "
                                               "presented at the last forum. Please propose it next year."})]),
    ("ICLEI Cities for Climate Protection Workshop", "sam.staff", ["research"],
     _trip("Cities for Climate Protection Workshop", "ICLEI", "Bonn", "Germany", 25, 2, "attendee",
           "Air quality and heat-health measures for the Healthy City strategy.",
           ("300.00", "1350.00", "480.00", "240.00", None)),
     [(-45, "create", None, {}), (-44, "submit", "sam.staff", {}), (-40, "approve", "dana.head", {}),
      (-20, "cancel", "sam.staff", {"comment": "The workshop moved online."})]),
    ("FCM partnership mission to Soyapango", "erin.staff", ["compassion", "economy"],
     _trip("Municipal partnership mission", "FCM", "Soyapango", "El Salvador", -75, 5, "delegation_lead",
           "Plan the next year of the Soyapango partnership: local economic development and solid waste.",
           (None, "1650.00", "900.00", "450.00", "200.00"), "sponsor", "FCM Municipal Partnership Program"),
     [(-120, "create", None, {}), (-119, "submit", "erin.staff", {}), (-115, "approve", "eli.head", {}),
      (-75, "complete_trip", "erin.staff", {})]),
    ("Metropolis Board of Directors, Berlin", "cllr.chen", ["leadership", "democracy"],
     _trip("Metropolis Board of Directors meeting", "Metropolis", "Berlin", "Germany", -30, 3, "board_member",
           "Represent Toronto on the Metropolis board.", ("0.00", "2100.00", "1600.00", "540.00", None)),
     [(-70, "create", None, {}), (-69, "submit", "cllr.chen", {}), (-60, "approve", "pat.committee", {}),
      (-30, "complete_trip", "cllr.chen", {}), (-10, "submit_report", "cllr.chen", {"payload": REPORT_BERLIN})]),
    ("FCM technical exchange with Cape Town", "sam.staff", ["compassion", "research"],
     _trip("Public health technical exchange", "FCM", "Cape Town", "South Africa", -150, 5, "presenter",
           "Exchange on TB screening in informal settlements under the FCM partnership programme.",
           (None, "2300.00", "1100.00", "500.00", None), "shared", "FCM Municipal Partnership Program"),
     [(-200, "create", None, {}), (-199, "submit", "sam.staff", {}), (-190, "approve", "dana.head", {}),
      (-150, "complete_trip", "sam.staff", {}), (-130, "submit_report", "sam.staff", {"payload": REPORT_CAPE_TOWN}),
      (-125, "accept_report", "dana.head", {"comment": "Thank you; forwarded to the CAO's annual report."})]),
]


def _data(spec: dict, today) -> dict:
    data = {k: v for k, v in spec.items() if k not in ("start", "days") and v is not None}
    start = today + timedelta(days=spec["start"])
    data.update(start_date=start.isoformat(), end_date=(start + timedelta(days=spec["days"])).isoformat())
    costs = {k: v for k, v in spec["estimated_cost"].items() if v is not None}
    return {**data, "estimated_cost": costs} if costs else {k: v for k, v in data.items() if k != "estimated_cost"}


def seed(session: Session, people: dict[str, User]) -> int:
    """Add the demo travel requests that are missing; return how many were added."""
    from demo import titles_made

    existing = titles_made(session, NAME)
    today = clock.today()
    noon = datetime.combine(today, time(16, 0))  # UTC: the same day in Toronto
    added = 0
    try:
        for title, owner, goals, spec, steps in TRIPS:
            if title in existing:
                continue
            case = None
            for days, trigger, actor, extra in steps:
                clock.set(noon + timedelta(days=days))
                if trigger == "create":
                    case = engine.create_case(session, people[owner], NAME, title, goals, _data(spec, today))
                elif trigger == "score":
                    submit_score(session, people[actor], case.id, extra)
                else:
                    case = engine.fire(session, people[actor], case.id, trigger, case.version, **extra)
            added += 1
    finally:
        clock.set(None)
    return added
