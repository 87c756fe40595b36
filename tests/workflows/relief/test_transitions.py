"""Every row of the relief table (product.md §3.2), allowed and refused, through the API."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import clock
from extensions import db
from models import Case
from tests.workflows.relief.conftest import fire, snapshot

TODAY = "today"


def _body(body: dict) -> dict:
    """Fill in today's date where a row needs it (the clock is read when the test runs)."""
    data = body.get("data")
    if data and data.get("paid_on") == TODAY:
        body = {**body, "data": {**data, "paid_on": clock.today().isoformat()}}
    return body


PAID = {"amount_paid": "20000.00", "paid_on": TODAY, "payment_reference": "EFT-2026-0147"}

ALLOWED = [
    # state, amount, who, trigger, body, dest
    ("draft", None, "owner", "submit", {}, "submitted"),
    ("submitted", None, "hco", "start_triage", {}, "in_triage"),
    ("in_triage", None, "hco", "request_info", {"comment": "Which agency would deliver the help?"}, "info_requested"),
    ("info_requested", None, "owner", "provide_info", {"data": {"channel": "Salvadoran Red Cross"}}, "in_triage"),
    ("scored", None, "hco", "recommend", {"data": {"recommendation": "approve", "amount_granted": "20000.00"}},
     "recommended"),
    ("in_triage", None, "hco", "decline", {"comment": "Screened out."}, "declined"),
    ("recommended", "20000.00", "cao", "approve", {}, "approved"),
    ("recommended", "25000.00", "cao", "approve", {}, "approved"),
    ("recommended", "20000.00", "cao", "approve", {"data": {"amount_granted": "18000.00"}}, "approved"),
    ("recommended", "20000.00", "cao", "approve", {"data": {"amount_granted": "25000.01"}}, "council_review"),
    ("recommended", "30000.00", "cao", "approve", {}, "council_review"),
    ("council_review", None, "council", "approve", {}, "approved"),
    ("recommended", None, "cao", "decline", {"comment": "Other orders of government are covering it."}, "declined"),
    ("council_review", None, "council", "decline", {"comment": "Council declined."}, "declined"),
    ("approved", None, "finance", "disburse", {"data": PAID}, "disbursed"),
    ("disbursed", None, "hco", "close", {"data": {"outcome": "Water restored to 40,000 residents."}}, "closed"),
    ("draft", None, "owner", "withdraw", {}, "withdrawn"),
    ("submitted", None, "owner", "withdraw", {}, "withdrawn"),
    ("in_triage", None, "owner", "withdraw", {}, "withdrawn"),
    ("info_requested", None, "owner", "withdraw", {}, "withdrawn"),
]


@pytest.mark.parametrize("state, amount, who, trigger, body, dest", ALLOWED,
                         ids=[f"{r[0]}-{r[3]}-{r[5]}" for r in ALLOWED])
def test_allowed_transition_moves_and_records_one_event(api, people, make_case, state, amount, who, trigger, body,
                                                        dest):
    case = make_case(state, amount)
    before = snapshot(case.id)
    r = fire(api(people[who]), case.id, trigger, case.version, **_body(body))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == dest
    after = snapshot(case.id)
    assert after[1] == before[1] + 1 and after[3] == before[3] + 1
    events = api(people[who]).get(f"/api/v1/cases/{case.id}/history").get_json()
    assert events["chain_valid"] and events["events"][-1]["action"] == trigger


REFUSED = [
    # state, who, trigger, body, status, code
    ("draft", "hco", "submit", {}, 403, "forbidden"),
    ("draft", "stranger", "submit", {}, 404, "not_found"),
    ("submitted", "owner", "start_triage", {}, 403, "forbidden"),
    ("submitted", "cao", "start_triage", {}, 403, "forbidden"),
    ("submitted", "hco", "recommend", {"data": {"recommendation": "approve", "amount_granted": "1.00"}}, 409,
     "invalid_transition"),
    ("submitted", "hco", "submit", {}, 403, "forbidden"),
    ("in_triage", "hco", "request_info", {}, 422, "validation_failed"),
    ("in_triage", "cao", "request_info", {"comment": "Why?"}, 403, "forbidden"),
    ("in_triage", "hco2", "decline", {"comment": "   "}, 422, "validation_failed"),
    ("in_triage", "hco", "recommend", {"data": {"recommendation": "approve", "amount_granted": "1.00"}}, 422,
     "guard_failed"),
    ("scored", "hco", "recommend", {"data": {"recommendation": "approve"}}, 422, "validation_failed"),
    ("scored", "hco", "recommend", {"data": {"recommendation": "maybe", "amount_granted": "1.00"}}, 422,
     "validation_failed"),
    ("scored", "hco", "recommend", {"data": {"recommendation": "approve", "amount_granted": 12.345}}, 422,
     "validation_failed"),
    ("scored", "owner", "recommend", {"data": {"recommendation": "approve", "amount_granted": "1.00"}}, 403,
     "forbidden"),
    ("info_requested", "hco", "provide_info", {}, 403, "forbidden"),
    ("info_requested", "owner", "provide_info", {"data": {"amount_granted": "99.00"}}, 422, "validation_failed"),
    ("info_requested", "owner", "provide_info", {"data": {"affected_population": "many"}}, 422,
     "validation_failed"),
    ("info_requested", "owner", "start_triage", {}, 403, "forbidden"),
    ("recommended", "hco", "approve", {}, 403, "forbidden"),
    ("recommended", "council", "approve", {}, 403, "forbidden"),
    ("recommended", "finance", "approve", {}, 403, "forbidden"),
    ("recommended", "owner", "approve", {}, 403, "forbidden"),
    ("recommended", "cao", "approve", {"data": {"amount_granted": "-5.00"}}, 422, "validation_failed"),
    ("recommended", "cao", "decline", {}, 422, "validation_failed"),
    ("recommended", "owner", "withdraw", {}, 409, "invalid_transition"),
    ("council_review", "cao", "approve", {}, 403, "forbidden"),
    ("council_review", "cao", "decline", {"comment": "No."}, 403, "forbidden"),
    ("council_review", "council", "decline", {}, 422, "validation_failed"),
    ("approved", "finance", "disburse", {"data": {**PAID, "amount_paid": "20000.01"}}, 422, "guard_failed"),
    ("approved", "finance", "disburse", {"data": {**PAID, "amount_paid": "0.00"}}, 422, "guard_failed"),
    ("approved", "finance", "disburse", {"data": {**PAID, "payment_reference": None}}, 422, "guard_failed"),
    ("approved", "finance", "disburse", {"data": {**PAID, "paid_on": "2999-01-01"}}, 422, "validation_failed"),
    ("approved", "cao", "disburse", {"data": PAID}, 403, "forbidden"),
    ("approved", "hco", "close", {"data": {"outcome": "Too early."}}, 409, "invalid_transition"),
    ("disbursed", "hco", "close", {}, 422, "validation_failed"),
    ("disbursed", "hco", "close", {"data": {"outcome": " "}}, 422, "validation_failed"),
    ("disbursed", "finance", "close", {"data": {"outcome": "Done."}}, 403, "forbidden"),
    ("closed", "owner", "withdraw", {}, 409, "invalid_transition"),
    ("declined", "cao", "approve", {}, 409, "invalid_transition"),
    ("withdrawn", "owner", "submit", {}, 409, "invalid_transition"),
]


@pytest.mark.parametrize("state, who, trigger, body, status, code", REFUSED,
                         ids=[f"{r[0]}-{r[1]}-{r[2]}-{r[4]}" for r in REFUSED])
def test_refusal_answers_and_changes_nothing(api, people, make_case, state, who, trigger, body, status, code):
    case = make_case(state)
    before = snapshot(case.id)
    r = fire(api(people[who]), case.id, trigger, case.version, **_body(body))
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"] == code and r.get_json()["message"]
    assert snapshot(case.id) == before


def test_stale_version_is_refused_and_changes_nothing(api, people, make_case):
    case = make_case("submitted")
    before = snapshot(case.id)
    r = fire(api(people["hco"]), case.id, "start_triage", case.version - 1)
    assert (r.status_code, r.get_json()["error"]) == (409, "stale_version")
    assert snapshot(case.id) == before


def test_start_triage_makes_the_officer_the_assignee(api, people, make_case):
    case = make_case("submitted")
    body = fire(api(people["hco2"]), case.id, "start_triage", case.version).get_json()
    assert body["assignee"] == {"id": people["hco2"].id, "username": "omar"}


def test_submit_of_an_incomplete_request_names_the_missing_fields(api, people, make_case):
    case = make_case("draft", requesting_party=None, contact={"name": "Ana"})
    before = snapshot(case.id)
    r = fire(api(people["owner"]), case.id, "submit", case.version)
    assert (r.status_code, r.get_json()["guard"]) == (422, "data_complete")
    assert {"requesting_party", "contact"} <= set(r.get_json()["errors"]["data"])
    # The message names them as the form does, in its order (it listed the keys, sorted).
    assert r.get_json()["message"] == "The request is not complete: who is asking for help, contact."
    # Each says what to do, not the validation library's "Missing data for required field.".
    errors = r.get_json()["errors"]["data"]
    assert errors["requesting_party"] == ["Fill this in to submit the request."]
    assert errors["contact"] == {"email": ["Fill this in to submit the request."]}
    assert snapshot(case.id) == before


def test_financial_help_needs_an_amount_on_submit_but_other_help_does_not(api, people, make_case):
    financial = make_case("draft", amount_requested=None)
    r = fire(api(people["owner"]), financial.id, "submit", financial.version)
    assert r.status_code == 422 and "amount_requested" in r.get_json()["errors"]["data"]
    technical = make_case("draft", amount_requested=None, assistance_types=["technical", "staff_deployment"])
    assert fire(api(people["owner"]), technical.id, "submit", technical.version).status_code == 200


def test_recommend_needs_an_eligible_request(api, people, make_case):
    case = make_case("scored", disaster_date=(clock.today() - timedelta(days=400)).isoformat())
    before = snapshot(case.id)
    r = fire(api(people["hco"]), case.id, "recommend", case.version,
             data={"recommendation": "approve", "amount_granted": "5000.00"})
    assert (r.status_code, r.get_json()["guard"]) == (422, "is_eligible")
    assert "12 months" in r.get_json()["message"]
    assert snapshot(case.id) == before


def test_the_twelve_months_are_counted_to_the_day_the_request_was_submitted(api, people, make_case):
    # Submitted 364 days after the disaster, triaged two days later: the office's own time made it
    # "more than 12 months ago", and the request could no longer be recommended.
    from sqlalchemy import update

    from models.types import utcnow

    case = make_case("scored", disaster_date=(clock.today() - timedelta(days=366)).isoformat())
    two_days_ago = utcnow() - timedelta(days=2)
    db.session.execute(update(Case).where(Case.id == case.id).values(submitted_at=two_days_ago))
    db.session.commit()
    body = api(people["hco"]).get(f"/api/v1/cases/{case.id}").get_json()
    assert body["score"]["eligible"] is True
    r = fire(api(people["hco"]), case.id, "recommend", body["version"],
             data={"recommendation": "approve", "amount_granted": "5000.00"})
    assert r.status_code == 200 and r.get_json()["state"] == "recommended"


def test_a_disaster_date_corrected_to_after_the_submission_is_refused_by_name(api, people, make_case):
    # Accepted (it was not in the future), it made the request "more than 12 months ago" as of its
    # submission: ineligible for the wrong reason, and never recommendable.
    clock.set(datetime(2026, 4, 6, 14, 0, tzinfo=timezone.utc))
    case = make_case("submitted", disaster_date="2026-04-01")
    hco = api(people["hco"])
    body = fire(hco, case.id, "start_triage", case.version).get_json()
    body = fire(hco, case.id, "request_info", body["version"], comment="Which day exactly?").get_json()
    clock.set(datetime(2026, 4, 10, 14, 0, tzinfo=timezone.utc))
    before = snapshot(case.id)
    r = fire(api(people["owner"]), case.id, "provide_info", body["version"], data={"disaster_date": "2026-04-08"})
    assert r.status_code == 422 and "disaster_date" in r.get_json()["errors"]["data"], r.get_json()
    assert "2026-04-06" in r.get_json()["errors"]["data"]["disaster_date"][0]
    assert snapshot(case.id) == before
    r = fire(api(people["owner"]), case.id, "provide_info", body["version"], data={"disaster_date": "2026-04-06"})
    assert r.status_code == 200 and r.get_json()["state"] == "in_triage"



def test_a_disaster_date_corrected_to_the_day_after_the_submission_is_refused(api, people, make_case):
    # The boundary of the rule above: the day after the submission is already after it (the
    # submission's own day is not), as the City's calendar reads both.
    clock.set(datetime(2026, 4, 6, 14, 0, tzinfo=timezone.utc))
    case = make_case("info_requested", disaster_date="2026-04-01")
    clock.set(datetime(2026, 4, 10, 14, 0, tzinfo=timezone.utc))
    before = snapshot(case.id)
    r = fire(api(people["owner"]), case.id, "provide_info", case.version, data={"disaster_date": "2026-04-07"})
    assert r.status_code == 422 and "disaster_date" in r.get_json()["errors"]["data"], r.get_json()
    assert snapshot(case.id) == before

def test_information_provided_for_part_of_the_contact_merges_into_it_as_an_edit_does(api, people, make_case):
    # {"contact": {"email": ...}} was refused for the contact's missing name (a PATCH took it), and
    # would have replaced the whole contact.
    case = make_case("info_requested")
    name = case.data["contact"]["name"]
    r = fire(api(people["owner"]), case.id, "provide_info", case.version,
             data={"contact": {"email": "new.contact@soyapango.example"}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["data"]["contact"] == {"name": name, "email": "new.contact@soyapango.example"}
    # A contact given with a fault is still refused, naming the field.
    r = fire(api(people["hco"]), case.id, "request_info", r.get_json()["version"], comment="And the phone?")
    before = snapshot(case.id)
    r = fire(api(people["owner"]), case.id, "provide_info", r.get_json()["version"], data={"contact": {"email": "nope"}})
    assert r.status_code == 422 and "email" in r.get_json()["errors"]["data"]["contact"], r.get_json()
    assert snapshot(case.id) == before


def test_recommend_records_the_recommendation_amount_and_recommender(api, people, make_case):
    case = make_case("recommended", "30000.00")
    assert case.data["recommendation"] == "approve"
    assert case.data["amount_granted"] == "30000.00"
    assert case.data["recommended_by"] == people["hco"].id


def test_cao_limit_comes_from_configuration(app, api, people, make_case):
    app.config["ACCORD_RELIEF_CAO_LIMIT"] = "10000.00"
    case = make_case("recommended", "20000.00")
    assert fire(api(people["cao"]), case.id, "approve", case.version).get_json()["state"] == "council_review"


def test_non_financial_help_may_be_disbursed_at_zero(api, people, make_case):
    case = make_case("approved", "0.00", assistance_types=["technical"], amount_requested=None)
    r = fire(api(people["finance"]), case.id, "disburse", case.version,
             data={"amount_paid": "0.00", "paid_on": clock.today().isoformat()})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["data"]["amount_paid"] == "0.00"


def test_guard_refusal_names_amount_paid(api, people, make_case):
    case = make_case("approved")
    r = fire(api(people["finance"]), case.id, "disburse", case.version,
             data={**PAID, "paid_on": clock.today().isoformat(), "amount_paid": "25000.00"})
    assert r.get_json()["guard"] == "amount_paid_within_grant"
    assert "amount_paid" in r.get_json()["errors"]["data"]
    assert "25,000.00" in r.get_json()["message"] and "20,000.00" in r.get_json()["message"]


def test_the_report_columns_hold_decimals(people, make_case):
    case = make_case("closed", "12500.50")
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.country, case.category) == ("El Salvador", "hurricane")
    assert str(case.amount_requested) == "40000.00"
    assert str(case.amount_granted) == "12500.50" and str(case.amount_paid) == "12500.50"
    assert case.data["outcome"] and case.data["paid_on"] == clock.today().isoformat()


def test_allowed_transitions_show_each_role_its_own_steps(api, browse, people, make_case):
    case = make_case("in_triage")
    # Recommending needs a complete score: until one is in, the step is not offered (it was, and
    # was then refused), and the case page says why in its place.
    assert api(people["hco"]).get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"] == [
        "request_info", "decline"]
    page = browse(people["hco"]).get(f"/cases/{case.id}").get_data(as_text=True)
    assert "/actions/recommend" not in page and "The request needs at least one complete score" in page
    case = make_case("scored")
    assert api(people["hco"]).get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"] == [
        "request_info", "recommend", "decline"]
    assert "/actions/recommend" in browse(people["hco"]).get(f"/cases/{case.id}").get_data(as_text=True)
    ineligible = make_case("scored", disaster_date=(clock.today() - timedelta(days=400)).isoformat())
    assert api(people["hco"]).get(f"/api/v1/cases/{ineligible.id}").get_json()["allowed_transitions"] == [
        "request_info", "decline"]
    assert api(people["owner"]).get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"] == ["withdraw"]
    assert api(people["finance"]).get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"] == []


def test_a_financial_request_asks_for_more_than_nothing(api, people, make_case):
    # A request for a grant of 0.00 was submitted; a draft may still hold it until it is filled in.
    case = make_case("draft", amount_requested="0.00")
    before = snapshot(case.id)
    r = fire(api(people["owner"]), case.id, "submit", case.version)
    assert (r.status_code, r.get_json()["error"], r.get_json()["guard"]) == (422, "guard_failed", "data_complete")
    assert r.get_json()["errors"] == {"data": {"amount_requested": [
        "Must be more than 0.00 when financial help is asked for."]}}
    assert r.get_json()["message"] == "The request is not complete: amount requested."
    assert snapshot(case.id) == before
    # Sent with the information the office asked for, it is refused too.
    asked = make_case("info_requested")
    before = snapshot(asked.id)
    r = fire(api(people["owner"]), asked.id, "provide_info", asked.version, data={"amount_requested": "0"})
    assert (r.status_code, list(r.get_json()["errors"]["data"])) == (422, ["amount_requested"])
    assert snapshot(asked.id) == before
    # Other help asks for no money: 0.00 there is no fault.
    technical = make_case("draft", amount_requested="0.00", assistance_types=["technical"])
    assert fire(api(people["owner"]), technical.id, "submit", technical.version).status_code == 200


GRANT_REFUSED = [
    # state, amount granted when recommended, who, trigger, payload, data changed from the usual request
    ("scored", None, "hco", "recommend", {"recommendation": "approve", "amount_granted": "40000.01"}, {}),
    ("recommended", "20000.00", "cao", "approve", {"amount_granted": "40000.01"}, {}),  # (above the CAO's limit too)
    ("council_review", "30000.00", "council", "approve", {"amount_granted": "45000.00"}, {}),
    ("scored", None, "hco", "recommend", {"recommendation": "approve", "amount_granted": "1.00"},
     {"assistance_types": ["technical", "staff_deployment"], "amount_requested": None}),
    ("recommended", "0.00", "cao", "approve", {"amount_granted": "500.00"},
     {"assistance_types": ["in_kind"], "amount_requested": "500.00"}),
]


@pytest.mark.parametrize("state, amount, who, trigger, payload, changes", GRANT_REFUSED,
                         ids=["recommend-above", "approve-above", "council-above", "recommend-no-money",
                              "approve-no-money"])
def test_a_grant_is_never_more_than_was_asked_for(api, people, make_case, state, amount, who, trigger, payload,
                                                  changes):
    case = make_case(state, amount, **changes)
    before = snapshot(case.id)
    r = fire(api(people[who]), case.id, trigger, case.version, data=payload)
    body = r.get_json()
    assert (r.status_code, body["error"], body["guard"]) == (422, "guard_failed", "amount_granted_within_request")
    assert list(body["errors"]["data"]) == ["amount_granted"] and body["message"] in body["errors"]["data"][
        "amount_granted"]
    assert snapshot(case.id) == before


def test_a_grant_may_be_all_that_was_asked_for_and_nothing_for_other_help(api, people, make_case):
    case = make_case("scored")
    r = fire(api(people["hco"]), case.id, "recommend", case.version,
             data={"recommendation": "approve", "amount_granted": "40000.00"})
    assert r.status_code == 200 and r.get_json()["data"]["amount_granted"] == "40000.00"
    technical = make_case("scored", assistance_types=["technical"], amount_requested=None)
    r = fire(api(people["hco"]), technical.id, "recommend", technical.version,
             data={"recommendation": "approve", "amount_granted": "0.00"})
    assert r.status_code == 200, r.get_json()


def test_paid_on_is_not_before_the_day_of_the_approval_in_the_citys_time_zone(api, people, make_case):
    # Approved at 23:30 in Toronto on 9 March 2026, already 10 March in UTC.
    clock.set(datetime(2026, 3, 10, 3, 30, tzinfo=timezone.utc))
    case = make_case("approved")
    clock.set(datetime(2026, 3, 12, 15, 0, tzinfo=timezone.utc))
    finance = api(people["finance"])
    for paid_on, code in (("2001-01-01", "guard_failed"), ("2026-03-08", "guard_failed"),
                          ("2026-03-13", "validation_failed")):  # (before the approval, and tomorrow)
        before = snapshot(case.id)
        r = fire(finance, case.id, "disburse", case.version, data={**PAID, "paid_on": paid_on})
        assert (r.status_code, r.get_json()["error"]) == (422, code), paid_on
        assert list(r.get_json()["errors"]["data"]) == ["paid_on"], paid_on
        if code == "guard_failed":
            assert r.get_json()["guard"] == "paid_on_after_approval"
            assert "approved on 2026-03-09" in r.get_json()["message"]
        assert snapshot(case.id) == before
    r = fire(finance, case.id, "disburse", case.version, data={**PAID, "paid_on": "2026-03-09"})
    assert r.status_code == 200 and r.get_json()["data"]["paid_on"] == "2026-03-09"


def test_a_refused_score_names_the_role_as_people_read_it(api, people, make_case):
    # "Scoring needs the role hco.": the role's id, not its title.
    case = make_case("in_triage")
    r = api(people["finance"]).post(f"/api/v1/cases/{case.id}/scores", json={"conflict": "recused"})
    assert r.status_code == 403
    assert r.get_json()["message"] == "Scoring needs the role “Healthy City Office officer”."
