"""The travel data: drafts, the complete check on submit, the derived total, projections, flags."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

import clock
from extensions import db
from models import Case
from tests.workflows.travel.conftest import REPORT, TODAY, trip_data
from workflows import engine
from workflows.scoring import submit_score
from workflows.travel.definition import WORKFLOW


def create(client, data, title="ICLEI World Congress"):
    body = {"workflow": "travel", "title": title, "goals": ["research"], "data": data}
    return client.post("/api/v1/cases", json=body)


def test_a_draft_may_be_incomplete_but_submit_names_every_missing_field(api, people):
    client = api(people["sam"])
    r = create(client, {"event_name": "ICLEI World Congress", "funding": "sponsor"})
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    r = client.post(f"/api/v1/cases/{case['id']}/transitions", json={"trigger": "submit", "version": case["version"]})
    assert r.status_code == 422
    errors = r.get_json()["errors"]["data"]
    assert set(errors) == {"event_organizer", "event_city", "event_country", "start_date", "end_date", "purpose",
                           "role_at_event", "estimated_cost", "sponsor_name"}
    assert "sponsor" in r.get_json()["message"]


def test_a_cleared_field_counts_as_missing(api, people):
    client = api(people["sam"])
    case = create(client, trip_data(TODAY + timedelta(days=10))).get_json()
    r = client.patch(f"/api/v1/cases/{case['id']}", json={"version": case["version"], "data": {"event_city": None}})
    assert r.status_code == 200
    r = client.post(f"/api/v1/cases/{case['id']}/transitions",
                    json={"trigger": "submit", "version": case["version"] + 1})
    assert r.status_code == 422 and set(r.get_json()["errors"]["data"]) == {"event_city"}


@pytest.mark.parametrize("costs", [{}, {"registration": None, "transport": None}, {"total": "0.00"}])
def test_an_estimate_of_no_line_is_missing_not_a_total_of_nothing(api, browse, people, costs):
    # {} (as the page saves a draft whose cost lines are empty) was submitted at a total of 0.00:
    # within any threshold, and scored the cheapest a trip can be.
    client = api(people["sam"])
    case = create(client, {**trip_data(TODAY + timedelta(days=10)), "estimated_cost": costs}).get_json()
    r = client.post(f"/api/v1/cases/{case['id']}/transitions", json={"trigger": "submit", "version": case["version"]})
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["errors"]["data"] == {"estimated_cost": ["Give the estimated cost: at least one of its lines."]}
    page = browse(people["sam"]).post(f"/cases/{case['id']}/actions/submit", data={"submit-version": case["version"]})
    assert page.status_code == 422 and db.session.get(Case, case["id"]).state == "draft"


def test_a_trip_already_over_cannot_be_submitted(api, people):
    client = api(people["sam"])
    case = create(client, trip_data(TODAY - timedelta(days=10), days=3)).get_json()
    r = client.post(f"/api/v1/cases/{case['id']}/transitions", json={"trigger": "submit", "version": case["version"]})
    assert r.status_code == 422
    assert list(r.get_json()["errors"]["data"]) == ["end_date"]
    # Said outright, not "The request cannot be submitted yet; check: end date.", which left the
    # traveller looking for what to fill in.
    assert r.get_json()["message"].startswith("The trip is already over: a request is made before travelling.")


def test_a_trip_ending_today_may_still_be_submitted(api, people):
    client = api(people["sam"])
    case = create(client, trip_data(TODAY - timedelta(days=2), days=2)).get_json()
    r = client.post(f"/api/v1/cases/{case['id']}/transitions", json={"trigger": "submit", "version": case["version"]})
    assert r.status_code == 200, r.get_json()


def test_field_errors_are_refused_even_in_a_draft(api, people):
    client = api(people["sam"])
    bad = {"start_date": "2026-05-10", "end_date": "2026-05-09", "role_at_event": "tourist", "funding": "lottery",
           "event_name": "x" * 201, "estimated_cost": {"transport": "12.345", "other": 0.1}}
    r = create(client, bad)
    assert r.status_code == 422
    errors = r.get_json()["errors"]["data"]
    assert set(errors) == {"end_date", "role_at_event", "funding", "event_name", "estimated_cost"}
    assert set(errors["estimated_cost"]) == {"transport"}
    assert create(client, {"event_name": "a\x00b"}).status_code == 422


@pytest.mark.parametrize("amount", ["1_000", "\u0661\u0662\u0663", "\uff11\uff12", "12,50", "0x10"])
def test_an_amount_is_written_in_plain_digits(api, people, amount):
    # Decimal read "1_000" as 1000 and digits of other scripts as ours.
    r = create(api(people["sam"]), {"estimated_cost": {"transport": amount}})
    assert r.status_code == 422 and r.get_json()["errors"]["data"] == {"estimated_cost": {"transport": ["Not a valid amount."]}}


def test_a_title_is_measured_as_stored(api, people):
    # 200 letters and a space, trimmed to 200, were refused as "at most 200 characters".
    r = create(api(people["sam"]), {"event_name": "x" * 200 + " "}, title="t" * 200 + "  ")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["data"]["event_name"] == "x" * 200


def test_the_total_is_derived_stored_and_never_entered(api, people):
    client = api(people["sam"])
    data = trip_data(TODAY + timedelta(days=10), registration="650.00", transport=1400.1, per_diem="75")
    data["estimated_cost"]["total"] = "1.00"
    case = create(client, data).get_json()
    assert case["data"]["estimated_cost"] == {"registration": "650.00", "transport": "1400.10", "per_diem": "75.00",
                                              "total": "2125.10"}
    stored = db.session.get(Case, case["id"])
    assert stored.amount_requested == Decimal("2125.10")
    assert (stored.category, stored.country) == ("Metropolis", "Brazil")


def test_projection_of_the_due_date_and_actual_cost(api, people, make_trip):
    case = make_trip("sam", "approved")
    assert case.due_on is None
    case = make_trip("sam", "report_submitted")
    end = TODAY + timedelta(days=34)
    assert case.due_on.date() == end + timedelta(days=30)
    assert case.amount_paid == Decimal(REPORT["actual_cost"])


def test_an_overdue_trip_is_flagged_and_counts_against_the_other_trips(api, people, make_trip):
    past = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=40), days=5))
    in_time = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=20), days=5))
    client = api(people["dana"])
    assert client.get(f"/api/v1/cases/{past.id}").get_json()["flags"] == ["report_overdue"]
    assert client.get(f"/api/v1/cases/{in_time.id}").get_json()["flags"] == []
    # The count is of the traveller's OTHER overdue trips.
    assert WORKFLOW.derive(past) == {"overdue_reports": 0}
    assert WORKFLOW.derive(in_time) == {"overdue_reports": 1}



def test_a_report_is_overdue_from_the_day_after_its_due_day_not_on_it(api, people, make_trip):
    # product.md: the report is due report_due_days after end_date; a trip still in travelled
    # AFTER that is overdue. On the due day itself the traveller is still on time: no flag, and
    # nothing counted against their other trips (the knock-out).
    due_today = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=35), days=5))
    other = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=10), days=5))
    assert due_today.due_on.date() == TODAY
    client = api(people["dana"])
    assert client.get(f"/api/v1/cases/{due_today.id}").get_json()["flags"] == []
    assert WORKFLOW.derive(db.session.get(Case, other.id)) == {"overdue_reports": 0}
    clock.set(datetime.combine(TODAY + timedelta(days=1), datetime.min.time()) + timedelta(hours=15))
    assert client.get(f"/api/v1/cases/{due_today.id}").get_json()["flags"] == ["report_overdue"]
    assert WORKFLOW.derive(db.session.get(Case, other.id)) == {"overdue_reports": 1}


def test_a_trip_never_marked_taken_owes_its_report_from_the_day_after_its_due_day(api, people, make_trip):
    # As a trip marked taken (above): never marked, its report is owed from the day after
    # end_date + report_due_days, in its flag and in the count against the traveller's next trips.
    due_today = make_trip("sam", "approved", trip_data(TODAY - timedelta(days=35), days=5))
    other = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=10), days=5))
    client = api(people["dana"])
    assert client.get(f"/api/v1/cases/{due_today.id}").get_json()["flags"] == []
    assert WORKFLOW.derive(db.session.get(Case, other.id)) == {"overdue_reports": 0}
    clock.set(datetime.combine(TODAY + timedelta(days=1), datetime.min.time()) + timedelta(hours=15))
    assert client.get(f"/api/v1/cases/{due_today.id}").get_json()["flags"] == ["not_marked_taken"]
    assert WORKFLOW.derive(db.session.get(Case, other.id)) == {"overdue_reports": 1}

def test_a_decided_trip_keeps_the_eligibility_its_approver_saw(api, people, make_trip):
    # A trip approved as eligible read "ineligible" once another trip of the traveller fell overdue
    # afterwards: the knock-out read today's count whatever the state.
    earlier = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=20), days=5))  # due in 15 days
    trip = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=60)), title="Habitat III")
    submit_score(db.session, people["dana"], trip.id, {"relevance": 4, "expected_value": 4, "knowledge_sharing": 3})
    trip = engine.fire(db.session, people["dana"], trip.id, "approve", db.session.get(Case, trip.id).version)
    assert trip.state == "approved" and trip.derived_at_decision == {"overdue_reports": 0}
    client = api(people["dana"])
    before = client.get(f"/api/v1/cases/{trip.id}").get_json()["score"]
    clock.set(datetime.combine(TODAY + timedelta(days=20), datetime.min.time()) + timedelta(hours=15))
    assert client.get(f"/api/v1/cases/{earlier.id}").get_json()["flags"] == ["report_overdue"]
    after = client.get(f"/api/v1/cases/{trip.id}").get_json()["score"]
    assert after["eligible"] is True and after == before
    # A trip still to be decided reads today's count, and is knocked out.
    waiting = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=60)), title="Habitat IV")
    clock.set(datetime.combine(TODAY + timedelta(days=20), datetime.min.time()) + timedelta(hours=15))
    submit_score(db.session, people["dana"], waiting.id, {"relevance": 4, "expected_value": 4, "knowledge_sharing": 3})
    assert client.get(f"/api/v1/cases/{waiting.id}").get_json()["score"]["eligible"] is False


def test_the_report_is_due_after_the_configured_days(app, api, people, make_trip):
    app.config["ACCORD_TRAVEL_REPORT_DUE_DAYS"] = 60
    case = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=40), days=5))
    assert case.due_on.date() == TODAY + timedelta(days=25)
    assert api(people["sam"]).get(f"/api/v1/cases/{case.id}").get_json()["flags"] == []


def test_the_criteria_read_the_stored_total(api, people, make_trip):
    case = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), transport="2500.00"))
    score = submit_score(db.session, people["dana"], case.id, {"relevance": 4, "expected_value": 4,
                                                                "knowledge_sharing": 3})
    assert score.computed == {"official_role": 5, "cost_reasonableness": 4}
    body = api(people["dana"]).get(f"/api/v1/cases/{case.id}").get_json()
    assert body["score"]["eligible"] is True


def test_who_sees_a_travel_request(api, people, make_trip, make_user):
    case = make_trip("sam", "submitted")
    for who, status in [("sam", 200), ("dana", 200), ("pat", 200), ("cao", 200), ("eli", 404), ("erin", 404),
                        ("chen", 404)]:
        assert api(people[who]).get(f"/api/v1/cases/{case.id}").status_code == status, who
    allowed = api(people["dana"]).get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"]
    assert allowed == ["approve", "decline", "return"]
    assert api(people["pat"]).get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"] == []


def test_a_trip_planned_past_2099_is_refused_naming_the_date(api, people):
    # 9999-12-31, as "open-ended", was accepted; its report's due day could not be written, and
    # every page listing the traveller's trips failed (500) from then on.
    client = api(people["sam"])
    data = {**trip_data(TODAY + timedelta(days=10)), "end_date": "9999-12-31"}
    r = create(client, data)
    assert r.status_code == 422 and r.get_json()["errors"]["data"] == {"end_date": ["Give a date before 2100."]}
    r = create(client, {**data, "start_date": "2100-01-01", "end_date": "2100-01-03"})
    assert set(r.get_json()["errors"]["data"]) == {"start_date", "end_date"}
    case = create(client, {**data, "end_date": "2099-12-31"}).get_json()  # the last day that may be planned
    assert client.get(f"/api/v1/cases/{case['id']}").status_code == 200


def test_a_patch_of_one_cost_line_keeps_the_others(api, people):
    # The one line sent replaced the whole budget: 5,550.00 became 3,900.00, below the CAO's threshold.
    client = api(people["sam"])
    costs = {"registration": "650.00", "transport": "4000.00", "accommodation": "900.00"}
    case = create(client, trip_data(TODAY + timedelta(days=10), **costs)).get_json()
    assert case["data"]["estimated_cost"]["total"] == "5550.00"
    r = client.patch(f"/api/v1/cases/{case['id']}", json={"version": case["version"],
                                                          "data": {"estimated_cost": {"transport": "3900.00"}}})
    assert r.status_code == 200
    assert r.get_json()["data"]["estimated_cost"] == {"registration": "650.00", "transport": "3900.00",
                                                      "accommodation": "900.00", "total": "5450.00"}
    # A null inside the object removes that line, as JSON Merge Patch does.
    r = client.patch(f"/api/v1/cases/{case['id']}", json={"version": case["version"] + 1,
                                                          "data": {"estimated_cost": {"accommodation": None}}})
    assert r.get_json()["data"]["estimated_cost"] == {"registration": "650.00", "transport": "3900.00",
                                                      "total": "4550.00"}
    # An object where a list is stored is refused naming the field, as before.
    r = client.patch(f"/api/v1/cases/{case['id']}", json={"version": case["version"] + 2, "data": {
        "purpose": {"a": 1}, "estimated_cost": ["650.00"]}})
    assert r.status_code == 422 and set(r.get_json()["errors"]["data"]) == {"purpose", "estimated_cost"}
