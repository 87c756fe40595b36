"""Every request waiting for a person, beyond the dashboard's fifty: a page at a time in the
browser and through the API, each page starting after the last case of the one before."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

import clock
from extensions import db
from models import Case
from tests.web.test_case_list import TRIP, listed, people, signed_in  # noqa: F401 (people: a fixture)
from workflows import engine, queries


@pytest.fixture
def submitted(people):
    """Submit a trip of a person, an hour after the one before; return its id."""

    def make(who: str, title: str) -> int:
        start = clock.today() + timedelta(days=60)
        data = {**TRIP, "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat()}
        case = engine.create_case(db.session, people[who], "travel", title, ["leadership"], data)
        case = engine.fire(db.session, people[who], case.id, "submit", case.version)
        clock.advance(hours=1)
        return case.id

    return make


def _next_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', page)
    return found.group(1).replace("&amp;", "&") if found else None


def _pages(client, url: str = "/waiting") -> list[list[int]]:
    """Follow the "Next page" links from a page; return the cases each page lists."""
    pages = []
    while url is not None:
        r = client.get(url)
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        page = r.get_data(as_text=True)
        pages.append(listed(page))
        url = _next_link(page)
    return pages


def test_the_dashboard_leads_to_every_request_waiting_a_page_at_a_time(app, people, submitted, monkeypatch):
    # A head with a backlog saw the fifty oldest and "more are waiting for you", and no way to see them.
    monkeypatch.setattr(queries, "AWAITING_LIMIT", 2)
    ids = [submitted("sam", f"Trip {n}") for n in range(5)]
    submitted("omar", "Another department's")  # not Dana's to decide
    dana = signed_in(app, "dana")
    dashboard = dana.get("/").get_data(as_text=True)
    assert '<a href="/waiting">See every request waiting for you</a>' in dashboard
    assert _pages(dana) == [ids[:2], ids[2:4], ids[4:]]
    first = dana.get("/waiting").get_data(as_text=True)
    assert "<h1>Waiting for you</h1>" in first and "First page" not in first
    assert 'aria-label="Pages of requests waiting for you"' in first


def test_a_case_acted_on_between_pages_shifts_no_other(app, people, submitted, monkeypatch):
    # Pages counted by offset skip a case when one before it is decided meanwhile; a page here
    # starts after the last case shown, whatever happened to those before it.
    monkeypatch.setattr(queries, "AWAITING_LIMIT", 2)
    ids = [submitted("sam", f"Trip {n}") for n in range(5)]
    dana = signed_in(app, "dana")
    second = _next_link(dana.get("/waiting").get_data(as_text=True))
    for case_id in ids[:2]:  # the whole first page decided
        case = db.session.get(Case, case_id)
        engine.fire(db.session, people["dana"], case_id, "approve", case.version)
    assert _pages(dana, second) == [ids[2:4], ids[4:]]
    assert _pages(dana) == [ids[2:4], ids[4:]]


def test_the_pages_look_past_requests_the_person_may_see_but_not_decide(app, make_user, monkeypatch):
    # A head of City Council sees its councillors' trips but does not decide them (the committee
    # does). The dashboard reads a bounded number and says more may wait; the waiting pages go on
    # from where each stopped, and find the trip she does decide behind the 25 she does not.
    monkeypatch.setattr(queries, "AWAITING_LIMIT", 1)  # a page reads five rounds of 11 cases
    make_user("hana", "dept_head", department="City Council")
    chen = make_user("chen", "councillor", department="City Council")
    kim = make_user("kim", "staff", department="City Council")
    start = clock.today() + timedelta(days=60)
    data = {**TRIP, "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat()}

    def submit(who) -> int:
        case = engine.create_case(db.session, who, "travel", f"Trip of {who.username}", ["leadership"], data)
        clock.advance(minutes=1)
        return engine.fire(db.session, who, case.id, "submit", case.version).id

    for _ in range(60):
        submit(chen)
    mine = submit(kim)
    hana = signed_in(app, "hana")
    first = hana.get("/waiting").get_data(as_text=True)
    assert listed(first) == [] and "None of the requests looked through for this page is waiting for you." in first
    assert "Only some of the requests were looked through for this page" in first
    assert _pages(hana) == [[], [mine]]


def test_trips_waiting_for_their_heads_do_not_hide_the_cao_s_own(app, make_user, monkeypatch):
    # The CAO reads every trip, and the search read the staff trips waiting for their heads before
    # a trip in CAO review that came after them: behind 300 of them (55 here), the CAO's list said
    # nothing waited, only that more might.
    monkeypatch.setattr(queries, "AWAITING_LIMIT", 1)  # a page reads five rounds of 11 cases
    make_user("cara", "cao", department="City Manager's Office")
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    start = clock.today() + timedelta(days=60)
    data = {**TRIP, "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat()}

    def submit(costs=None):
        case = engine.create_case(db.session, sam, "travel", "A trip", ["leadership"],
                                  {**data, **({"estimated_cost": costs} if costs else {})})
        clock.advance(minutes=1)
        return engine.fire(db.session, sam, case.id, "submit", case.version)

    for _ in range(60):
        submit()
    costly = submit({"registration": "3000.00", "transport": "3000.00"})
    costly = engine.fire(db.session, dana, costly.id, "approve", costly.version)
    assert costly.state == "cao_review"
    first = signed_in(app, "cara").get("/waiting").get_data(as_text=True)
    assert listed(first) == [costly.id]
    assert "Only some of the requests were looked through" not in first


def test_an_address_with_a_place_that_is_not_one_is_refused_plainly(app, api, people, submitted):
    submitted("sam", "Trip")
    dana = signed_in(app, "dana")
    for bad in ("x", "2026-01-01T00:00:00", "2026-01-01T00:00:00~", "2026-13-01T00:00:00~1", "nope~1",
                "2026-01-01T00:00:00~-1", "2026-01-01T00:00:00~١", "2026-01-01T00:00:00~" + "9" * 19,
                "2026-01-01T00:00:00~2147483648",  # (beyond a database integer: 500 on PostgreSQL)
                # No moment of the calendar in UTC: answered 500 (OverflowError), on the API too.
                "0001-01-01T00:00:00+14:00~1", "9999-12-31T23:59:59-14:00~1"):
        r = dana.get("/waiting", query_string={"after": bad})
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and listed(page) == [], bad
        assert "The place in the list that the address gives is not valid" in page
        assert '<a href="/waiting">First page</a>' in page
    r = api(people["dana"]).get("/api/v1/cases/waiting", query_string={"after": "9999-12-31T23:59:59-14:00~1"})
    assert r.status_code == 422 and "after" in r.get_json()["errors"]


def test_the_api_lists_what_waits_a_page_at_a_time(app, api, people, submitted, monkeypatch):
    monkeypatch.setattr(queries, "AWAITING_LIMIT", 2)
    ids = [submitted("sam", f"Trip {n}") for n in range(3)]
    client = api(people["dana"])
    first = client.get("/api/v1/cases/waiting")
    assert first.status_code == 200
    body = first.get_json()
    assert [c["id"] for c in body["items"]] == ids[:2] and body["next"]
    assert all(c["allowed_transitions"] for c in body["items"])
    second = client.get("/api/v1/cases/waiting", query_string={"after": body["next"]}).get_json()
    assert [c["id"] for c in second["items"]] == ids[2:] and second["next"] is None
    # Nothing waits for the traveller; a place that is not one is refused, naming the parameter.
    assert api(people["sam"]).get("/api/v1/cases/waiting").get_json() == {"items": [], "next": None}
    r = client.get("/api/v1/cases/waiting", query_string={"after": "yesterday"})
    assert r.status_code == 422 and r.get_json()["errors"] == {"after": [
        'Not a place in the list: give the "next" of the page before, or nothing.']}
    assert api(None).get("/api/v1/cases/waiting").status_code == 401
    assert "/api/v1/cases/waiting" in app.test_client().get("/api/openapi.json").get_json()["paths"]


def test_a_place_given_empty_with_an_offset_or_too_long_is_read_as_it_says(app, api, people, submitted, monkeypatch):
    monkeypatch.setattr(queries, "AWAITING_LIMIT", 1)
    ids = [submitted("sam", f"Trip {n}") for n in range(2)]
    dana, client = signed_in(app, "dana"), api(people["dana"])
    # Given empty: the first page, as given not at all.
    assert listed(dana.get("/waiting?after=").get_data(as_text=True)) == ids[:1]
    assert [c["id"] for c in client.get("/api/v1/cases/waiting?after=").get_json()["items"]] == ids[:1]
    # A moment with an offset is the moment it names: the first case's key, spelled five hours ahead.
    first = db.session.get(Case, ids[0])
    ahead = (first.state_entered_at + timedelta(hours=5)).isoformat(timespec="microseconds") + f"+05:00~{first.id}"
    assert queries.WaitKey.parse(ahead) == queries.WaitKey.of(first)
    assert [c["id"] for c in client.get("/api/v1/cases/waiting", query_string={"after": ahead}).get_json()["items"]] \
        == ids[1:]
    # Longer than any key: refused, as the API's description says (maxLength).
    long = "2026-01-01T00:00:00." + "1" * 200 + "~1"
    assert dana.get("/waiting", query_string={"after": long}).status_code == 422
    assert client.get("/api/v1/cases/waiting", query_string={"after": long}).status_code == 422
    spec = app.test_client().get("/api/openapi.json").get_json()["paths"]["/api/v1/cases/waiting"]["get"]
    assert [p["schema"].get("maxLength") for p in spec["parameters"] if p["name"] == "after"] == [60]
    # A later page says so in its title.
    assert "<title>Waiting for you (a later page)" in dana.get("/waiting", query_string={"after": ahead}).get_data(
        as_text=True)
