"""The person who recommended a relief request cannot also decide it, even holding the CAO's role."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Role, User
from tests.workflows.relief.conftest import RATINGS, fire, snapshot
from workflows.scoring import submit_score


def _recommended_by_both(api, people, make_case, amount="20000.00"):
    # Asking for as much as the largest grant proposed here (a grant above the request is refused).
    case = make_case("submitted", amount_requested="90000.00")
    both = api(people["both"])
    fire(both, case.id, "start_triage", case.version)
    submit_score(db.session, people["both"], case.id, RATINGS)
    version = both.get(f"/api/v1/cases/{case.id}").get_json()["version"]
    r = fire(both, case.id, "recommend", version, data={"recommendation": "approve", "amount_granted": amount})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_the_recommender_may_not_approve_and_nothing_changes(api, people, make_case):
    case = _recommended_by_both(api, people, make_case)
    assert "approve" not in case["allowed_transitions"]
    before = snapshot(case["id"])
    r = fire(api(people["both"]), case["id"], "approve", case["version"])
    assert (r.status_code, r.get_json()["error"]) == (403, "forbidden")
    assert "recommended" in r.get_json()["message"] and "separation of duties" in r.get_json()["message"]
    assert snapshot(case["id"]) == before


def test_the_recommender_may_not_decline_either_as_cao_or_at_council(api, people, make_user, make_case):
    # Declining decides as much as approving: one who recommended declining then declined it
    # themselves as the CAO, and saw the request waiting for them.
    case = _recommended_by_both(api, people, make_case)
    assert "decline" not in case["allowed_transitions"]
    before = snapshot(case["id"])
    r = fire(api(people["both"]), case["id"], "decline", case["version"], comment="Not this one.")
    assert r.status_code == 403 and "separation of duties" in r.get_json()["message"]
    assert snapshot(case["id"]) == before
    hco_and_council = make_user("lee", "hco", "council", department="City Clerk's Office")
    case = _recommended_by_both(api, {**people, "both": hco_and_council}, make_case, "90000.00")
    endorsed = fire(api(people["cao"]), case["id"], "approve", case["version"]).get_json()
    assert "decline" not in api(hco_and_council).get(f"/api/v1/cases/{case['id']}").get_json()["allowed_transitions"]
    r = fire(api(hco_and_council), case["id"], "decline", endorsed["version"], comment="No.")
    assert r.status_code == 403
    r = fire(api(people["council"]), case["id"], "decline", endorsed["version"], comment="No.")
    assert r.get_json()["state"] == "declined"


def test_the_recommender_may_not_endorse_above_the_limit_either(api, people, make_case):
    case = _recommended_by_both(api, people, make_case, "90000.00")
    before = snapshot(case["id"])
    r = fire(api(people["both"]), case["id"], "approve", case["version"], data={"amount_granted": "1000.00"})
    assert r.status_code == 403
    assert snapshot(case["id"]) == before


def test_another_cao_may_approve_what_the_dual_role_officer_recommended(api, people, make_case):
    case = _recommended_by_both(api, people, make_case)
    assert "approve" in api(people["cao"]).get(f"/api/v1/cases/{case['id']}").get_json()["allowed_transitions"]
    assert fire(api(people["cao"]), case["id"], "approve", case["version"]).get_json()["state"] == "approved"


def test_a_dual_role_officer_may_approve_what_someone_else_recommended(api, people, make_case):
    case = make_case("recommended")
    r = fire(api(people["both"]), case.id, "approve", case.version)
    assert r.status_code == 200 and r.get_json()["state"] == "approved"


def test_an_officer_who_declared_a_conflict_decides_it_no_more_as_cao_than_as_officer(api, people, make_case):
    # One who holds both roles stepped aside in triage, a colleague recommended it, and the CAO in
    # them approved what the officer in them had declared a conflict of interest on.
    case = make_case("in_triage")
    submit_score(db.session, people["both"], case.id, {}, conflict="recused")
    submit_score(db.session, people["hco"], case.id, RATINGS)
    version = api(people["hco"]).get(f"/api/v1/cases/{case.id}").get_json()["version"]
    r = fire(api(people["hco"]), case.id, "recommend", version,
             data={"recommendation": "approve", "amount_granted": "20000.00"})
    assert r.status_code == 200, r.get_json()
    shown = api(people["both"]).get(f"/api/v1/cases/{case.id}").get_json()
    assert shown["allowed_transitions"] == []
    before = snapshot(case.id)
    for trigger, body in (("approve", {}), ("decline", {"comment": "No."})):
        r = fire(api(people["both"]), case.id, trigger, shown["version"], **body)
        assert r.status_code == 403 and "declared a conflict of interest" in r.get_json()["message"]
    assert snapshot(case.id) == before
    assert fire(api(people["cao"]), case.id, "approve", shown["version"]).get_json()["state"] == "approved"


def test_the_recommender_may_not_approve_at_council_either(api, people, make_user, make_case):
    hco_and_council = make_user("lee", "hco", "council", department="City Clerk's Office")
    case = _recommended_by_both(api, {**people, "both": hco_and_council}, make_case, "90000.00")
    endorsed = fire(api(people["cao"]), case["id"], "approve", case["version"]).get_json()
    assert endorsed["state"] == "council_review"
    assert "approve" not in api(hco_and_council).get(f"/api/v1/cases/{case['id']}").get_json()["allowed_transitions"]
    before = snapshot(case["id"])
    r = fire(api(hco_and_council), case["id"], "approve", endorsed["version"])
    assert r.status_code == 403 and "separation of duties" in r.get_json()["message"]
    assert snapshot(case["id"]) == before
    assert fire(api(people["council"]), case["id"], "approve", endorsed["version"]).get_json()["state"] == "approved"


def test_an_officer_whose_role_is_taken_away_no_longer_reads_what_they_took_up(app, api, people, make_case):
    # Taking a request up made the officer its assignee, and the assignee read it: moved out of the
    # office, they still read it, its history and its contact, and commented on it.
    case = make_case("in_triage")
    assert case.assignee_id == people["hco"].id
    hana = db.session.get(User, people["hco"].id)
    hana.roles = list(db.session.scalars(select(Role).where(Role.name == "staff")))
    db.session.commit()
    client = api(hana)
    assert client.get(f"/api/v1/cases/{case.id}").status_code == 404
    assert client.get(f"/api/v1/cases/{case.id}/history").status_code == 404
    assert client.post(f"/api/v1/cases/{case.id}/comments", json={"comment": "Still here"}).status_code == 404
    listed = client.get("/api/v1/cases").get_json()
    assert (listed["total"], listed["items"]) == (0, [])  # the page, not its count alone
    # Another officer reads it, and may carry it on.
    assert api(people["hco2"]).get(f"/api/v1/cases/{case.id}").status_code == 200


def test_an_officer_recommends_once_they_have_scored_and_read_the_other_reviews(app, api, people, make_case, browse):
    # Hana scored the request 1 throughout; Omar, blind to her review until he scored, was offered
    # Recommend all the same, and recommended it for approval at the full amount unseen.
    case = make_case("in_triage")
    weak = {criterion: 1 for criterion in RATINGS}
    submit_score(db.session, people["hco"], case.id, weak, comment="Weak case")
    omar = api(people["hco2"])
    shown = omar.get(f"/api/v1/cases/{case.id}").get_json()
    assert "recommend" not in shown["allowed_transitions"]
    page = browse(people["hco2"]).get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/cases/{case.id}/actions/recommend" not in page
    assert "<strong>Recommend</strong>: not now. Score the request before recommending it" in page
    before = snapshot(case.id)
    r = fire(omar, case.id, "recommend", shown["version"],
             data={"recommendation": "approve", "amount_granted": "20000.00"})
    assert r.status_code == 422 and r.get_json()["guard"] == "scored_by_recommender"
    assert snapshot(case.id) == before
    # Scored, he reads Hana's review, and recommends as he then judges.
    submit_score(db.session, people["hco2"], case.id, RATINGS)
    assert "Weak case" in browse(people["hco2"]).get(f"/cases/{case.id}").get_data(as_text=True)
    version = omar.get(f"/api/v1/cases/{case.id}").get_json()["version"]
    r = fire(omar, case.id, "recommend", version, data={"recommendation": "decline", "amount_granted": "0.00"})
    assert r.status_code == 200 and r.get_json()["state"] == "recommended"
