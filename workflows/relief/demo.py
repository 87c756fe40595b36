"""Demo relief requests in every state, after the framework's own example of Hurricane Mitch."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

import clock
from models import Partnership, User
from workflows import engine
from demo import play, seed_missing

GOOD = {"unmet_need": 4, "city_capability": 4, "time_critical": 4, "channel_accountability": 4,
        "relationship": 3, "leverage": 3, "recovery": 3}
FAIR = {"unmet_need": 3, "city_capability": 2, "time_critical": 3, "channel_accountability": 3,
        "relationship": 2, "leverage": 2, "recovery": 2}


def _request(city, country, party, party_type, kind, days_before, people_affected, help_, amount, channel,
             description, contact, **extra) -> dict:
    data = {"requesting_party": party, "party_type": party_type, "city": city, "country": country,
            "disaster_type": kind, "disaster_date": days_before, "affected_population": people_affected,
            "assistance_types": help_, "channel": channel, "description": description,
            "contact": {"name": contact, "email": contact.lower().replace(" ", ".") + "@relief.example"}}
    if amount:
        data["amount_requested"] = amount
    return {**data, **extra}


def _cases(soyapango_id: int | None) -> list[dict]:
    """Return the demo requests: owner, title, when it began (days ago), data, and the steps it went through."""
    partner = {"partnership_id": soyapango_id} if soyapango_id else {}
    triage = [("owner", "submit", None, None), ("hana.hco", "start_triage", None, None)]
    score = [("hana.hco", "score", GOOD, None)]
    return [
        {"owner": "sam.staff", "title": "Flood relief for Medellín, Colombia", "age": 2, "steps": [],
         "data": {"city": "Medellín", "country": "Colombia", "disaster_type": "flood",
                  "description": "Early reports of river flooding in the Aburrá valley; details to follow."}},
        {"owner": "cllr.chen", "title": "Hurricane relief for Soyapango, El Salvador", "age": 4,
         "steps": [("owner", "submit", None, None)],
         "data": _request("Soyapango", "El Salvador", "Municipality of Soyapango", "municipality", "hurricane", 3,
                          180000, ["financial", "technical"], "40000.00", "FCM municipal partnership fund",
                          "A hurricane like Mitch in 1998 flooded the city; water and sanitation are down. Soyapango "
                          "asks for a grant and for engineers who know its information systems.", "Ana Martinez",
                          **partner)},
        {"owner": "sam.staff", "title": "Earthquake relief for Quetzaltenango, Guatemala", "age": 0.5,
         "steps": [("owner", "submit", None, None)],
         "data": _request("Quetzaltenango", "Guatemala", "Guatemalan Red Cross", "ngo", "earthquake", 1, 45000,
                          ["financial", "in_kind"], "15000.00", "Canadian Red Cross appeal",
                          "A magnitude 6.8 earthquake damaged homes and the regional hospital.", "Luis Ajú")},
        {"owner": "cllr.chen", "title": "Hurricane relief for Tegucigalpa, Honduras", "age": 1, "steps": triage,
         "data": _request("Tegucigalpa", "Honduras", "Honduran diaspora association of Toronto", "community_group",
                          "hurricane", 5, 250000, ["financial"], "30000.00", "CARE Canada appeal",
                          "Landslides destroyed whole neighbourhoods; Toronto's Honduran community asks the City "
                          "to match its appeal.", "Rosa Mejía")},
        {"owner": "sam.staff", "title": "Dengue epidemic response in Managua, Nicaragua", "age": 6,
         "steps": triage + [("hana.hco", "request_info", "Which body would receive and account for the funds?", None)],
         "data": _request("Managua", "Nicaragua", "Ministry of Health of Nicaragua", "agency", "epidemic", 30,
                          60000, ["technical", "staff_deployment"], None, None,
                          "A dengue outbreak overwhelms clinics; the ministry asks for Toronto Public Health "
                          "epidemiologists.", "Carmen López")},
        {"owner": "cllr.chen", "title": "Earthquake relief for Istanbul, Türkiye", "age": 9,
         "steps": triage + score + [("hana.hco", "recommend", "Partner city of old; clear channel.",
                                     {"recommendation": "approve", "amount_granted": "20000.00"})],
         "data": _request("Istanbul", "Türkiye", "Istanbul Metropolitan Municipality", "municipality",
                          "earthquake", 10, 400000, ["financial", "technical"], "25000.00", "Turkish Red Crescent",
                          "Collapsed buildings in three districts; the municipality asks for search-and-rescue "
                          "advice and a grant.", "Elif Demir")},
        {"owner": "sam.staff", "title": "Hurricane relief for San Pedro Sula, Honduras", "age": 14,
         "steps": triage + score + [("hana.hco", "recommend", "Large and time-critical; above the CAO's authority.",
                                     {"recommendation": "approve", "amount_granted": "60000.00"}),
                                    ("cao.office", "approve", "Endorsed to Council.", None)],
         "data": _request("San Pedro Sula", "Honduras", "Municipality of San Pedro Sula", "municipality",
                          "hurricane", 15, 900000, ["financial", "in_kind"], "75000.00", "UNICEF Canada appeal",
                          "As after Hurricane Mitch, the Sula valley is under water.", "Jorge Reyes")},
        {"owner": "cllr.chen", "title": "Cholera outbreak response in Lima, Peru", "age": 20,
         "steps": triage + score + [("omar.hco", "score", GOOD, None), ("omar.hco", "recommend", None,
                                     {"recommendation": "approve", "amount_granted": "15000.00"}),
                                    ("cao.office", "approve", "Within delegated authority.", None)],
         "data": _request("Lima", "Peru", "Municipality of Metropolitan Lima", "municipality", "epidemic", 21,
                          30000, ["financial", "technical"], "15000.00", "Pan American Health Organization",
                          "Cholera in informal settlements; Lima asks for water-quality testing help.", "Rosa Quispe")},
        {"owner": "sam.staff", "title": "Drought relief for Cape Town, South Africa", "age": 40,
         "steps": triage + score + [("hana.hco", "recommend", None,
                                     {"recommendation": "approve", "amount_granted": "10000.00"}),
                                    ("cao.office", "approve", None, None),
                                    ("fin.officer", "disburse", None, _paid("10000.00", "EFT-RLF-0031"))],
         "data": _request("Cape Town", "South Africa", "City of Cape Town", "municipality", "drought", 45, 4000000,
                          ["financial", "technical"], "12000.00", "City of Cape Town water resilience fund",
                          "Reservoirs near empty; Cape Town asks for Toronto Water's demand-management advice.",
                          "Thandi Nkosi")},
        {"owner": "cllr.chen", "title": "Flood relief for Maputo, Mozambique", "age": 80,
         "steps": triage + score + [("hana.hco", "recommend", None,
                                     {"recommendation": "approve", "amount_granted": "8000.00"}),
                                    ("cao.office", "approve", None, None),
                                    ("fin.officer", "disburse", None, _paid("8000.00", "EFT-RLF-0022")),
                                    ("omar.hco", "close", None, {"outcome": "Two water treatment units bought and "
                                                                            "installed; report received from the "
                                                                            "Mozambique Red Cross."})],
         "data": _request("Maputo", "Mozambique", "Mozambique Red Cross", "ngo", "flood", 90, 150000,
                          ["financial"], "8000.00", "Mozambique Red Cross", "Cyclone flooding.", "Amélia Mucavele")},
        {"owner": "sam.staff", "title": "Storm damage in Riga, Latvia", "age": 12,
         "steps": triage + [("omar.hco", "decline", "Screened out: the national government covers the damage and "
                                                     "no delivering channel is named.", None)],
         "data": _request("Riga", "Latvia", "Riga Latvian Society of Toronto", "community_group", "other", 13, 800,
                          ["financial"], "5000.00", "Latvian community fund", "Roofs damaged by a storm.",
                          "Anna Bērziņa")},
        {"owner": "cllr.chen", "title": "Winter relief for displaced families in Tallinn, Estonia", "age": 7,
         "steps": [("owner", "submit", None, None), ("owner", "withdraw", None, None)],
         "data": _request("Tallinn", "Estonia", "Estonian House in Toronto", "community_group", "conflict", 8,
                          2000, ["in_kind"], None, "Estonian Red Cross",
                          "Winter clothing for families arriving from across the border.", "Mari Tamm")},
    ]


def _paid(amount: str, reference: str):
    """Return the disbursement payload, dated on the day the step is played."""
    return lambda: {"amount_paid": amount, "payment_reference": reference, "paid_on": clock.today().isoformat()}


def _run(session: Session, people: dict[str, User], spec: dict, now: datetime) -> None:
    clock.set(now - timedelta(days=spec["age"]))
    owner = people[spec["owner"]]
    data = dict(spec["data"])
    if "disaster_date" in data:  # given in days before the request was made
        data["disaster_date"] = (clock.today() - timedelta(days=data["disaster_date"])).isoformat()
    case = engine.create_case(session, owner, "relief", spec["title"], ["compassion"], data)
    play(session, people, owner, case, spec["steps"], {"hours": 3})


def seed(session: Session, people: dict[str, User]) -> int:
    """Add the demo relief requests that are missing; return how many were added."""
    soyapango = session.scalar(select(Partnership.id).where(Partnership.city == "Soyapango"))
    return seed_missing(session, "relief", _cases(soyapango),
                        lambda session, spec, now: _run(session, people, spec, now))
