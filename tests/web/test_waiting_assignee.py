"""A request an officer took up waits for that officer alone, in the lists' SQL as in their rules:
other officers' claimed requests neither fill their pages nor cost a query each, and steps of
other roles are not caught by the rule."""
from __future__ import annotations

from extensions import db
from models import Case, User
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


def test_a_request_past_its_decision_waits_for_every_officer(app, people):
    # "Close" (hco only) left a disbursed request to the officer who had taken up its triage,
    # though she had declared a conflict: she alone was asked to close it. The rule now holds
    # only in the officer's own review (in_triage).
    import clock
    from notifications import people_who_can_act

    hana, omar, owner = people["hco"], people["hco2"], people["owner"]
    case = engine.create_case(db.session, owner, "relief", "Flood", ["compassion"], relief_data())
    case = engine.fire(db.session, owner, case.id, "submit", case.version)
    case = engine.fire(db.session, hana, case.id, "start_triage", case.version)
    submit_score(db.session, hana, case.id, {}, conflict="recused")
    submit_score(db.session, omar, case.id, RATINGS)
    case = db.session.get(Case, case.id)
    assert case.id in [c.id for c in queries.waiting_for(db.session, omar).cases]  # back to every officer
    case = engine.fire(db.session, omar, case.id, "recommend", case.version,
                       payload={"recommendation": "approve", "amount_granted": "20000.00"})
    case = engine.fire(db.session, people["cao"], case.id, "approve", case.version)
    case = engine.fire(db.session, people["finance"], case.id, "disburse", case.version,
                       payload={"amount_paid": "20000.00", "paid_on": clock.today().isoformat(),
                                "payment_reference": "EFT-1"})
    db.session.expire_all()
    omar = db.session.get(User, omar.id)
    assert case.id in [c.id for c in queries.waiting_for(db.session, omar).cases]
    assert {p.username for p in people_who_can_act(db.session, db.session.get(Case, case.id))} >= {
        omar.username, people["hco"].username}


def test_the_cao_waiting_list_reads_the_officers_once(app, make_user, api):
    # The API's list showed each request's assignee, loaded one by one with their roles after the
    # rules were done with them.
    owner_id = make_user("sam", "staff").id
    client = api(make_user("morgan", "cao", department="Chief Administrative Officer"))
    officers = iter([make_user(f"o{i}", "hco", department=POLICY).id for i in range(8)])

    def recommended(n: int) -> None:
        for _ in range(n):
            officer = db.session.get(User, next(officers))
            case_id = _claimed(db.session.get(User, owner_id), officer)
            submit_score(db.session, officer, case_id, RATINGS)
            case = db.session.get(Case, case_id)
            engine.fire(db.session, officer, case_id, "recommend", case.version,
                        payload={"recommendation": "approve", "amount_granted": "20000.00"})

    def count() -> tuple[int, int]:
        client.get("/api/v1/cases/waiting")
        with counted() as statements:
            items = client.get("/api/v1/cases/waiting").get_json()["items"]
        return len(items), len(statements)

    recommended(2)
    shown, few = count()
    recommended(6)
    assert (shown, count()) == (2, (8, few))
