"""The relief request's data: dates, amounts, the contact, the link to the partnership inventory."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

import clock
from extensions import db
from models import Case, Partnership
from tests.workflows.relief.conftest import fire, relief_data, snapshot


def create(client, **changes):
    return client.post("/api/v1/cases", json={"workflow": "relief", "title": "Relief", "goals": ["compassion"],
                                              "data": relief_data(**changes)})


def test_disaster_date_may_be_today_but_not_tomorrow(api, people):
    clock.set(datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc))  # 10:00 in Toronto
    client = api(people["owner"])
    assert create(client, disaster_date="2026-03-10").status_code == 201
    r = create(client, disaster_date="2026-03-11")
    assert r.status_code == 422 and "disaster_date" in r.get_json()["errors"]["data"]
    assert db.session.scalar(select(Case).where(Case.workflow == "relief").offset(1)) is None


def test_dates_are_written_yyyy_mm_dd(api, people):
    # api.md: "Dates are YYYY-MM-DD". Python reads "20260308" and "2026-W10-7" as dates too.
    clock.set(datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc))
    client = api(people["owner"])
    for written in ("20260308", "2026-W10-7", "2026-067", "8 March 2026"):
        r = create(client, disaster_date=written)
        assert r.status_code == 422, written
        assert r.get_json()["errors"]["data"]["disaster_date"] == ["Give a date as YYYY-MM-DD, such as 2026-06-10."]
    assert db.session.scalar(select(Case).where(Case.workflow == "relief")) is None
    assert create(client, disaster_date="2026-03-08").get_json()["data"]["disaster_date"] == "2026-03-08"


def test_the_contact_email_must_be_valid(api, people):
    r = create(api(people["owner"]), contact={"name": "Ana Martinez", "email": "not an address"})
    assert r.status_code == 422
    assert "email" in r.get_json()["errors"]["data"]["contact"]


def test_the_partnership_must_be_in_the_inventory(api, people):
    client = api(people["owner"])
    # Ids beyond a database integer (32-bit on PostgreSQL, 64-bit on SQLite) name nothing either.
    for unknown in (9999, 2**31, 2**63, -1):
        r = create(client, partnership_id=unknown)
        assert r.status_code == 422 and "partnership_id" in r.get_json()["errors"]["data"], unknown
    soyapango = db.session.scalar(select(Partnership).where(Partnership.city == "Soyapango"))
    r = create(client, partnership_id=soyapango.id)
    assert r.status_code == 201 and r.get_json()["data"]["partnership_id"] == soyapango.id


def test_a_draft_may_be_partial_and_choices_are_checked(api, people):
    client = api(people["owner"])
    r = client.post("/api/v1/cases", json={"workflow": "relief", "title": "Quick note", "goals": ["compassion"],
                                           "data": {"city": "Tegucigalpa"}})
    assert r.status_code == 201
    for bad in ({"disaster_type": "meteor"}, {"assistance_types": ["money"]}, {"assistance_types": []},
                {"party_type": "individual"}, {"description": "x" * 5001}, {"city": "nul\x00"}):
        r = client.post("/api/v1/cases", json={"workflow": "relief", "title": "Bad", "goals": ["compassion"],
                                               "data": bad})
        assert r.status_code == 422, bad
        assert set(r.get_json()["errors"]["data"]) == set(bad)


def test_amounts_are_decimal_strings_never_rounded_through_float(api, people):
    client = api(people["owner"])
    assert create(client, amount_requested="1250.5").get_json()["data"]["amount_requested"] == "1250.50"
    assert create(client, amount_requested=1250.1).get_json()["data"]["amount_requested"] == "1250.10"
    assert create(client, amount_requested="0.30").get_json()["data"]["amount_requested"] == "0.30"
    r = create(client, amount_requested="12.345")
    assert r.status_code == 422 and "amount_requested" in r.get_json()["errors"]["data"]
    # Far beyond the largest amount, as a number or text: refused naming the field, like any other.
    for huge in (1e30, "1e30", 10**27, "1000000000.01"):
        r = create(client, amount_requested=huge)
        assert r.status_code == 422, huge
        assert r.get_json()["errors"]["data"]["amount_requested"] == ["Must be at most $1,000,000,000.00."]
    case = db.session.scalar(select(Case).where(Case.workflow == "relief").order_by(Case.id.desc()))
    assert str(case.amount_requested) == "0.30"
    assert create(client, amount_requested="-0").get_json()["data"]["amount_requested"] == "0.00"  # not "-0.00"
    # Below nought, in the same words (not "greater than or equal to 0 and less than or equal to 1000000000.00").
    for below in ("-1", "-2000000000"):
        r = create(client, amount_requested=below)
        assert r.get_json()["errors"]["data"]["amount_requested"] == ["Must be between $0.00 and $1,000,000,000.00."]


def test_the_owner_edits_in_draft_and_when_information_is_requested_only(api, people, make_case):
    client = api(people["owner"])
    asked = make_case("info_requested")
    r = client.patch(f"/api/v1/cases/{asked.id}", json={"version": asked.version, "data": {"affected_population": 5}})
    assert r.status_code == 200 and r.get_json()["data"]["affected_population"] == 5
    triage = make_case("in_triage")
    before = snapshot(triage.id)
    r = client.patch(f"/api/v1/cases/{triage.id}", json={"version": triage.version, "data": {"city": "X"}})
    assert r.status_code == 409
    assert snapshot(triage.id) == before


def test_an_edit_that_changes_nothing_leaves_no_trace(api, people, make_case):
    case = make_case("draft")
    before, version = snapshot(case.id), case.version
    client = api(people["owner"])
    for body in ({"title": case.title}, {"data": {}}, {"data": {"city": case.data["city"]}}, {"goals": case.goals}):
        r = client.patch(f"/api/v1/cases/{case.id}", json={"version": version, **body})
        assert r.status_code == 200 and r.get_json()["version"] == version, body
    assert snapshot(case.id) == before
    # Whoever holds that version may still act on it.
    r = client.patch(f"/api/v1/cases/{case.id}", json={"version": version, "data": {"city": "Antakya"}})
    assert r.status_code == 200 and r.get_json()["version"] == version + 1


def test_the_owner_may_not_write_decision_data(api, people, make_case):
    case = make_case("draft")
    before = snapshot(case.id)
    r = api(people["owner"]).patch(f"/api/v1/cases/{case.id}",
                                   json={"version": case.version, "data": {"amount_granted": "1000000.00"}})
    assert r.status_code == 422
    assert snapshot(case.id) == before


def test_provide_info_merges_the_new_data_and_keeps_it_complete(api, people, make_case):
    case = make_case("info_requested")
    client = api(people["owner"])
    r = fire(client, case.id, "provide_info", case.version,
             data={"channel": "Salvadoran Red Cross", "amount_requested": "35000.00"}, comment="Agency named.")
    assert r.status_code == 200
    data = r.get_json()["data"]
    assert (data["channel"], data["amount_requested"], data["city"]) == ("Salvadoran Red Cross", "35000.00",
                                                                         "Soyapango")
    assert str(db.session.get(Case, case.id).amount_requested) == "35000.00"
    later = make_case("info_requested")
    before = snapshot(later.id)
    future = (clock.today() + timedelta(days=1)).isoformat()
    r = fire(client, later.id, "provide_info", later.version, data={"disaster_date": future})
    assert r.status_code == 422 and "disaster_date" in r.get_json()["errors"]["data"]
    assert snapshot(later.id) == before


def test_a_partner_linked_in_another_country_is_noted_on_the_request(app, api, people):
    # A flood in Manila linked to Soyapango, El Salvador (a slip in a list of every entry) showed
    # the officer scoring "relationship" a partner the city does not have. Noted, not refused:
    # countries are written in more than one way (the inventory's Turkey, a request's Türkiye).
    from tests.workflows.relief.test_views import sign_in

    client = api(people["owner"])
    soyapango = db.session.scalar(select(Partnership).where(Partnership.city == "Soyapango"))
    istanbul = db.session.scalar(select(Partnership).where(Partnership.city == "Istanbul"))
    manila = create(client, city="Manila", country="Philippines", partnership_id=soyapango.id).get_json()
    turkish = create(client, city="Istanbul", country="Türkiye", partnership_id=istanbul.id).get_json()
    spelled = create(client, city="San Salvador", country=" el  salvadór", partnership_id=soyapango.id).get_json()
    assert all(c["state"] == "draft" for c in (manila, turkish, spelled))
    browser = app.test_client()
    sign_in(browser, people["hco"])
    pages = {}
    for name, case in (("manila", manila), ("turkish", turkish), ("spelled", spelled)):
        assert client.post(f"/api/v1/cases/{case['id']}/transitions",
                                  json={"trigger": "submit", "version": case["version"]}).status_code == 200
        pages[name] = browser.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert ("The partner linked, Soyapango, is in El Salvador in the inventory; the request names Philippines. "
            "Check that the link is the right one.") in pages["manila"]
    assert "Check that the link is the right one." in pages["turkish"]  # (for the officer to judge)
    assert "Check that the link is the right one." not in pages["spelled"]  # (accents, case, spacing aside)
