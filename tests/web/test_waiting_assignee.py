"""A request an officer took up waits for that officer alone, in the lists' SQL as in their rules:
other officers' claimed requests neither fill their pages nor cost a query each, and steps of
other roles are not caught by the rule."""
from __future__ import annotations

from extensions import db
from models import User
from tests.factories import counted
from tests.scoring.test_scores_api import _web
from tests.workflows.relief.conftest import RATINGS, fire, make_case, people, relief_data  # noqa: F401 (fixtures)
from workflows import engine, queries
from workflows.scoring import submit_score

POLICY = "Strategic and Corporate Policy"


def _claimed(owner, officer, title: str = "Flood relief") -> int:
    case = engine.create_case(db.session, owner, "relief", title, ["compassion"], relief_data())
    case = engine.fire(db.session, owner, case.id, "submit", case.version)
    return engine.fire(db.session, officer, case.id, "start_triage", case.version).id


def test_colleagues_claimed_requests_do_not_hide_an_unclaimed_one(app, make_user, monkeypatch):
    # The rule was applied only after the SQL: older requests colleagues had taken up filled the
    # five rounds of the search, and an officer's page came back empty, "not complete".
    monkeypatch.setattr(queries, "AWAITING_LIMIT", 2)  # rounds of 12: five of them read 60 requests
    owner = make_user("sam", "staff")
    me, other = make_user("me", "hco", department=POLICY), make_user("other", "hco", department=POLICY)
    for _ in range(61):
        _claimed(owner, other, "Claimed")
    new = engine.create_case(db.session, owner, "relief", "Unclaimed", ["compassion"], relief_data())
    new = engine.fire(db.session, owner, new.id, "submit", new.version)
    found = queries.waiting_for(db.session, me)
    assert [c.id for c in found.cases] == [new.id] and found.complete


def test_requests_of_officers_who_left_cost_no_query_each(app, make_user):
    # Each assignee the rules read was loaded, then dropped by the session (it holds them weakly)
    # and loaded again: two queries per request with its own assignee.
    owner_id = make_user("sam", "staff").id
    me = make_user("me", "hco", department=POLICY)
    officers = iter([make_user(f"o{i}", "hco", department=POLICY).id for i in range(8)])
    web = _web(app, me)

    def claimed_by_one_who_left(n: int) -> None:
        for _ in range(n):
            officer = db.session.get(User, next(officers))
            _claimed(db.session.get(User, owner_id), officer)
            # (their account closed: the request waits for every officer; people are looked up
            # again, as a request of the web client ends the session they were made in)
            officer.active = False
            db.session.commit()

    def count() -> tuple[int, int]:
        web.get("/")
        with counted() as statements:
            shown = web.get("/").get_data(as_text=True).count("Flood relief")
        return len(statements), shown

    claimed_by_one_who_left(2)
    few, shown = count()
    assert shown == 2
    claimed_by_one_who_left(6)
    assert count() == (few, 8)


def test_the_rule_leaves_other_roles_steps_alone(api, people, make_case):
    # An officer who also holds the CAO's role took a request up: the CAO's approval then waited
    # for that officer alone, and the CAO's office was neither told nor shown it.
    case = make_case("submitted")
    both, hana, cao = people["both"], people["hco"], people["cao"]
    fire(api(both), case.id, "start_triage", case.version)
    submit_score(db.session, hana, case.id, RATINGS)
    body = api(hana).get(f"/api/v1/cases/{case.id}").get_json()
    body = fire(api(hana), case.id, "recommend", body["version"],
                data={"recommendation": "approve", "amount_granted": "20000.00"}).get_json()
    assert body["state"] == "recommended"
    db.session.expire_all()
    assert [c.id for c in queries.waiting_for(db.session, cao).cases] == [case.id]
