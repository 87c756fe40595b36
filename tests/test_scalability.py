"""Pages stay scalable: their number of SQL queries does not grow with the cases they show, and
the indexes the case lists filter and sort on exist in the migrated schema."""
from __future__ import annotations

import re
import subprocess
import sys
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

import clock
from extensions import db
from models import Case, Department, Role, User
from tests.factories import TEST_PASSWORD, counted, roles_queries
from web import cases as case_views
from workflows import engine
from workflows.scoring import submit_score

RATINGS = {"relevance": 4, "expected_value": 3, "knowledge_sharing": 5}
REPORT = {"summary": "Three sessions on urban health.", "learnings": "Community health agents.",
          "contacts": [], "actual_cost": "2875.40"}


def trip(start: date) -> dict:
    return {
        "event_name": "Metropolis World Congress", "event_organizer": "Metropolis", "event_city": "Sao Paulo",
        "event_country": "Brazil", "start_date": start.isoformat(), "end_date": (start + timedelta(days=3)).isoformat(),
        "purpose": "Present Toronto's Healthy City work.", "role_at_event": "presenter", "funding": "city",
        "estimated_cost": {"registration": "650.00", "transport": "1400.00"},
    }


@pytest.fixture
def people(app, make_user):
    return {"sam": make_user("sam", "staff"), "dana": make_user("dana", "dept_head"),
            "pat": make_user("pat", "committee", department="City Clerk's Office")}


@pytest.fixture
def add_trips(people):
    """Create trips of sam through the engine: submitted, approved or closed (with a longer history)."""

    def add(count: int, state: str = "submitted", scored: bool = False) -> list[int]:
        ids = []
        for n in range(count):
            case = engine.create_case(db.session, people["sam"], "travel", f"Trip {n}", ["leadership"],
                                      trip(clock.today()))
            case = engine.fire(db.session, people["sam"], case.id, "submit", case.version)
            if scored:
                submit_score(db.session, people["dana"], case.id, RATINGS)
                case = db.session.get(type(case), case.id)
            steps = []
            if state != "submitted":
                steps.append(("approve", "dana", None))
            if state == "closed":
                steps += [("complete_trip", "sam", None), ("submit_report", "sam", REPORT), ("accept_report", "dana", None)]
            for trigger, who, payload in steps:
                case = engine.fire(db.session, people[who], case.id, trigger, case.version, payload=payload)
            ids.append(case.id)
        return ids

    return add


def web_client(app, user):
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert r.status_code == 302
    return client


def queries(get, url: str) -> int:
    get(url)  # warm caches that load once per process (criteria, templates)
    with counted() as statements:
        r = get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return len(statements)


def listed(response) -> int:
    """Return how many cases a page of the API's list or of the web's names."""
    if response.is_json:
        return len(response.get_json()["items"])
    return len(re.findall(r'<a href="/cases/\d+">', response.get_data(as_text=True)))


@pytest.mark.parametrize("where", ["/api/v1/cases?per_page=50", "/cases"])
@pytest.mark.parametrize("who", ["sam", "dana", "pat"])
def test_case_list_queries_do_not_grow_with_the_cases_shown(app, api, people, add_trips, who, where, monkeypatch):
    monkeypatch.setattr(case_views, "PER_PAGE", 50)
    client = api(people[who]) if where.startswith("/api") else web_client(app, people[who])
    add_trips(2)
    add_trips(1, "approved", scored=True)
    few = queries(client.get, where)
    add_trips(8)
    add_trips(4, "approved", scored=True)
    add_trips(2, "closed")
    many = queries(client.get, where)
    assert listed(client.get(where)) == 17
    assert many == few


@pytest.mark.parametrize("where", ["/", "/waiting", "/api/v1/cases/waiting"])
@pytest.mark.parametrize("who", ["sam", "dana", "pat"])
def test_dashboard_queries_do_not_grow_with_the_cases_shown(app, api, people, add_trips, who, where):
    client = api(people[who]) if where.startswith("/api") else web_client(app, people[who])
    add_trips(2)
    add_trips(1, "approved")
    few = queries(client.get, where)
    add_trips(8)
    add_trips(4, "approved")
    add_trips(2, "closed")
    many = queries(client.get, where)
    assert many == few
    if who == "dana" and where != "/":
        assert listed(client.get(where)) == 10  # the ten submitted trips wait for her


@pytest.mark.parametrize("page", ["/", "/api/v1/cases"])
def test_the_rules_read_the_owners_roles_from_the_query_of_the_cases(app, api, people, add_trips, page):
    # Who may act on a case depends on its owner's roles: on the dashboard and the list, they come
    # with the cases in one query, not in a second one (a round trip on PostgreSQL). A traveller
    # with two roles comes in two rows of that query, and their trips are still listed once.
    people["sam"].roles.append(db.session.scalar(select(Role).where(Role.name == "committee")))  # no rule here reads it
    db.session.commit()
    client = api(people["dana"]) if page.startswith("/api") else web_client(app, people["dana"])
    ids = add_trips(3)
    queries(client.get, page)
    with counted() as statements:
        r = client.get(page)
    assert not roles_queries(statements)
    if page.startswith("/api"):
        items = r.get_json()["items"]
        assert sorted(i["id"] for i in items) == sorted(ids)
        assert all(i["allowed_transitions"][:1] == ["approve"] for i in items)
    else:
        body = r.get_data(as_text=True).split('id="awaiting-h"')[1].split("</section>")[0]
        assert [body.count(f'href="/cases/{i}"') for i in ids] == [1, 1, 1]


def test_case_json_queries_do_not_grow_with_cases_or_history(app, api, people, add_trips):
    client = api(people["dana"])
    short, = add_trips(1)
    before = queries(client.get, f"/api/v1/cases/{short}")
    add_trips(10, "approved")
    long, = add_trips(1, "closed")
    assert queries(client.get, f"/api/v1/cases/{short}") == before
    # A submitted trip also reads whether its approval is allowed now (the traveller's overdue
    # reports): a closed one, with four times the history, reads no more than that.
    assert queries(client.get, f"/api/v1/cases/{long}") <= before


def test_case_page_queries_do_not_grow_with_cases_or_history(app, people, add_trips):
    client = web_client(app, people["dana"])
    short, = add_trips(1)
    first, = add_trips(1, "closed")
    before = queries(client.get, f"/cases/{short}"), queries(client.get, f"/cases/{first}")
    add_trips(10, "approved")
    later, = add_trips(1)
    long, = add_trips(1, "closed")
    for n in range(5):  # a longer history than the first closed trip's
        engine.add_comment(db.session, people["dana"], long, f"Note {n}")
    # Eleven more trips of the traveller, and a longer history: each page reads no more than before.
    # (A submitted trip's page also reads its knock-outs, which a closed one, decided, does not.)
    assert (queries(client.get, f"/cases/{later}"), queries(client.get, f"/cases/{long}")) == before


def test_a_case_page_reads_its_scores_once_for_its_two_sections(app, people, add_trips):
    # The travel review and the scoring section both show the score: one read serves both.
    client = web_client(app, people["dana"])
    case_id, = add_trips(1, scored=True)
    client.get(f"/cases/{case_id}")
    with counted() as statements:
        page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert sum("FROM scores" in s for s in statements) == 1
    summary = page.split('id="travel-review-h"')[1].split("</section>")[0]
    assert "Score: <strong>" in summary and "%</strong>" in summary
    assert 'id="scoring-h"' in page


def test_the_signed_in_person_and_their_roles_cost_one_query(app, api, people):
    # Every request reads who is signed in before anything else; on PostgreSQL each query is a
    # round trip, so the session or token check, the user and their roles come in one.
    web = web_client(app, people["dana"])
    assert queries(web.get, "/account/password") == 1
    assert queries(api(people["dana"]).get, "/api/v1/workflows") == 1


def test_an_approval_reads_the_owner_with_their_roles_and_opens_no_extra_transaction(app, api, people, add_trips):
    # Each statement and each BEGIN is a round trip on PostgreSQL. The approver's rule reads the
    # traveller's roles: the traveller, their roles and department come in one query. There, the transition goes
    # on in the transaction that read the token; then one more reads the answer's score. (Both
    # read in autocommit, so psycopg sends one BEGIN, before the lock: tests/workflows/test_request_reads.py.)
    client = api(people["dana"])
    case_id, = add_trips(1)
    version = client.get(f"/api/v1/cases/{case_id}").get_json()["version"]
    begins: list[int] = []
    listener = lambda _conn: begins.append(1)  # noqa: E731
    with counted() as statements:
        event.listen(db.engine, "begin", listener)
        try:
            r = client.post(f"/api/v1/cases/{case_id}/transitions", json={"trigger": "approve", "version": version})
        finally:
            event.remove(db.engine, "begin", listener)
    assert r.status_code == 200 and r.get_json()["state"] == "approved"
    assert sum(bool(re.search(r"\bFROM users\b", s)) for s in statements) == 2  # the token's user, the traveller
    assert not roles_queries(statements)
    # The answer names the case's department, the traveller's: it comes with them.
    assert r.get_json()["department"] == db.session.scalar(
        select(Department.name).join(User, User.department_id == Department.id).where(User.username == "sam"))
    assert not [s for s in statements if re.search(r"\bFROM departments\b", s)]
    assert len(begins) == (2 if db.engine.dialect.name == "postgresql" else 3)


@contextmanager
def run_statements() -> Iterator[list]:
    """Collect the statement objects run inside the block, but for relationships' lazy loads
    (SQLAlchemy builds those itself). They are kept, so that no id is reused."""
    ran: list = []
    lazy: set[int] = set()

    def executed(_conn, statement, *_args):
        ran.append(statement)

    def orm_executed(state):
        if state.is_relationship_load:
            lazy.add(id(state.statement))

    event.listen(db.engine, "before_execute", executed)
    event.listen(Session, "do_orm_execute", orm_executed)
    try:
        yield ran
    finally:
        event.remove(db.engine, "before_execute", executed)
        event.remove(Session, "do_orm_execute", orm_executed)
        ran[:] = [s for s in ran if id(s) not in lazy]


@pytest.mark.parametrize("page", ["/", "/api/v1/cases", "/cases/{id}", "/api/v1/cases/{id}", "approve"])
def test_pages_run_statements_built_once(app, api, people, add_trips, page):
    # Building a SELECT and its cache key costs SQLAlchemy more than running a small one, so what
    # a page runs is built once and run again with new values. A statement built on every request
    # (session.get with loader options did, on every case page and approval) shows up here.
    client = web_client(app, people["dana"]) if page.startswith("/cases") or page == "/" else api(people["dana"])
    first, second = add_trips(2)
    versions = {c.id: c.version for c in db.session.scalars(select(Case).where(Case.id.in_([first, second])))}
    db.session.remove()

    def request(case_id: int):
        if page == "approve":
            r = client.post(f"/api/v1/cases/{case_id}/transitions",
                            json={"trigger": "approve", "version": versions[case_id]})
        else:
            r = client.get(page.format(id=case_id))
        assert r.status_code == 200, r.get_data(as_text=True)[:300]

    with run_statements() as before:
        request(first)
    with run_statements() as again:
        request(second)
    built = {id(s) for s in before}
    new = [str(s) for s in again if id(s) not in built]
    assert not new, "\n\n".join(new)


def _indexes(table: str) -> list[list[str]]:
    return [ix["column_names"] for ix in inspect(db.engine).get_indexes(table)]


def test_the_list_filters_have_indexes(app):
    cases = _indexes("cases")
    assert ["workflow", "state"] in [ix[:2] for ix in cases]
    assert any(ix[0] == "owner_id" for ix in cases)
    assert any(ix[0] == "created_at" for ix in cases), "newest-first lists sort on created_at"
    assert ["state", "created_at"] in [ix[:2] for ix in cases], "a state's cases, newest first, read in order"


def test_a_worker_loads_the_charting_library_only_when_a_report_draws(tmp_path):
    # matplotlib and numpy are about 60 MB of every worker's memory; only the report's charts need them.
    probe = ("import sys\nfrom app import create_app\n"
             f"app = create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/probe.sqlite3', "
             "'SECRET_KEY': 'probe', 'ACCORD_ENV': 'development'})\n"
             "app.test_client().get('/login')\n"
             "print(sorted(m for m in ('matplotlib', 'numpy') if m in sys.modules))\n"
             "from reports.charts import draw\n"
             "draw('x', 'X', [('a', 1)], 'n')\n"
             "print(sorted(m for m in ('matplotlib', 'numpy') if m in sys.modules))\n")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "['matplotlib', 'numpy']"]


def test_the_dashboard_lists_the_oldest_waiting_first_across_states(app, people, add_trips, make_user, monkeypatch):
    # The dashboard reads each state's oldest cases separately and merges them: whatever the mix,
    # the head sees the cases waiting for them longest, across states, and no one else's.
    from workflows import queries
    from models import Case

    monkeypatch.setattr(queries, "AWAITING_LIMIT", 3)
    clock.set(datetime(2026, 3, 2, 9, 0))
    other = make_user("ole", "staff", department="Finance")
    ids = []
    for n, path in enumerate(["report", "submitted", "submitted", "report", "submitted", "report", "submitted"]):
        case_id, = add_trips(1, "approved") if path == "report" else add_trips(1)
        if path == "report":
            case = db.session.get(Case, case_id)
            case = engine.fire(db.session, people["sam"], case_id, "complete_trip", case.version)
            engine.fire(db.session, people["sam"], case_id, "submit_report", case.version, payload=REPORT)
        ids.append(case_id)
        elsewhere = engine.create_case(db.session, other, "travel", "Not Dana's", ["leadership"], trip(clock.today()))
        engine.fire(db.session, other, elsewhere.id, "submit", elsewhere.version)
        clock.advance(hours=1)
    # Reports that wait longest were filed at the end of each hour; the rest were submitted earlier in it.
    waiting = sorted(db.session.scalars(db.select(Case).where(Case.id.in_(ids))),
                     key=lambda c: (c.state_entered_at, c.id))
    shown = queries.awaiting(db.session, people["dana"])
    assert [c.id for c in shown] == [c.id for c in waiting[:3]]
    assert {c.state for c in waiting[:3]} == {"submitted", "report_submitted"}
    monkeypatch.setattr(queries, "AWAITING_LIMIT", 50)
    assert [c.id for c in queries.awaiting(db.session, people["dana"])] == [c.id for c in waiting]
