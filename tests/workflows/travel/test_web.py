"""The travel pages through the Flask test client: the request form, the report form, the overdue views."""
from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

import clock
from extensions import db
from models import Case, User
from tests.factories import counted, error_summary, roles_queries
from tests.workflows.travel.conftest import TODAY, trip_data
from workflows import engine
from workflows.audit import case_events



FORM = {"title": "ICLEI World Congress 2026", "goals": ["research", "economy"], "event_name": "ICLEI World Congress",
        "event_organizer": "ICLEI", "event_city": "Cape Town", "event_country": "South Africa",
        "start_date": "2026-06-10", "end_date": "2026-06-14", "purpose": "Cities for Climate Protection.",
        "role_at_event": "panelist", "registration": "700", "transport": "1,850.50", "accommodation": "",
        "per_diem": "300.00", "other": "", "funding": "shared", "sponsor_name": "FCM"}


def test_new_request_saves_a_draft_with_the_server_total(browse, people):
    r = browse(people["sam"]).post("/travel/new", data={**FORM, "other": "1250,50", "per_diem": "12.345"})
    assert r.status_code == 422  # a decimal comma is refused, not read as thousands
    assert b'id="other-error"' in r.data and b'id="per_diem-error"' in r.data
    # At the top of the page, a link to each field to mend, in the form's order.
    assert [target for target, _text in error_summary(r.get_data(as_text=True))] == ["per_diem", "other"]
    r = browse(people["sam"]).post("/travel/new", data=FORM)  # "1,850.50" as people type it
    assert r.status_code == 302
    case = db.session.scalar(db.select(Case).where(Case.workflow == "travel"))
    assert case.state == "draft" and case.goals == ["research", "economy"]
    assert case.data["estimated_cost"] == {"registration": "700.00", "transport": "1850.50", "per_diem": "300.00",
                                           "total": "2850.50"}
    page = browse(people["sam"]).get(f"/cases/{case.id}").get_data(as_text=True)
    assert "2,850.50" in page and "Edit this request" in page


def test_what_even_a_draft_needs_is_marked_and_both_are_named_at_once(browse, people):
    page = browse(people["sam"]).get("/travel/new").get_data(as_text=True)
    assert '<label for="title">Title of the request</label> <span class="req">(required)</span>' in page
    assert 'Goals this trip serves <span class="req">(required)</span></legend>' in page
    funding = re.search(r'<fieldset[^>]*>\s*<legend>[^<]*</legend>\s*<div><input[^>]*name="funding".*?</fieldset>', page, re.S)
    assert funding and "sponsor_name" not in funding.group(0)  # (the sponsor's field after the group, not in it)
    r = browse(people["sam"]).post("/travel/new", data={"event_name": "FCM conference"})
    assert r.status_code == 422
    assert {target for target, _text in error_summary(r.get_data(as_text=True))} == {"title", "goals-0"}


def test_an_incomplete_draft_is_kept_and_errors_sit_beside_their_fields(browse, people):
    r = browse(people["sam"]).post("/travel/new", data={"title": "FCM", "goals": ["democracy"],
                                                       "start_date": "2026-06-10", "end_date": "2026-06-01"})
    assert r.status_code == 422
    assert b'id="end_date-error"' in r.data
    r = browse(people["sam"]).post("/travel/new", data={"title": "FCM", "goals": ["democracy"]})
    assert r.status_code == 302


def test_edit_clears_and_changes_fields_of_a_draft_only(browse, people, make_trip):
    case = make_trip("sam", "draft")
    client = browse(people["sam"])
    page = client.get(f"/travel/{case.id}/edit").get_data(as_text=True)
    assert 'value="Sao Paulo"' in page and "2,950.00" in page
    assert 'name="version" type="hidden" value="%d"' % case.version in page
    r = client.post(f"/travel/{case.id}/edit", data={**FORM, "version": case.version, "transport": "1000",
                                                     "event_city": ""})
    assert r.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.data["event_city"] is None and case.data["estimated_cost"]["total"] == "2000.00"
    assert browse(people["dana"]).get(f"/travel/{case.id}/edit").status_code == 403
    submitted = make_trip("sam", "submitted")
    assert browse(people["sam"]).get(f"/travel/{submitted.id}/edit").status_code == 302


def test_a_save_over_a_change_made_since_the_form_was_loaded_is_refused_and_kept_on_the_page(
        browse, people, make_trip):
    # Two tabs: the person changes the purpose in one, then saves the form loaded before in the other.
    case = make_trip("sam", "draft")
    client = browse(people["sam"])
    loaded = case.version
    assert f'value="{loaded}"' in client.get(f"/travel/{case.id}/edit").get_data(as_text=True)
    engine.update_case(db.session, people["sam"], case.id, loaded, data={"purpose": "Changed in the other tab."})
    r = client.post(f"/travel/{case.id}/edit", data={**FORM, "version": loaded, "purpose": "Typed in this tab."})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "changed since you opened this page" in page and "Typed in this tab." in page
    db.session.expire_all()
    assert db.session.get(Case, case.id).data["purpose"] == "Changed in the other tab."
    # Saving the page again is a choice to replace the other tab's change (it was refused forever).
    assert "saving it again replaces those changes" in page
    assert "reload" not in page.split('class="flash')[1].split("</div>")[0]  # (said the API's words once)
    again = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    r = client.post(f"/travel/{case.id}/edit", data={**FORM, "version": again, "purpose": "Typed in this tab."})
    assert r.status_code == 302, (again, re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', r.get_data(as_text=True)))
    db.session.expire_all()
    assert db.session.get(Case, case.id).data["purpose"] == "Typed in this tab."


def test_the_case_page_shows_why_a_request_cannot_be_approved(browse, people, make_trip):
    approved = make_trip("sam", "approved")  # (approved before the report below was overdue)
    make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=60)), title="IULA World Congress")
    case = make_trip("sam", "submitted")
    client = browse(people["dana"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "This request cannot be approved now." in page
    assert "The traveller has a post-trip report overdue." in page
    assert "IULA World Congress" in page and "report overdue" in page
    r = client.post(f"/cases/{case.id}/actions/approve", data={"approve-version": case.version})
    assert r.status_code == 422
    assert "overdue" in r.get_data(as_text=True)
    # A trip already decided is not said to be unapprovable: the knock-outs bear on a decision to come.
    page = client.get(f"/cases/{approved.id}").get_data(as_text=True)
    assert "cannot be approved now" not in page and "passes every knock-out" not in page
    assert "Eligibility and travel history" in page and "IULA World Congress" in page


def test_a_step_refused_as_out_of_date_succeeds_when_sent_again_from_the_page_shown(browse, people, make_trip):
    case = make_trip("sam", "submitted")
    client = browse(people["dana"])
    loaded = case.version
    engine.add_comment(db.session, people["sam"], case.id, "Added the agenda.")  # meanwhile, in another tab
    r = client.post(f"/cases/{case.id}/actions/return", data={"return-version": loaded, "return-comment": "Lower it."})
    assert r.status_code == 409 and "It is shown below as it is now" in r.get_data(as_text=True)
    sent_back = re.search(r'name="return-version" type="hidden" value="(\d+)"', r.get_data(as_text=True)).group(1)
    assert int(sent_back) == loaded + 1  # the page shows the request as it is now, and acts on that
    r = client.post(f"/cases/{case.id}/actions/return", data={"return-version": sent_back, "return-comment": "Lower it."})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "draft"


def test_the_report_form_has_contact_rows_and_files_the_report(browse, people, make_trip):
    case = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=10)))
    client = browse(people["sam"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    for i in range(3):
        assert f'for="submit_report-contacts-{i}-name"' in page
    # The rows are a group named by its legend: no label points at the group's container.
    # Its hint (a name and an organization for each) is read with the group, not only seen.
    assert re.search(r'<fieldset class="field group\s*" aria-describedby="submit_report-contacts-hint">\s*'
                     r'<legend>Contacts made</legend>\s*<p class="hint" id="submit_report-contacts-hint">', page)
    assert 'for="submit_report-contacts"' not in page
    # What the report must hold says so before it is refused, in the label and to assistive technology.
    for name, label in (("summary", "Summary of the event"), ("learnings", "What the City can learn from it"),
                        ("actual_cost", "Actual cost")):
        assert f'<label for="submit_report-{name}">{label}</label> <span class="req">(required)</span>' in page
        assert re.search(f'<(textarea|input)[^>]* id="submit_report-{name}"[^>]* required', page), name
    form = {"submit_report-version": case.version, "submit_report-summary": "Sessions on climate plans.",
            "submit_report-learnings": "Cape Town's water demand plan.", "submit_report-actual_cost": "2410.00",
            "submit_report-contacts-0-name": "Thandi Mokoena", "submit_report-contacts-0-email": "bad",
            "submit_report-contacts-4-name": "Luis Ortega", "submit_report-contacts-4-organization": "Soyapango"}
    r = client.post(f"/cases/{case.id}/actions/submit_report", data=form)
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert 'id="submit_report-contacts-0-organization-error"' in text
    assert 'id="submit_report-contacts-0-email-error"' in text
    links = dict(error_summary(text))
    assert links["submit_report-contacts-0-organization"] == (
        "Contact 1, Organization: Give this person's organization, or leave the whole row empty.")
    assert "a name and an organization (the email is optional)" in text  # said before it is refused
    assert "In dollars and cents, all costs together: for example 2,875.40." in text
    r = client.post(f"/cases/{case.id}/actions/submit_report", data={**form, "submit_report-learnings": ""})
    assert dict(error_summary(r.get_data(as_text=True)))["submit_report-learnings"].endswith(
        ": Fill this in to file the report.")  # not marshmallow's "Missing data for required field."
    assert links["submit_report-contacts-0-email"].startswith("Contact 1, Email: ")
    form.update({"submit_report-contacts-0-organization": "City of Cape Town",
                 "submit_report-contacts-0-email": "thandi@example.org"})
    assert client.post(f"/cases/{case.id}/actions/submit_report", data=form).status_code == 302
    db.session.expire_all()
    report = db.session.get(Case, case.id).data["report"]
    assert [c["name"] for c in report["contacts"]] == ["Thandi Mokoena", "Luis Ortega"]
    assert report["actual_cost"] == "2410.00"


def test_a_traveller_without_script_adds_contact_rows_as_many_as_they_met(browse, people, make_trip):
    # Three rows and no way to add one but the script: without it, a traveller who met five
    # people could record three.
    case = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=10)))
    client = browse(people["sam"])
    form = {"submit_report-version": case.version, "submit_report-summary": "Sessions on climate plans."}
    form.update({f"submit_report-contacts-{i}-{f}": f"{f} {i}" for i in range(3) for f in ("name", "organization")})
    for rows in (4, 5):
        r = client.post(f"/cases/{case.id}/actions/submit_report", data={**form, "submit_report-contacts-more": "1"})
        page = r.get_data(as_text=True)
        assert r.status_code == 200 and 'class="flash' not in page  # shown again, nothing refused
        assert len(re.findall(r'<legend>Contact \d+</legend>', page)) == rows
        assert re.search(f'<input autofocus id="submit_report-contacts-{rows - 1}-name"', page)
        assert 'value="organization 2"' in page and "Sessions on climate plans." in page
        form.update({f"submit_report-contacts-{rows - 1}-name": f"name {rows - 1}",
                     f"submit_report-contacts-{rows - 1}-organization": f"organization {rows - 1}"})
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "travelled"  # nothing was filed
    # From a page left open after the trip's report was filed elsewhere: said so, not a page without the form.
    other = make_trip("sam", "report_submitted", trip_data(TODAY - timedelta(days=10)), title="Filed elsewhere")
    r = client.post(f"/cases/{other.id}/actions/submit_report", data={"submit_report-version": other.version,
                                                                        "submit_report-contacts-more": "1"})
    assert r.status_code == 409 and "not available while the request is report submitted" in r.get_data(as_text=True)
    form.update({"submit_report-learnings": "Cape Town's water demand plan.", "submit_report-actual_cost": "2410.00"})
    assert client.post(f"/cases/{case.id}/actions/submit_report", data=form).status_code == 302
    db.session.expire_all()
    assert len(db.session.get(Case, case.id).data["report"]["contacts"]) == 5


def test_a_returned_report_comes_back_as_filed_to_mend_and_file_again(browse, people, make_trip):
    # The traveller used to retype the whole report after "Return the report".
    case = make_trip("sam", "report_submitted", trip_data(TODAY - timedelta(days=10)))
    case = engine.fire(db.session, people["dana"], case.id, "return_report", case.version,
                       comment="Say what the City should take from the community health agents.")
    client = browse(people["sam"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert re.search(r'<textarea[^>]* id="submit_report-summary"[^>]*>\s*Three sessions on urban health\.</textarea>', page)
    assert re.search(r'<input[^>]* id="submit_report-contacts-0-organization"[^>]* value="Prefeitura de Sao Paulo"', page)
    assert re.search(r'<input[^>]* id="submit_report-actual_cost"[^>]* value="2875.40"', page)
    assert 'id="submit_report-contacts-1-name"' in page  # room for more contacts, as before
    form = {"submit_report-version": case.version, "submit_report-summary": "Three sessions on urban health.",
            "submit_report-learnings": "Community health agents could visit Toronto's shelters.",
            "submit_report-actual_cost": "2875.40", "submit_report-contacts-0-name": "Ana Souza",
            "submit_report-contacts-0-organization": "Prefeitura de Sao Paulo",
            "submit_report-contacts-0-email": "ana@example.org"}
    assert client.post(f"/cases/{case.id}/actions/submit_report", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).data["report"]["learnings"].startswith("Community health agents could")
    # The first time, the form starts empty.
    fresh = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=10)), title="Another trip")
    page = client.get(f"/cases/{fresh.id}").get_data(as_text=True)
    assert re.search(r'<textarea[^>]* id="submit_report-summary"[^>]*>\s*</textarea>', page)


def test_saving_a_draft_unchanged_records_nothing_and_the_trail_keeps_the_data(browse, people):
    # The form sends every field, its empty ones too: saved again unchanged, nothing happened, and
    # the person is told so; what is stored is still what the trail's events add up to.
    client = browse(people["sam"])
    r = client.post("/travel/new", data=FORM)
    case_id = int(r.headers["Location"].rsplit("/", 1)[1])
    stored = db.session.get(Case, case_id).data
    assert client.post(f"/travel/{case_id}/edit", data={**FORM, "version": 1}).status_code == 302
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Nothing was changed: the request is as it was." in page and "Changes saved." not in page
    assert [e.action for e in case_events(db.session, case_id)] == ["create"]
    assert client.post(f"/travel/{case_id}/edit", data={**FORM, "version": 1, "other": "25"}).status_code == 302
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "<p>Changed: Estimated cost.</p>" in page
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    replayed = {}
    for e in case_events(db.session, case_id):
        replayed.update(e.payload["data"] if e.action in ("create", "edit") and "data" in e.payload else {})
    assert replayed == case.data and case.data["estimated_cost"] == {**stored["estimated_cost"], "other": "25.00",
                                                                    "total": "2875.50"}


def test_overdue_trips_stand_out_for_the_traveller_the_approver_and_the_cao(browse, people, make_trip, make_user):
    make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=60)), title="WHO Healthy Cities conference")
    for who in ("sam", "dana"):
        page = browse(people[who]).get("/").get_data(as_text=True)
        assert "Overdue post-trip reports" in page and "WHO Healthy Cities conference" in page, who
    assert "Overdue post-trip reports" not in browse(people["erin"]).get("/").get_data(as_text=True)
    page = browse(people["cao"]).get("/travel/overdue").get_data(as_text=True)
    assert "WHO Healthy Cities conference" in page and "Overdue reports" in page
    admin = make_user("ada", "admin", department="Information and Technology")
    assert "WHO Healthy Cities conference" in browse(admin).get("/travel/overdue").get_data(as_text=True)
    assert browse(people["sam"]).get("/travel/overdue").status_code == 403
    # The traveller's roles (who decides) come with the overdue trips, not in a query of their own.
    client = browse(people["dana"])
    client.get("/")
    with counted() as statements:  # (from a fresh session: nothing is in it already)
        page = client.get("/").get_data(as_text=True)
    assert "WHO Healthy Cities conference" in page.split('id="travel-overdue-h"')[1]
    assert not roles_queries(statements)


def test_an_overdue_report_stands_out_for_who_decided_the_trip_not_a_head_who_stepped_aside(browse, people, make_trip):
    # The report is signed off by whoever decided the trip: the head who declared a conflict of
    # interest was shown it as theirs to chase, and the CAO who decided in their place was not.
    from workflows.scoring import submit_score

    data = trip_data(TODAY - timedelta(days=60))
    trip = make_trip("sam", "submitted", data, title="WHO Healthy Cities conference")
    start = date.fromisoformat(data["start_date"])
    clock.set(datetime.combine(start - timedelta(days=10), datetime.min.time()) + timedelta(hours=15))
    submit_score(db.session, people["dana"], trip.id, {}, conflict="recused")
    trip = engine.fire(db.session, people["cao"], trip.id, "approve", db.session.get(Case, trip.id).version)
    clock.set(datetime.combine(start, datetime.min.time()) + timedelta(hours=15))
    engine.fire(db.session, people["sam"], trip.id, "complete_trip", trip.version)
    clock.set(datetime.combine(TODAY, datetime.min.time()) + timedelta(hours=15))
    assert "Overdue post-trip reports" not in browse(people["dana"]).get("/").get_data(as_text=True)
    for who in ("sam", "cao"):
        page = browse(people[who]).get("/").get_data(as_text=True)
        assert "WHO Healthy Cities conference" in page.split('id="travel-overdue-h"')[1], who


def test_a_trip_is_offered_to_be_marked_as_taken_from_its_first_day(browse, people, make_trip):
    case = make_trip("sam", "approved")
    page = browse(people["sam"]).get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"Mark as travelled</strong>: not now. The trip starts on {case.data['start_date']}" in page
    assert ">Mark as travelled</button>" not in page and ">Cancel the trip</button>" in page
    clock.set(datetime.fromisoformat(case.data["start_date"]) + timedelta(hours=9))
    page = browse(people["sam"]).get(f"/cases/{case.id}").get_data(as_text=True)
    assert ">Mark as travelled</button>" in page and "not yet" not in page
    # The step that moves the trip on comes first, before the one that ends it (and Tab reaches it first).
    assert page.index(">Mark as travelled</button>") < page.index(">Cancel the trip</button>")


def test_a_trips_report_due_day_is_fixed_when_the_trip_is_taken(app, api, browse, people, make_trip):
    # Both trips ended 35 days ago: under 30 days the report was due 5 days ago, under 60 it is due in 25.
    first = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=40), days=5), title="First Congress")
    app.config["ACCORD_TRAVEL_REPORT_DUE_DAYS"] = 60
    second = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=40), days=5), title="Second Congress")
    # A later change of the first trip (a comment) leaves its due day where it was set.
    engine.add_comment(db.session, people["sam"], first.id, "The report is on its way.")
    db.session.expire_all()
    assert db.session.get(Case, first.id).due_on.date() == TODAY - timedelta(days=5)
    assert db.session.get(Case, second.id).due_on.date() == TODAY + timedelta(days=25)
    client = api(people["dana"])
    assert client.get(f"/api/v1/cases/{first.id}").get_json()["flags"] == ["report_overdue"]
    assert client.get(f"/api/v1/cases/{second.id}").get_json()["flags"] == []
    # The overdue list gives the day the trip was held to, and counts the days from it.
    page = browse(people["cao"]).get("/travel/overdue").get_data(as_text=True)
    row = " ".join(re.sub(r"<[^>]+>", " ", page.split("First Congress")[1].split("</tr>")[0]).split())
    assert row.endswith(f"{(TODAY - timedelta(days=35)).isoformat()} {(TODAY - timedelta(days=5)).isoformat()} 5")
    assert "Second Congress" not in page


def test_the_review_lists_the_travellers_other_trips_with_dates_estimate_and_report(browse, people, make_trip, app):
    past = trip_data(TODAY - timedelta(days=90))
    ahead = trip_data(TODAY + timedelta(days=40), registration="100.00", transport="1234.50")
    make_trip("sam", "closed", past, title="Habitat Forum")
    make_trip("sam", "approved", ahead, title="Metropolis Congress")
    make_trip("sam", "draft", title="Unsent Draft")
    case = make_trip("sam", "submitted")
    page = browse(people["dana"]).get(f"/cases/{case.id}").get_data(as_text=True)
    rows = {re.sub(r"<[^>]+>|\s+", " ", row).split()[0]: " ".join(re.sub(r"<[^>]+>", " ", row).split())
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page.split("other trips</caption>")[1].split("</table>")[0], re.S)}
    due = date.fromisoformat(ahead["end_date"]) + timedelta(days=app.config["ACCORD_TRAVEL_REPORT_DUE_DAYS"])
    assert rows["Metropolis"] == (f"Metropolis Congress {ahead['start_date']} to {ahead['end_date']} Approved "
                                  f"1,334.50 due {due.isoformat()}")
    assert rows["Habitat"] == (f"Habitat Forum {past['start_date']} to {past['end_date']} Closed 2,950.00 "
                               f"filed {past['start_date']}")
    assert "Unsent Draft" not in page  # a draft is not a trip the traveller asked for
    assert re.search(r'<a href="/cases/\d+">Habitat Forum</a>', page)


def test_a_trip_of_another_department_shows_its_dates_and_report_not_its_title_or_cost(app, browse, people, make_trip):
    # The approver's review listed every other trip of the traveller, title and estimate included,
    # even those of a department the traveller left, which the approver may not open.
    from models import Department

    old = make_trip("sam", "approved", trip_data(TODAY + timedelta(days=40), registration="7777.00"),
                    title="Davos forum, confidential")
    sam = db.session.get(type(people["sam"]), people["sam"].id)
    sam.department_id = db.session.scalar(select(Department.id).where(Department.name == "Economic Development and Culture"))
    db.session.commit()
    new = make_trip("sam", "submitted", title="Metropolis 2026")
    page = browse(people["eli"]).get(f"/cases/{new.id}").get_data(as_text=True)
    assert browse(people["eli"]).get(f"/cases/{old.id}").status_code == 404
    assert "Davos forum" not in page and "7,777.00" not in page
    assert "A trip the traveller made in another department" in page


def test_an_approved_trip_never_marked_taken_is_flagged_once_its_report_would_be_due(app, api, browse, people,
                                                                                       make_trip):
    # A trip approved and never marked taken never became overdue, so its report was never asked for.
    ended = make_trip("sam", "approved", trip_data(TODAY - timedelta(days=40)))
    recent = make_trip("sam", "approved", trip_data(TODAY - timedelta(days=10)))
    flags = {c["id"]: c["flags"] for c in api(people["dana"]).get("/api/v1/cases?workflow=travel").get_json()["items"]}
    assert flags[ended.id] == ["not_marked_taken"] and flags[recent.id] == []
    page = browse(people["sam"]).get(f"/cases/{ended.id}").get_data(as_text=True)
    assert "is not marked as taken:" in page and "its post-trip report is owed all the same." in page


def test_what_came_of_a_step_takes_the_focus_and_a_refusal_titles_the_page(app, browse, people, make_trip):
    # A message already in the page when it loads is not announced as a live region is: a blind
    # approver could not tell whether "Approve" worked, nor that a refusal had replaced the page.
    case = make_trip("sam", "submitted")
    client = browse(people["dana"])
    r = client.post(f"/cases/{case.id}/actions/approve", data={"approve-version": case.version},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Done: approve. The request is now: Approved." in page
    assert re.search(r'<div class="flashes" id="messages" tabindex="-1" autofocus>', page) and page.count("autofocus") == 1
    assert not re.search(r"<title>Error: ", page)
    refused = client.post(f"/cases/{case.id}/actions/approve", data={"approve-version": case.version})
    assert refused.status_code == 409 and re.search(r"<title>Error: ", refused.get_data(as_text=True))
    # A wrong password: the message takes the focus, not the username box it would read first.
    wrong = app.test_client().post("/login", data={"username": "sam", "password": "not-this-one"})
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 401 and text.count("autofocus") == 1 and 'id="messages" tabindex="-1" autofocus' in text
    assert re.search(r"<title>Error: ", text)


def test_the_fields_needed_to_submit_are_marked_before_anyone_is_refused(browse, people):
    # Only the title and goals said "(required)": the event, dates, role, purpose and costs were
    # found missing only when the request was refused from its page.
    page = browse(people["sam"]).get("/travel/new").get_data(as_text=True)
    for label in ("Event", "Organizer", "City", "Country", "First day", "Last day", "Your role at the event",
                  "Purpose of the trip"):
        assert re.search(rf'<label for="\w+">{label}</label> <span class="req">\(required\)</span>', page), label
    assert 'Estimated cost (Canadian dollars) <span class="req">(at least one line required)</span>' in page
    assert not re.search(r'<label for="sponsor_name">Sponsor</label> <span class="req">', page)  # only with a sponsor
    proposal = browse(people["chen"]).get("/partnerships/propose").get_data(as_text=True)
    for label in ("Partner city", "Partner country", "Lead department", "Duration (months)", "Rationale"):
        assert re.search(rf'<label for="\w+">{re.escape(label)}</label> <span class="req">\(required\)</span>',
                         proposal), label
    assert not re.search(r"The sponsor&#39;s funding is secured</label> <span", proposal)


def test_each_actions_comment_box_is_named_by_its_action(browse, people, make_trip):
    # Three or four boxes were each labelled "Comment", "required" only in a hint: a list of the
    # page's fields read "Comment, Comment, Comment".
    case = make_trip("sam", "submitted")
    page = browse(people["dana"]).get(f"/cases/{case.id}").get_data(as_text=True)
    labels = re.findall(r'<label for="(\w+)-comment">([^<]+)</label>( <span class="req">\(required\)</span>)?', page)
    assert len(labels) >= 3 and len({text for _, text, _ in labels}) == len(labels), labels
    marked = {trigger: bool(req) for trigger, _, req in labels}
    assert marked["approve"] is False and marked["decline"] is True, labels
    assert ("decline", "Decline: comment", ' <span class="req">(required)</span>') in labels


def test_ending_your_own_request_asks_you_to_confirm_first(browse, people, make_trip):
    # "Cancel the trip" ended an approved trip for good in one click, beside the other buttons.
    case = make_trip("sam", "approved")
    client = browse(people["sam"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="cancel-confirm"' in page and "it cannot be undone" in page
    r = client.post(f"/cases/{case.id}/actions/cancel", data={"cancel-version": case.version})
    assert r.status_code == 422
    assert ("cancel-confirm", "Yes, end this request for good (it cannot be undone): Tick the box to confirm.") \
        in error_summary(r.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "approved"
    r = client.post(f"/cases/{case.id}/actions/cancel", data={"cancel-version": case.version, "cancel-confirm": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "cancelled"
    # A step that leaves the request open (submit) asks nothing more.
    draft = make_trip("sam", "draft")
    assert 'id="submit-confirm"' not in client.get(f"/cases/{draft.id}").get_data(as_text=True)


def test_a_returned_request_says_why_on_its_page_and_its_edit_page(browse, people, make_trip):
    case = make_trip("sam", "submitted")
    engine.fire(db.session, people["dana"], case.id, "return", case.version, comment="Please lower the hotel estimate.")
    traveller = browse(people["sam"])
    for path in (f"/cases/{case.id}", f"/travel/{case.id}/edit"):
        page = traveller.get(path).get_data(as_text=True)
        box = page.split('class="sent-back"')[1].split("</section>")[0]
        assert "Why it came back to you" in box and "Return for changes, by Dana on" in box, path
        assert "Please lower the hotel estimate." in box
    assert "Sent back to Sam" in browse(people["dana"]).get(f"/cases/{case.id}").get_data(as_text=True)
    # Sent on again, the request no longer waits for its owner: the note is gone.
    case = db.session.get(Case, case.id)
    engine.fire(db.session, people["sam"], case.id, "submit", case.version)
    assert 'class="sent-back"' not in traveller.get(f"/cases/{case.id}").get_data(as_text=True)
    # An approval with a comment is not "sent back", though the approved trip waits for its traveller.
    approved = make_trip("sam", "submitted", title="Approved one")
    engine.fire(db.session, people["dana"], approved.id, "approve", approved.version, comment="Bring the receipts.")
    assert 'class="sent-back"' not in traveller.get(f"/cases/{approved.id}").get_data(as_text=True)
    # A step of the owner's own, with a comment, is not "sent back".
    draft = make_trip("sam", "draft", title="Unsent")
    engine.add_comment(db.session, people["sam"], draft.id, "Waiting for the agenda.")
    assert 'class="sent-back"' not in traveller.get(f"/cases/{draft.id}").get_data(as_text=True)


def test_the_timeline_names_people_as_the_rest_of_the_page_does(app, browse, people, make_trip, make_user):
    make_user("lee", "dept_head", full_name="Lee Wong")
    case = make_trip("sam", "submitted")
    engine.fire(db.session, db.session.scalar(select(User).where(User.username == "lee")), case.id, "return",
                case.version, comment="Lower the estimate.")
    r = browse(people["sam"]).get(f"/cases/{case.id}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page[-3000:]
    timeline = page.split('id="timeline-h"')[1]
    assert "<strong>Lee Wong</strong>" in timeline and "<strong>lee</strong>" not in timeline
    assert "<dt>Assigned to</dt>" not in page  # a trip is never assigned to anyone


def test_a_returned_report_is_said_to_be_owed_again_not_filed(browse, people, make_trip):
    # Returned to its traveller, a report kept its text and its day: "due by ... · filed on ..." on
    # its page, and "filed" in the approver's list of the traveller's trips for a new request.
    returned = make_trip("sam", "report_submitted", trip_data(TODAY - timedelta(days=10)), title="Returned one")
    engine.fire(db.session, people["dana"], returned.id, "return_report", returned.version,
                comment="Add what you learned.")
    accepted = make_trip("sam", "closed", trip_data(TODAY - timedelta(days=20)), title="Accepted one")
    new = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30)), title="New one")
    own = " ".join(re.sub(r"<[^>]+>", " ", browse(people["sam"]).get(f"/cases/{returned.id}")
                          .get_data(as_text=True)).split())
    assert "returned to the traveller, to be filed again" in own and "filed on" not in own
    review = browse(people["dana"]).get(f"/cases/{new.id}").get_data(as_text=True)
    rows = {m[0]: " ".join(m[1].split()) for m in re.findall(r'>(Returned one|Accepted one)</a></td>(.*?)</tr>',
                                                               review, re.S)}
    assert "filed" not in rows["Returned one"] and "due " in rows["Returned one"]
    assert f"filed {db.session.get(Case, accepted.id).data['report']['filed_on']}" in rows["Accepted one"]


def test_the_case_page_says_whom_the_request_waits_for(browse, people, make_trip, make_user):
    # "Done: submit for approval. The request is now: Submitted." said nothing of who had it next.
    case = make_trip("sam", "submitted")
    dana = people["dana"]

    def waiting(user) -> str | None:
        page = browse(user).get(f"/cases/{case.id}").get_data(as_text=True)
        found = re.search(r"<dt>Waiting for</dt><dd>([^<]*)</dd>", page)
        return found and html.unescape(found.group(1))

    assert waiting(people["sam"]) == dana.full_name and waiting(dana) == "you"
    assert waiting(people["cao"]) == dana.full_name  # not Eli, the head of another department
    second = make_user("dora", "dept_head")  # a second head there: either may decide
    assert waiting(people["sam"]) == " or ".join(sorted([dana.full_name, second.full_name]))
    assert waiting(dana) == f"you or {second.full_name}"
    closed = make_trip("sam", "declined", title="Declined trip")
    page = browse(people["sam"]).get(f"/cases/{closed.id}").get_data(as_text=True)
    assert "<dt>Waiting for</dt>" not in page  # decided: it waits for no one


def test_a_head_who_steps_aside_is_told_who_decides_now(browse, people, make_trip):
    # "Your score has been recorded." said nothing of the decision passing to the CAO.
    trip = make_trip("sam", "submitted")
    r = browse(people["dana"]).post(f"/cases/{trip.id}/score", data={"score-conflict": "recused"},
                                    follow_redirects=True)
    text = " ".join(r.get_data(as_text=True).split())
    assert r.status_code == 200 and "Your score has been recorded." not in text
    assert ("Your declaration of a conflict of interest is recorded: your review is left out, and you take no "
            f"decision on this request. It now waits for {people['cao'].full_name}.") in text


def test_an_approver_reads_where_approving_leads_before_approving(browse, people, make_trip):
    # Above the CAO's threshold a head's approval is a first approval only: the page offered
    # "Approve" alone, and said "now: CAO review" only once it was given.
    costly = make_trip("sam", "submitted", trip_data(TODAY + timedelta(days=30), registration="6000.00"))
    modest = make_trip("sam", "submitted", title="IULA congress")
    head = browse(people["dana"])
    assert "Approve now sends the request to: CAO review." in head.get(f"/cases/{costly.id}").get_data(as_text=True)
    assert "Approve now sends the request to: Approved." in head.get(f"/cases/{modest.id}").get_data(as_text=True)
    # The CAO's own approval has one way only: nothing to say.
    head.post(f"/cases/{costly.id}/actions/approve", data={"approve-version": costly.version})
    page = browse(people["cao"]).get(f"/cases/{costly.id}").get_data(as_text=True)
    assert "/actions/approve" in page and "now sends the request to" not in page
