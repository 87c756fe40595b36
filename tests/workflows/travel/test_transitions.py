"""Every row of the travel table (product.md §3.1) through the API: allowed, and refused without change."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

import clock
from extensions import db
from models import AuditEvent, Case, User
from tests.workflows.travel.conftest import REPORT, TODAY, reported_after_a_recusal, trip_data


def snapshot(case_id: int) -> tuple:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    events = db.session.scalar(select(func.count()).where(AuditEvent.case_id == case_id))
    return case.state, case.version, dict(case.data), events, case.last_event_hash


def fire(client, case, trigger, version=None, **body):
    return client.post(f"/api/v1/cases/{case.id}/transitions",
                       json={"trigger": trigger, "version": case.version if version is None else version, **body})


EXPENSIVE = {"registration": "1200.00", "transport": "2900.00", "accommodation": "1400.00"}  # 5,500.00


@pytest.mark.parametrize("owner, state, actor, trigger, body, dest", [
    ("sam", "draft", "sam", "submit", {}, "submitted"),
    ("sam", "submitted", "dana", "approve", {}, "approved"),
    ("chen", "submitted", "pat", "approve", {}, "approved"),
    ("sam", "submitted", "dana", "decline", {"comment": "Not this year."}, "declined"),
    ("chen", "submitted", "pat", "decline", {"comment": "Not this year."}, "declined"),
    ("sam", "submitted", "dana", "return", {"comment": "Add the per diem."}, "draft"),
    ("chen", "submitted", "pat", "return", {"comment": "Add the per diem."}, "draft"),
    ("sam", "draft", "sam", "cancel", {}, "cancelled"),
    ("sam", "submitted", "sam", "cancel", {}, "cancelled"),
    ("sam", "approved", "sam", "cancel", {}, "cancelled"),
    ("sam", "report_submitted", "dana", "return_report", {"comment": "Add the contacts."}, "travelled"),
    ("chen", "report_submitted", "pat", "return_report", {"comment": "Add the contacts."}, "travelled"),
    ("sam", "report_submitted", "dana", "accept_report", {}, "closed"),
    ("chen", "report_submitted", "pat", "accept_report", {}, "closed"),
])
def test_allowed_steps_move_the_case(api, people, make_trip, owner, state, actor, trigger, body, dest):
    case = make_trip(owner, state)
    version = case.version
    r = fire(api(people[actor]), case, trigger, **body)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == dest
    assert r.get_json()["version"] == version + 1


def test_above_the_threshold_the_approval_goes_on_to_the_cao(api, people, make_trip):
    case = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), **EXPENSIVE))
    r = fire(api(people["dana"]), case, "approve")
    assert r.get_json()["state"] == "cao_review"
    case = db.session.get(Case, case.id)
    assert fire(api(people["dana"]), case, "approve").status_code == 403  # the head has decided; the CAO now
    r = fire(api(people["cao"]), case, "approve")
    assert r.status_code == 200 and r.get_json()["state"] == "approved"


def test_at_the_threshold_the_approver_decides_alone(api, people, make_trip):
    case = make_trip("chen", "submitted", trip_data(TODAY + timedelta(days=30), transport="5000.00"))
    assert fire(api(people["pat"]), case, "approve").get_json()["state"] == "approved"


def test_the_threshold_comes_from_configuration(app, api, people, make_trip):
    from decimal import Decimal

    app.config["ACCORD_TRAVEL_CAO_THRESHOLD"] = Decimal("1000.00")
    case = make_trip("sam", "submitted")
    assert fire(api(people["dana"]), case, "approve").get_json()["state"] == "cao_review"


@pytest.mark.parametrize("trigger, body, dest", [
    ("decline", {"comment": "Too costly."}, "declined"),
    ("return", {"comment": "Find a cheaper flight."}, "draft"),
])
def test_the_cao_declines_or_returns_in_cao_review(api, people, make_trip, trigger, body, dest):
    case = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), **EXPENSIVE))
    case = fire(api(people["dana"]), case, "approve")
    case = db.session.get(Case, case.get_json()["id"])
    r = fire(api(people["cao"]), case, trigger, **body)
    assert r.status_code == 200 and r.get_json()["state"] == dest


def test_complete_trip_from_the_first_day(api, people, make_trip):
    case = make_trip("sam", "approved")
    client = api(people["sam"])
    # Before the trip the traveller may cancel it, but not yet mark it as taken (the web page says why).
    assert client.get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"] == ["cancel"]
    assert fire(client, case, "complete_trip").status_code == 422
    clock.set(datetime.fromisoformat(case.data["start_date"]) + timedelta(hours=14))
    assert client.get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"] == ["cancel", "complete_trip"]
    r = fire(client, case, "complete_trip")
    assert r.status_code == 200 and r.get_json()["state"] == "travelled"


def test_submit_report_stores_the_report_under_report(api, people, make_trip):
    case = make_trip("sam", "travelled")
    r = fire(api(people["sam"]), case, "submit_report", data={**REPORT, "actual_cost": 2875.4})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["state"] == "report_submitted"
    assert body["data"]["report"]["actual_cost"] == "2875.40"
    assert body["data"]["report"]["contacts"][0]["organization"] == "Prefeitura de Sao Paulo"
    assert body["data"]["report"]["filed_on"] == TODAY.isoformat()
    assert "summary" not in body["data"]
    assert db.session.get(Case, case.id).amount_paid == __import__("decimal").Decimal("2875.40")


def test_a_returned_request_is_edited_and_resubmitted(api, people, make_trip):
    case = make_trip("sam", "submitted")
    version = fire(api(people["dana"]), case, "return", comment="Add the per diem.").get_json()["version"]
    client = api(people["sam"])
    r = client.patch(f"/api/v1/cases/{case.id}", json={"version": version, "data": {
        "estimated_cost": {"registration": "650.00", "per_diem": "300.00", "total": "1.00"}}})
    assert r.status_code == 200, r.get_json()
    # The per diem is added to the lines already there (650 + 1,400 + 900); a total sent is not read.
    assert r.get_json()["data"]["estimated_cost"]["total"] == "3250.00"
    r = client.post(f"/api/v1/cases/{case.id}/transitions", json={"trigger": "submit", "version": version + 1})
    assert r.get_json()["state"] == "submitted"


OVERDUE_TRIP = trip_data(TODAY - timedelta(days=60))


@pytest.mark.parametrize("owner, state, actor, trigger, body, status, code", [
    # submit
    ("sam", "draft", "dana", "submit", {}, 403, "forbidden"),
    ("sam", "submitted", "sam", "submit", {}, 409, "invalid_transition"),
    # approve: wrong role, other department's head, wrong approver for the kind of traveller, wrong state
    ("sam", "submitted", "cao", "approve", {}, 403, "forbidden"),
    ("sam", "submitted", "eli", "approve", {}, 404, "not_found"),
    ("sam", "submitted", "pat", "approve", {}, 403, "forbidden"),
    ("chen", "submitted", "cao", "approve", {}, 403, "forbidden"),
    ("sam", "submitted", "sam", "approve", {}, 403, "forbidden"),
    ("sam", "draft", "dana", "approve", {}, 409, "invalid_transition"),
    ("sam", "approved", "dana", "approve", {}, 409, "invalid_transition"),
    # decline and return: a comment, the right approver, the right state
    ("sam", "submitted", "dana", "decline", {}, 422, "validation_failed"),
    ("sam", "submitted", "dana", "decline", {"comment": "   "}, 422, "validation_failed"),
    ("sam", "submitted", "dana", "return", {}, 422, "validation_failed"),
    ("sam", "submitted", "pat", "decline", {"comment": "No."}, 403, "forbidden"),
    ("chen", "submitted", "cao", "return", {"comment": "No."}, 403, "forbidden"),
    ("sam", "submitted", "sam", "decline", {"comment": "No."}, 403, "forbidden"),
    ("sam", "approved", "dana", "decline", {"comment": "No."}, 409, "invalid_transition"),
    ("sam", "draft", "dana", "return", {"comment": "No."}, 409, "invalid_transition"),
    # cancel
    ("sam", "submitted", "dana", "cancel", {}, 403, "forbidden"),
    ("sam", "travelled", "sam", "cancel", {}, 409, "invalid_transition"),
    ("sam", "declined", "sam", "cancel", {}, 409, "invalid_transition"),
    # complete_trip: the owner, from approved, not before the first day
    ("sam", "approved", "sam", "complete_trip", {}, 422, "guard_failed"),
    ("sam", "approved", "dana", "complete_trip", {}, 403, "forbidden"),
    ("sam", "submitted", "sam", "complete_trip", {}, 409, "invalid_transition"),
    # submit_report: the owner, from travelled, valid fields
    ("sam", "travelled", "sam", "submit_report", {"data": {"summary": "Good."}}, 422, "validation_failed"),
    ("sam", "travelled", "sam", "submit_report",
     {"data": {**REPORT, "contacts": [{"name": "Ana", "organization": "X", "email": "no"}]}}, 422, "validation_failed"),
    ("sam", "travelled", "sam", "submit_report", {"data": {**REPORT, "actual_cost": "12.345"}}, 422,
     "validation_failed"),
    ("sam", "travelled", "dana", "submit_report", {"data": REPORT}, 403, "forbidden"),
    ("sam", "approved", "sam", "submit_report", {"data": REPORT}, 409, "invalid_transition"),
    # return_report and accept_report: the approver of the request
    ("sam", "report_submitted", "dana", "return_report", {}, 422, "validation_failed"),
    ("sam", "report_submitted", "cao", "return_report", {"comment": "No."}, 403, "forbidden"),
    ("sam", "report_submitted", "eli", "accept_report", {}, 404, "not_found"),
    ("sam", "report_submitted", "pat", "accept_report", {}, 403, "forbidden"),
    ("chen", "report_submitted", "dana", "accept_report", {}, 404, "not_found"),
    ("sam", "report_submitted", "sam", "accept_report", {}, 403, "forbidden"),
    ("sam", "travelled", "dana", "accept_report", {}, 409, "invalid_transition"),
    ("sam", "closed", "dana", "return_report", {"comment": "No."}, 409, "invalid_transition"),
])
def test_refusals_answer_and_change_nothing(api, people, make_trip, owner, state, actor, trigger, body, status, code):
    case = make_trip(owner, state)
    before = snapshot(case.id)
    r = fire(api(people[actor]), case, trigger, **body)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"] == code and r.get_json()["message"]
    assert snapshot(case.id) == before


def test_a_head_cannot_approve_their_own_trip(api, make_user, make_trip, people):
    boss = make_user("dora", "dept_head", "staff")
    case_id = api(boss).post("/api/v1/cases", json={
        "workflow": "travel", "title": "WHO Healthy Cities conference", "goals": ["compassion"],
        "data": trip_data(TODAY + timedelta(days=20))}).get_json()["id"]
    case = db.session.get(Case, case_id)
    assert fire(api(boss), case, "submit").status_code == 200
    case = db.session.get(Case, case_id)
    before = snapshot(case_id)
    r = fire(api(boss), case, "approve")
    assert r.status_code == 403 and "separation of duties" in r.get_json()["message"]
    assert snapshot(case_id) == before
    assert fire(api(people["dana"]), case, "approve").get_json()["state"] == "approved"


def test_the_cao_step_refuses_the_head_and_a_missing_comment(api, people, make_trip):
    case = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), **EXPENSIVE))
    fire(api(people["dana"]), case, "approve")
    case = db.session.get(Case, case.id)
    before = snapshot(case.id)
    for actor, trigger, body, status in [("dana", "decline", {"comment": "No."}, 403),
                                         ("pat", "return", {"comment": "No."}, 403),
                                         ("cao", "decline", {}, 422), ("cao", "return", {"comment": ""}, 422),
                                         ("sam", "approve", {}, 403)]:
        assert fire(api(people[actor]), case, trigger, **body).status_code == status
        assert snapshot(case.id) == before


def test_a_stale_version_is_refused(api, people, make_trip):
    case = make_trip("sam", "submitted")
    before = snapshot(case.id)
    r = fire(api(people["dana"]), case, "approve", version=case.version - 1)
    assert r.status_code == 409 and r.get_json()["error"] == "stale_version"
    assert snapshot(case.id) == before


def test_an_ineligible_request_cannot_be_approved_and_says_why(api, people, make_trip):
    make_trip("sam", "travelled", OVERDUE_TRIP, title="IULA World Congress")
    case = make_trip("sam", "submitted")
    before = snapshot(case.id)
    r = fire(api(people["dana"]), case, "approve")
    assert r.status_code == 422
    assert r.get_json()["guard"] == "is_eligible"
    assert "overdue" in r.get_json()["message"]
    assert snapshot(case.id) == before
    # Declining or returning it stays possible.
    assert fire(api(people["dana"]), case, "return", comment="File your IULA report first.").status_code == 200


def test_a_trip_never_marked_taken_owes_its_report_to_the_knock_out_too(api, people, make_trip, app, monkeypatch):
    # Its traveller is mailed that its report is overdue; never marking it taken let their next trips through.
    ended = make_trip("sam", "approved", trip_data(TODAY - timedelta(days=40), days=5), title="IULA World Congress")
    case = make_trip("sam", "submitted")
    r = fire(api(people["dana"]), case, "approve")
    assert r.status_code == 422 and r.get_json()["guard"] == "is_eligible" and "overdue" in r.get_json()["message"]
    # Until its report would be due (30 days after its end), it owes none yet.
    with monkeypatch.context() as later:
        later.setitem(app.config, "ACCORD_TRAVEL_REPORT_DUE_DAYS", 40)
        assert fire(api(people["dana"]), case, "approve").get_json()["state"] == "approved"
    # Cancelled (it was not taken), it owes nothing; another's unmarked trip counts only for them.
    make_trip("erin", "approved", trip_data(TODAY - timedelta(days=40), days=5))
    assert fire(api(people["sam"]), db.session.get(Case, ended.id), "cancel").status_code == 200
    again = make_trip("sam", "submitted", title="Metropolis 2026, again")
    assert fire(api(people["dana"]), again, "approve").get_json()["state"] == "approved"


def test_a_department_heads_own_trip_is_approved_by_the_cao(api, make_user, people):
    """A head cannot approve their own trip, nor can another department's head: the CAO does,
    at once even above the threshold (there is no one above the CAO to review it)."""
    from extensions import db
    from workflows import engine

    head = people["eli"]  # Economic Development and Culture; hugo heads Toronto Public Health
    data = trip_data(TODAY + timedelta(days=30), registration="4000.00", transport="2500.00")
    case = engine.create_case(db.session, make_user("hugo", "staff", "dept_head"), "travel", "Head's trip",
                              ["leadership"], data)
    case = engine.fire(db.session, case.owner, case.id, "submit", case.version)
    assert api(head).post(f"/api/v1/cases/{case.id}/transitions",
                          json={"trigger": "approve", "version": case.version}).status_code == 404
    r = api(people["cao"]).post(f"/api/v1/cases/{case.id}/transitions",
                                json={"trigger": "approve", "version": case.version})
    assert r.status_code == 200 and r.get_json()["state"] == "approved"


def test_an_approver_who_recused_does_not_decide_and_the_cao_or_another_member_does(api, people, make_user, make_trip):
    # The head who declared a conflict of interest could still approve, decline or return the trip.
    trip = make_trip("sam", "submitted")
    dana, cao = api(people["dana"]), api(people["cao"])
    assert cao.get(f"/api/v1/cases/{trip.id}").get_json()["allowed_transitions"] == []  # the head decides
    r = dana.post(f"/api/v1/cases/{trip.id}/scores", json={"conflict": "recused"})
    assert r.status_code == 201
    version = dana.get(f"/api/v1/cases/{trip.id}").get_json()["version"]
    assert dana.get(f"/api/v1/cases/{trip.id}").get_json()["allowed_transitions"] == []
    for trigger, body in [("approve", {}), ("decline", {"comment": "No."}), ("return", {"comment": "Fix."})]:
        r = fire(dana, trip, trigger, version, **body)
        assert r.status_code == 403 and "conflict of interest" in r.get_json()["message"], trigger
    assert cao.get(f"/api/v1/cases/{trip.id}").get_json()["allowed_transitions"] == ["approve", "decline", "return"]
    assert fire(cao, trip, "approve", version).get_json()["state"] == "approved"
    # A councillor's trip: another member of the committee decides.
    pia = make_user("pia", "committee", department="City Clerk's Office")
    councillors = make_trip("chen", "submitted")
    pat = api(people["pat"])
    assert pat.post(f"/api/v1/cases/{councillors.id}/scores", json={"conflict": "recused"}).status_code == 201
    version = pat.get(f"/api/v1/cases/{councillors.id}").get_json()["version"]
    assert fire(pat, councillors, "approve", version).status_code == 403
    assert fire(cao, councillors, "approve", version).status_code == 403  # not the CAO's to decide
    assert fire(api(pia), councillors, "approve", version).get_json()["state"] == "approved"


def test_a_cao_stepping_aside_from_a_costly_trip_hands_the_heads_decision_to_no_other_cao(api, people, make_user,
                                                                                         make_trip):
    # The CAO scores a staff trip above the threshold; their conflict handed the head's decision to
    # any other CAO, who approved it at `submitted`, past the head, straight to `approved`.
    cao2 = api(make_user("cao2", "cao", department="Chief Administrative Officer"))
    trip = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), registration="6000.00"))
    assert api(people["cao"]).post(f"/api/v1/cases/{trip.id}/scores", json={"conflict": "recused"}).status_code == 201
    body = cao2.get(f"/api/v1/cases/{trip.id}").get_json()
    assert body["allowed_transitions"] == []
    assert fire(cao2, trip, "approve", body["version"]).status_code == 403
    dana = api(people["dana"])
    assert dana.get(f"/api/v1/cases/{trip.id}").get_json()["allowed_transitions"] == ["approve", "decline", "return"]
    assert fire(dana, trip, "approve", body["version"]).get_json()["state"] == "cao_review"


def test_only_who_decides_a_trip_scores_it(api, people, make_trip):
    # Any committee member or CAO could score any staff trip, and their ratings entered its
    # aggregate and its reviewers' disagreement, though neither decides it.
    ratings = {"relevance": 4, "expected_value": 3, "knowledge_sharing": 5}
    staff_trip = make_trip("sam", "submitted")
    councillor_trip = make_trip("chen", "submitted")

    def scored(who: str, case) -> int:
        return api(people[who]).post(f"/api/v1/cases/{case.id}/scores", json={"ratings": ratings}).status_code

    r = api(people["pat"]).post(f"/api/v1/cases/{staff_trip.id}/scores", json={"ratings": ratings})
    assert r.status_code == 403 and "Only who decides this trip scores it" in r.get_json()["message"]
    assert scored("cao", staff_trip) == 403
    assert scored("dana", staff_trip) == 201
    assert scored("pat", councillor_trip) == 201
    # The CAO, who may come to decide any trip, reads the head's review once the trip is decided.
    assert fire(api(people["dana"]), staff_trip, "approve").get_json()["state"] == "approved"
    assert [i["reviewer"] for i in api(people["cao"]).get(f"/api/v1/cases/{staff_trip.id}/scores").get_json()["items"]] \
        == ["dana"]



def test_the_cao_scores_a_staff_trip_only_above_the_threshold_not_at_it(api, people, make_trip):
    # A trip of exactly the threshold is the head's alone to approve (test_at_the_threshold_...): the
    # CAO, who will not see it in CAO review, does not score it either; a cent above, they do.
    ratings = {"relevance": 4, "expected_value": 3, "knowledge_sharing": 5}
    at = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), transport="5000.00"))
    above = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), transport="5000.01"))
    cao = api(people["cao"])
    assert cao.post(f"/api/v1/cases/{at.id}/scores", json={"ratings": ratings}).status_code == 403
    assert cao.post(f"/api/v1/cases/{above.id}/scores", json={"ratings": ratings}).status_code == 201

def test_in_cao_review_the_head_who_approved_no_longer_scores(api, people, make_trip):
    # The head approved without scoring (or after), then scored the trip the CAO was deciding on:
    # the score went into the aggregate the CAO read.
    ratings = {"relevance": 1, "expected_value": 0, "knowledge_sharing": 1}
    case = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), **EXPENSIVE))
    assert fire(api(people["dana"]), case, "approve").get_json()["state"] == "cao_review"
    r = api(people["dana"]).post(f"/api/v1/cases/{case.id}/scores", json={"ratings": ratings})
    assert r.status_code == 403 and "once it is in CAO review, the CAO alone" in r.get_json()["message"]
    assert api(people["cao"]).post(f"/api/v1/cases/{case.id}/scores", json={"ratings": ratings}).status_code == 201
    assert [i["reviewer"] for i in api(people["cao"]).get(f"/api/v1/cases/{case.id}/scores").get_json()["items"]] \
        == ["cao"]


def test_the_head_reads_no_cao_review_of_a_trip_that_may_come_back_to_them(api, people, make_trip, browse):
    # The head approved without scoring; in CAO review they read the CAO's ratings and comment, and
    # once the CAO returned the trip and it was resubmitted, scored it with the CAO's review read.
    ratings = {"relevance": 1, "expected_value": 0, "knowledge_sharing": 1}
    case = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), **EXPENSIVE))
    assert fire(api(people["dana"]), case, "approve").get_json()["state"] == "cao_review"
    cao, head = api(people["cao"]), api(people["dana"])
    assert cao.post(f"/api/v1/cases/{case.id}/scores", json={"ratings": ratings, "comment": "Too dear."}).status_code == 201
    assert head.get(f"/api/v1/cases/{case.id}/scores").get_json()["items"] == []
    assert [e["comment"] for e in head.get(f"/api/v1/cases/{case.id}/history").get_json()["events"]
            if e["action"] == "score"] == [None]
    # Not theirs to score now: the page says when the review shows, which is not once they score.
    page = browse(people["dana"]).get(f"/cases/{case.id}").get_data(as_text=True)
    assert "1 other review will be shown once the request is decided." in page
    assert "Other reviews show once you have submitted your own, or once the request is decided." in page
    case = db.session.get(Case, case.id)
    assert fire(cao, case, "approve").get_json()["state"] == "approved"  # decided: past scoring for good
    assert [i["comment"] for i in head.get(f"/api/v1/cases/{case.id}/scores").get_json()["items"]] == ["Too dear."]


def test_the_cao_reads_no_review_of_a_trip_under_its_threshold_while_it_may_come_to_them(api, people, make_trip):
    # Returned, a trip's cost may pass the CAO threshold: the CAO would review it having read the head's.
    ratings = {"relevance": 1, "expected_value": 0, "knowledge_sharing": 1}
    case = make_trip("sam", "submitted")
    head, cao = api(people["dana"]), api(people["cao"])
    assert head.post(f"/api/v1/cases/{case.id}/scores", json={"ratings": ratings, "comment": "Weak."}).status_code == 201
    assert cao.get(f"/api/v1/cases/{case.id}/scores").get_json()["items"] == []
    case = db.session.get(Case, case.id)
    assert fire(head, case, "return", comment="Add the costs.").get_json()["state"] == "draft"
    assert cao.get(f"/api/v1/cases/{case.id}/scores").get_json()["items"] == []  # (it comes back)
    r = api(people["sam"]).patch(f"/api/v1/cases/{case.id}", json={
        "version": db.session.get(Case, case.id).version, "data": {"estimated_cost": {"transport": "8000.00"}}})
    assert r.status_code == 200, r.get_json()
    case = db.session.get(Case, case.id)
    assert fire(api(people["sam"]), case, "submit").get_json()["state"] == "submitted"
    case = db.session.get(Case, case.id)
    assert fire(head, case, "approve").get_json()["state"] == "cao_review"
    assert cao.get(f"/api/v1/cases/{case.id}/scores").get_json()["items"] == []
    assert cao.post(f"/api/v1/cases/{case.id}/scores", json={"ratings": ratings}).status_code == 201
    assert [i["comment"] for i in cao.get(f"/api/v1/cases/{case.id}/scores").get_json()["items"]
            if i["reviewer"] == "dana"] == ["Weak."]


def test_the_cao_reads_no_review_of_a_trip_it_will_review_before_scoring_it(api, people, make_trip):
    # A trip above the CAO threshold comes to CAO review: the CAO read the head's ratings and
    # comment while it was submitted, and became blind only once it could no longer help.
    ratings = {"relevance": 1, "expected_value": 0, "knowledge_sharing": 1}
    big = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), registration="6000.00"))
    assert api(people["dana"]).post(f"/api/v1/cases/{big.id}/scores",
                                    json={"ratings": ratings, "comment": "Weak."}).status_code == 201
    cao = api(people["cao"])
    assert cao.get(f"/api/v1/cases/{big.id}/scores").get_json()["items"] == []
    assert [e["comment"] for e in cao.get(f"/api/v1/cases/{big.id}/history").get_json()["events"]
            if e["action"] == "score"] == [None]  # the head's comment, hidden
    assert cao.post(f"/api/v1/cases/{big.id}/scores", json={"ratings": ratings}).status_code == 201
    assert {i["reviewer"] for i in cao.get(f"/api/v1/cases/{big.id}/scores").get_json()["items"]} == {"dana", "cao"}


@pytest.mark.parametrize("owner, recused, decider, bystander", [
    ("sam", "dana", "cao", "pat"),  # a staff trip: its head stepped aside, the CAO decided
    ("chen", "pat", "pia", "cao"),  # a councillor's: a member stepped aside, another decided
])
def test_the_report_is_signed_off_by_who_decided_in_the_recused_approvers_place(
        api, people, make_user, make_trip, owner, recused, decider, bystander):
    # The head who had declared a conflict of interest, and had not decided the trip, accepted or
    # returned its report; the CAO who decided it in their place could not.
    from notifications import people_who_can_act
    from workflows.queries import waiting_for

    people["pia"] = make_user("pia", "committee", department="City Clerk's Office")
    trip = reported_after_a_recusal(make_trip, people, owner, recused, decider)
    before = snapshot(trip.id)
    for trigger, body in [("return_report", {"comment": "Add the contacts."}), ("accept_report", {})]:
        r = fire(api(people[recused]), trip, trigger, **body)
        assert r.status_code == 403 and "conflict of interest" in r.get_json()["message"], trigger
        assert snapshot(trip.id) == before
    assert fire(api(people[bystander]), trip, "accept_report").status_code in (403, 404)
    assert api(people[recused]).get(f"/api/v1/cases/{trip.id}").get_json()["allowed_transitions"] == []
    assert api(people[decider]).get(f"/api/v1/cases/{trip.id}").get_json()["allowed_transitions"] == [
        "return_report", "accept_report"]
    # Their waiting lists ("Awaiting my action") and the "awaits you" mail follow.
    db.session.expire_all()
    assert trip.id not in [c.id for c in waiting_for(db.session, db.session.get(User, people[recused].id)).cases]
    assert [c.id for c in waiting_for(db.session, db.session.get(User, people[decider].id)).cases] == [trip.id]
    assert {p.username for p in people_who_can_act(db.session, db.session.get(Case, trip.id))} == {decider}
    r = fire(api(people[decider]), trip, "accept_report")
    assert r.status_code == 200 and r.get_json()["state"] == "closed"


ENDED = "The trip ended on 2026-03-07: a request is approved before travelling; decline it or return it to the traveller."


def test_a_trip_already_over_cannot_be_approved_but_can_be_declined_or_returned(api, browse, people, make_trip):
    # Approved after its end, a trip's report was due 30 days after that end, already near or past,
    # and marked as travelled it was overdue at once.
    case = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=1), days=4))  # ends 2026-03-07
    dana = api(people["dana"])
    # Its last day is still before it: the evening of 7 March in Toronto is 8 March in UTC.
    clock.set(datetime(2026, 3, 8, 3, 0))
    assert dana.get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"] == ["approve", "decline", "return"]
    clock.set(datetime(2026, 3, 8, 15, 0))
    before = snapshot(case.id)
    r = fire(dana, case, "approve")
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["guard"] == "trip_not_over" and r.get_json()["message"] == ENDED
    assert snapshot(case.id) == before
    # Not offered: the page says why in its place; declining and returning stay open.
    assert dana.get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"] == ["decline", "return"]
    page = browse(people["dana"]).get(f"/cases/{case.id}").get_data(as_text=True)
    # ("not yet" said it would be: it never will)
    assert f"<strong>Approve</strong>: not now. {ENDED}" in page
    assert ">Approve</button>" not in page and ">Decline</button>" in page
    r = fire(dana, case, "return", comment="Was this trip taken? Tell us its dates.")
    assert r.status_code == 200 and r.get_json()["state"] == "draft"


@pytest.mark.parametrize("trigger, body, dest", [
    ("approve", {}, None),
    ("decline", {"comment": "The trip is over."}, "declined"),
    ("return", {"comment": "Was this trip taken?"}, "draft"),
])
def test_the_cao_does_not_approve_a_trip_already_over_either(api, people, make_trip, trigger, body, dest):
    case = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=1), days=4, **EXPENSIVE))
    assert fire(api(people["dana"]), case, "approve").get_json()["state"] == "cao_review"
    case = db.session.get(Case, case.id)
    cao = api(people["cao"])
    clock.set(datetime(2026, 3, 8, 15, 0))
    assert cao.get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"] == ["decline", "return"]
    before = snapshot(case.id)
    r = fire(cao, case, trigger, **body)
    if dest is None:
        assert r.status_code == 422 and r.get_json()["message"] == ENDED
        assert snapshot(case.id) == before
    else:
        assert r.status_code == 200 and r.get_json()["state"] == dest


def test_a_heads_own_trip_already_over_is_not_approved_by_the_cao_either(api, make_user, people):
    # The CAO approves a head's own trip straight to approved: the same rule holds on that route.
    from workflows import engine

    clock.set(datetime(2026, 3, 2, 15, 0))
    case = engine.create_case(db.session, make_user("hugo", "staff", "dept_head"), "travel", "Head's trip",
                              ["leadership"], trip_data(TODAY + timedelta(days=1), days=4))
    case = engine.fire(db.session, case.owner, case.id, "submit", case.version)
    clock.set(datetime(2026, 3, 8, 15, 0))
    before = snapshot(case.id)
    r = fire(api(people["cao"]), case, "approve")
    assert r.status_code == 422 and r.get_json()["message"] == ENDED
    assert snapshot(case.id) == before


def test_refusals_name_roles_and_states_as_people_read_them(api, people, make_trip):
    # "This step needs the role cao." and "... while the request is cao review.": a role's id, and
    # a state's label lowercased to the acronym's harm.
    case = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), **EXPENSIVE))
    assert fire(api(people["dana"]), case, "approve").get_json()["state"] == "cao_review"
    case = db.session.get(Case, case.id)
    r = fire(api(people["dana"]), case, "decline", comment="No.")
    assert r.status_code == 403
    assert r.get_json()["message"] == "This step needs the role “Chief Administrative Officer's office”."
    r = fire(api(people["sam"]), case, "complete_trip")
    assert r.status_code == 409
    assert r.get_json()["message"] == "“Mark as travelled” is not available while the request is CAO review."
    # A label without an acronym still reads lowercased in a sentence.
    reported = make_trip("sam", "report_submitted")
    r = fire(api(people["sam"]), reported, "cancel")
    assert r.get_json()["message"] == "“Cancel the trip” is not available while the request is report submitted."


@pytest.mark.parametrize("label, said", [("CAO review", "CAO review"), ("Report submitted", "report submitted"),
                                         ("At Council", "at Council"), ("Draft", "draft"), ("", "")])
def test_a_state_label_is_lowercased_in_a_sentence_unless_it_opens_with_an_acronym(label, said):
    from workflows.definition import in_sentence

    assert in_sentence(label) == said
