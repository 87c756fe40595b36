"""Who may do what: every API endpoint and web route, for every role and for a request owned by
someone else, answers as the table below says. The same table is in the README.

Cases: a travel request and a relief request of a staff member of Toronto Public Health, and
a partnership proposal of a councillor, each just submitted. "dept_head" heads the traveller's
department; the "staff" column is a colleague in the same department. Codes: 200/201 allowed,
403 seen but not allowed, 404 not visible (or no such page for that person), 302 sent to sign in,
401 no token.
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import clock
from extensions import db
from models import Partnership
from tests.factories import TEST_PASSWORD, trail_unguarded
from workflows import engine

ROLES = ("staff", "councillor", "hco", "dept_head", "committee", "council", "cao", "finance", "admin", "anonymous")

MATRIX = """
| request | staff | councillor | hco | dept_head | committee | council | cao | finance | admin | anonymous |
|---|---|---|---|---|---|---|---|---|---|---|
| GET /api/v1/workflows | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 401 |
| GET /api/v1/cases | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 401 |
| GET /api/v1/cases/{travel} | 404 | 404 | 404 | 200 | 200 | 404 | 200 | 404 | 404 | 401 |
| GET /api/v1/cases/{relief} | 404 | 404 | 200 | 200 | 404 | 200 | 200 | 200 | 404 | 401 |
| GET /api/v1/cases/{partnership} | 404 | 404 | 200 | 404 | 200 | 200 | 200 | 404 | 404 | 401 |
| GET /api/v1/cases/{travel}/history | 404 | 404 | 404 | 200 | 200 | 404 | 200 | 404 | 404 | 401 |
| GET /api/v1/cases/{relief}/scores | 404 | 404 | 200 | 200 | 404 | 200 | 200 | 200 | 404 | 401 |
| PATCH /api/v1/cases/{travel} | 404 | 404 | 404 | 403 | 403 | 404 | 403 | 404 | 404 | 401 |
| POST /api/v1/cases/{travel}/transitions approve | 404 | 404 | 404 | 200 | 403 | 404 | 403 | 404 | 404 | 401 |
| POST /api/v1/cases/{relief}/transitions start_triage | 404 | 404 | 200 | 403 | 404 | 403 | 403 | 403 | 404 | 401 |
| POST /api/v1/cases/{partnership}/transitions start_review | 404 | 404 | 200 | 404 | 403 | 403 | 403 | 404 | 404 | 401 |
| POST /api/v1/cases/{relief}/comments | 404 | 404 | 201 | 201 | 404 | 201 | 201 | 201 | 404 | 401 |
| POST /api/v1/cases travel | 201 | 201 | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 401 |
| POST /api/v1/cases relief | 201 | 201 | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 401 |
| POST /api/v1/cases partnership | 403 | 201 | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 401 |
| GET /api/v1/criteria/relief | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 401 |
| GET /api/v1/relief/triage | 403 | 403 | 200 | 403 | 403 | 403 | 403 | 403 | 403 | 401 |
| GET /api/v1/partnerships | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 401 |
| POST /api/v1/partnerships | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 201 | 401 |
| PATCH /api/v1/partnerships/{inventory} | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 200 | 401 |
| GET /api/v1/reports/annual | 403 | 403 | 403 | 403 | 403 | 403 | 200 | 403 | 200 | 401 |
| GET / | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 302 |
| GET /cases | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 302 |
| GET /cases/{travel} | 404 | 404 | 404 | 200 | 200 | 404 | 200 | 404 | 404 | 302 |
| GET /cases/{relief} | 404 | 404 | 200 | 200 | 404 | 200 | 200 | 200 | 404 | 302 |
| GET /cases/{partnership} | 404 | 404 | 200 | 404 | 200 | 200 | 200 | 404 | 404 | 302 |
| GET /travel/new | 200 | 200 | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 302 |
| GET /travel/overdue | 403 | 403 | 403 | 403 | 403 | 403 | 200 | 403 | 200 | 302 |
| GET /relief/new | 200 | 200 | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 302 |
| GET /relief/triage | 403 | 403 | 200 | 403 | 403 | 403 | 403 | 403 | 403 | 302 |
| GET /partnerships | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 302 |
| GET /partnerships/propose | 403 | 200 | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 302 |
| GET /partnerships/new | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 403 | 200 | 302 |
| GET /criteria | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 200 | 302 |
| GET /reports/annual | 403 | 403 | 403 | 403 | 403 | 403 | 200 | 403 | 200 | 302 |
"""


def _rows() -> list[tuple[str, dict[str, int]]]:
    rows = []
    for line in MATRIX.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append((cells[0], dict(zip(ROLES, map(int, cells[1:])))))
    return rows


def _trip(start: date) -> dict:
    return {"event_name": "WHO Healthy Cities Conference", "event_organizer": "WHO", "event_city": "Geneva",
            "event_country": "Switzerland", "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=3)).isoformat(), "purpose": "Present Toronto's Healthy City work.",
            "role_at_event": "presenter", "funding": "city",
            "estimated_cost": {"registration": "600.00", "transport": "1500.00"}}


RELIEF = {"requesting_party": "Municipality of Soyapango", "party_type": "municipality", "city": "Soyapango",
          "country": "El Salvador", "disaster_type": "earthquake", "affected_population": 12000,
          "assistance_types": ["technical"], "channel": "Federation of Canadian Municipalities",
          "description": "Engineers to assess damaged schools.",
          "contact": {"name": "Ana Rivas", "email": "ana.rivas@example.org"}}

PARTNERSHIP = {"partner_city": "Cape Town", "partner_country": "South Africa", "proposal_type": "new",
               "sponsor_organization": "FCM", "sponsor_funding_secured": True, "sponsor_amount": "40000.00",
               "city_contribution": "15000.00", "focus_areas": ["Governance models"],
               "lead_department": "Strategic and Corporate Policy", "duration_months": 24,
               "rationale": "Renew the governance exchange.", "expected_outcomes": "Joint ward governance toolkit."}


def build_world(make_user):
    """Create one user per role and the three submitted requests; return (people, cases)."""
    people = {
        "owner": make_user("olive", "staff"),
        "proposer": make_user("cora", "councillor", department="City Council"),
        "staff": make_user("sven", "staff"),
        "councillor": make_user("carl", "councillor", department="City Council"),
        "hco": make_user("hana", "hco", department="Strategic and Corporate Policy"),
        "dept_head": make_user("dana", "dept_head"),
        "committee": make_user("pat", "committee", department="City Clerk's Office"),
        "council": make_user("clerk", "council", department="City Clerk's Office"),
        "cao": make_user("cao", "cao", department="Chief Administrative Officer"),
        "finance": make_user("fin", "finance", department="Finance"),
        "admin": make_user("ada", "admin", department="Information and Technology"),
    }
    relief = {**RELIEF, "disaster_date": (clock.today() - timedelta(days=5)).isoformat()}
    cases = {}
    for key, owner, workflow, data in (("travel", "owner", "travel", _trip(clock.today() + timedelta(days=60))),
                                       ("relief", "owner", "relief", relief),
                                       ("partnership", "proposer", "partnership", PARTNERSHIP)):
        case = engine.create_case(db.session, people[owner], workflow, f"A {workflow} request", ["research"], data)
        cases[key] = engine.fire(db.session, people[owner], case.id, "submit", case.version)
    return people, {k: (c.id, c.version) for k, c in cases.items()}


def _request(app, role, people, request_line: str, cases):
    method, path, *rest = request_line.split()
    for key, (case_id, _) in cases.items():
        path = path.replace("{" + key + "}", str(case_id))
    json = None
    if "{inventory}" in path:
        first = db.session.scalar(select(Partnership.id).order_by(Partnership.id).limit(1))
        path = path.replace("{inventory}", str(first))
        json = {"focus": "Water management and urban health."}
    elif path == "/api/v1/partnerships":
        json = {"city": "Lisbon", "country": "Portugal", "focus": "Urban health.", "status": "prospective"}
    elif method == "PATCH":
        json = {"version": cases["travel"][1], "title": "Renamed"}
    elif path.endswith("/comments"):
        json = {"comment": "When is the decision due?"}
    elif path.endswith("/transitions"):
        key = request_line.split("{")[1].split("}")[0]
        json = {"trigger": rest[0], "version": cases[key][1]}
    elif method == "POST" and path == "/api/v1/cases":
        data = {"travel": _trip(clock.today() + timedelta(days=90)), "relief": {}, "partnership": {}}[rest[0]]
        json = {"workflow": rest[0], "title": "New request", "goals": ["economy"], "data": data}
    client = app.test_client()
    headers = {}
    if role != "anonymous":
        user = people[role]
        if path.startswith("/api/"):
            from accounts.sign_in import issue_token

            headers["Authorization"] = f"Bearer {issue_token(db.session, user)}"
            db.session.commit()
        else:
            assert client.post("/login", data={"username": user.username, "password": TEST_PASSWORD}).status_code == 302
    return client.open(path, method=method, json=json, headers=headers)


@pytest.mark.parametrize("request_line, expected", _rows(), ids=[r[0] for r in _rows()])
def test_access_matrix(app, make_user, request_line, expected):
    changes = request_line.split()[0] != "GET"
    people = cases = None
    answers = {}
    for role in ROLES:
        if people is None or changes:
            # A request that changes something gets a fresh world, so that one role's success
            # does not decide the next role's answer.
            if people is not None:
                _reset(app)
            people, cases = build_world(make_user)
        answers[role] = _request(app, role, people, request_line, cases).status_code
    assert answers == expected


def _reset(app):
    """Empty the tables so that the next role starts from the same world."""
    from sqlalchemy import text

    from reference import load_reference_data

    db.session.remove()
    names = [t.name for t in reversed(db.metadata.sorted_tables) if t.name not in ("roles",)]
    with db.engine.begin() as conn, trail_unguarded(conn):
        for name in names:
            conn.execute(text(f"DELETE FROM {name}"))
    load_reference_data(db.session)
    db.session.commit()


def test_readme_shows_the_matrix():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert MATRIX.strip() in readme, "copy the MATRIX table of tests/test_access_matrix.py into the README"


def test_the_list_total_is_what_each_person_may_see(app, make_user, api):
    # The list's total is counted in parts (workflows read, own cases, assigned cases); it must be
    # the number of cases each person may open, whatever the filter.
    from sqlalchemy import update

    from models import Case
    from workflows.access import can_view

    people, cases = build_world(make_user)
    # Someone who reads relief and partnership requests (hco) and owns requests inside and
    # outside what that role reads: each must be counted once.
    people["mixed"] = mixed = make_user("mia", "staff", "hco")
    engine.create_case(db.session, mixed, "relief", "Her own relief draft", ["research"], {})
    engine.create_case(db.session, mixed, "travel", "Her own trip", ["research"], {})
    # Assigned to someone who does not otherwise read travel requests (assignment is not a state).
    db.session.execute(update(Case).where(Case.id == cases["travel"][0]).values(assignee_id=people["finance"].id))
    db.session.commit()
    db.session.expire_all()
    everything = list(db.session.scalars(db.select(Case)))
    filters = {"": lambda c, u: True, "?workflow=travel": lambda c, u: c.workflow == "travel",
               "?state=submitted": lambda c, u: c.state == "submitted", "?state=draft": lambda c, u: c.state == "draft",
               "?mine=true": lambda c, u: c.owner_id == u.id}
    seen = set()
    for name, person in people.items():
        client = api(person)
        for query, keep in filters.items():
            body = client.get(f"/api/v1/cases{query}").get_json()
            expected = sorted(c.id for c in everything if can_view(person, c) and keep(c, person))
            assert body["total"] == len(expected), (name, query)
            assert sorted(item["id"] for item in body["items"]) == expected, (name, query)
            seen.add(len(expected))
    assert len(seen) > 3  # the people and filters do see different numbers of cases


def test_a_refused_request_says_who_may_open_it(app, make_user, api):
    hco = make_user("hana", "hco", department="Strategic and Corporate Policy")
    r = api(hco).post("/api/v1/cases", json={"workflow": "relief", "title": "Help", "goals": ["compassion"],
                                             "data": RELIEF})
    assert r.status_code == 403
    assert r.get_json()["message"] == ("Opening a disaster relief request needs the role “City employee” or "
                                        "“Member of Council”.")
