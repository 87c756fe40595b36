"""The case list in the browser: every request a person may see, newest first, a page at a time,
filtered as the API's list is; and the dashboard says when it shows only some."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

import clock
from extensions import db
from models import Case
from tests.factories import TEST_PASSWORD, error_summary
from web import cases as case_views, pages
from workflows import engine, queries

TRIP = {
    "event_name": "Metropolis World Congress", "event_organizer": "Metropolis", "event_city": "Sao Paulo",
    "event_country": "Brazil", "purpose": "Present Toronto's Healthy City work.", "role_at_event": "presenter",
    "funding": "city", "estimated_cost": {"registration": "650.00"},
}


@pytest.fixture
def people(app, make_user):
    return {"sam": make_user("sam", "staff"), "dana": make_user("dana", "dept_head", "staff"),
            "omar": make_user("omar", "staff", department="Economic Development and Culture")}


@pytest.fixture
def trip(people):
    """Create a trip for a person, submitted unless told otherwise; return its id."""

    def make(who: str, title: str, submit: bool = True) -> int:
        start = clock.today() + timedelta(days=60)
        data = {**TRIP, "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat()}
        case = engine.create_case(db.session, people[who], "travel", title, ["leadership"], data)
        if submit:
            case = engine.fire(db.session, people[who], case.id, "submit", case.version)
        return case.id

    return make


def signed_in(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": TEST_PASSWORD}).status_code == 302
    return client


def listed(page: str) -> list[int]:
    """Return the ids of the cases in the page's table, in its order."""
    return [int(n) for n in re.findall(r'<a href="/cases/(\d+)">', page)]


def caption(page: str) -> str:
    return re.search(r"<caption>(.*?)</caption>", page, re.S).group(1)


def test_the_list_shows_what_the_person_may_see_newest_first_a_page_at_a_time(app, people, trip, monkeypatch):
    monkeypatch.setattr(case_views, "PER_PAGE", 2)
    ids = [trip("sam", f"Trip {n}") for n in range(5)]
    other = trip("omar", "Another department's trip")
    dana = signed_in(app, "dana")

    first = dana.get("/cases").get_data(as_text=True)
    assert listed(first) == [ids[4], ids[3]]
    assert caption(first) == "5 requests, the most recently made first: page 1 of 3"
    assert '<th scope="col">Made</th><th scope="col">Updated</th>' in first  # the order's date, and the last change
    assert 'href="/cases?page=2" rel="next"' in first and 'rel="prev"' not in first
    second = dana.get("/cases?page=2").get_data(as_text=True)
    assert listed(second) == [ids[2], ids[1]]
    assert 'href="/cases" rel="prev"' in second and 'href="/cases?page=3" rel="next"' in second
    last = dana.get("/cases?page=3").get_data(as_text=True)
    assert listed(last) == [ids[0]] and 'rel="next"' not in last
    # A page past the end says so and leads back to the last page.
    beyond = dana.get("/cases?page=9").get_data(as_text=True)
    assert listed(beyond) == [] and "There is no request on this page." in beyond
    assert caption(beyond) == "5 requests, the most recently made first: there is no page 9, the last is page 3"
    assert '<a href="/cases?page=3" rel="prev">Last page</a>' in beyond
    # The head does not see the other department's trip (5 requests, not 6); its traveller sees
    # only that one.
    assert listed(signed_in(app, "sam").get("/cases").get_data(as_text=True)) == [ids[4], ids[3]]
    assert listed(signed_in(app, "omar").get("/cases").get_data(as_text=True)) == [other]


def test_the_filters_narrow_the_list_and_the_pages_keep_them(app, people, trip, monkeypatch):
    monkeypatch.setattr(case_views, "PER_PAGE", 1)
    draft = trip("dana", "Dana's own draft", submit=False)
    submitted = [trip("sam", "First"), trip("sam", "Second")]
    dana = signed_in(app, "dana")

    mine = dana.get("/cases?mine=y").get_data(as_text=True)
    assert listed(mine) == [draft] and caption(mine) == "1 request matches these filters, the most recently made first"
    assert '<input checked id="mine" name="mine" type="checkbox" value="y">' in mine
    page = dana.get("/cases?workflow=travel&state=submitted").get_data(as_text=True)
    assert '<input id="mine" name="mine" type="checkbox" value="y">' in page
    assert listed(page) == [submitted[1]]
    assert caption(page) == "2 requests match these filters, the most recently made first: page 1 of 2"
    assert 'href="/cases?workflow=travel&amp;state=submitted&amp;page=2" rel="next"' in page
    assert listed(dana.get("/cases?workflow=travel&state=submitted&page=2").get_data(as_text=True)) == [submitted[0]]
    nothing = dana.get("/cases?workflow=relief").get_data(as_text=True)
    assert listed(nothing) == [] and "No request matches these filters." in nothing
    # The pages of one's own requests stay one's own.
    sam = signed_in(app, "sam")
    page = sam.get("/cases?mine=y").get_data(as_text=True)
    assert listed(page) == [submitted[1]] and 'href="/cases?mine=y&amp;page=2" rel="next"' in page
    assert listed(sam.get("/cases?mine=y&page=2").get_data(as_text=True)) == [submitted[0]]


def test_a_person_with_no_request_to_see_is_told_so(app, people, trip):
    trip("sam", "Sam's trip")
    page = signed_in(app, "omar").get("/cases").get_data(as_text=True)
    assert listed(page) == [] and caption(page) == "0 requests, the most recently made first"
    assert "There is no request you may see yet." in page


def test_a_filter_that_is_not_offered_is_refused_naming_it(app, people, trip):
    trip("sam", "A trip")
    sam = signed_in(app, "sam")
    r = sam.get("/cases?workflow=nope&state=submitted")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and listed(page) == []
    assert error_summary(page) == [("workflow", "Workflow: Not a valid choice.")]
    # A state the workflow chosen never has would only ever show an empty list.
    r = sam.get("/cases?workflow=travel&state=in_triage")
    assert r.status_code == 422 and listed(r.get_data(as_text=True)) == []
    assert error_summary(r.get_data(as_text=True)) == [
        ("state", "State: A travel request is never 'In triage': choose one of its states, or any workflow.")]
    assert listed(sam.get("/cases?state=in_triage").get_data(as_text=True)) == []  # any workflow: no error
    for bad in ("x", "0", "-1", "²", "1000001", "1" * 5000):
        r = sam.get(f"/cases?mine=y&page={bad}")
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and listed(page) == []
        assert "The page number in the address is not valid: it is a whole number from 1 to 1,000,000." in page
        assert '<a href="/cases?mine=y">Show the first page</a>' in page


def test_the_menu_leads_to_the_list(app, people):
    page = signed_in(app, "sam").get("/cases").get_data(as_text=True)
    assert '<a href="/cases" aria-current="page">Requests</a>' in page and page.count("aria-current") == 1


def test_the_dashboard_says_when_more_wait_than_it_shows(app, people, trip, monkeypatch):
    # A head with a backlog saw fifty requests and nothing to say there were more.
    monkeypatch.setattr(queries, "AWAITING_LIMIT", 2)
    more = "that have waited longest; more are waiting for you."
    ids = [trip("sam", f"Trip {n}") for n in range(2)]
    dana = signed_in(app, "dana")
    page = dana.get("/").get_data(as_text=True)
    assert sorted(listed(page)) == ids and more not in page
    ids.append(trip("sam", "One more"))
    page = dana.get("/").get_data(as_text=True)
    assert listed(page) == ids[:2] and f"These are the 2 {more}" in page


def test_the_dashboard_leads_to_every_request_of_ones_own_when_it_shows_only_some(app, people, trip, monkeypatch):
    monkeypatch.setattr(pages, "MINE_LIMIT", 2)
    ids = [trip("sam", f"Trip {n}") for n in range(2)]
    sam = signed_in(app, "sam")
    assert "See every request you made" not in sam.get("/").get_data(as_text=True)
    ids.append(trip("sam", "One more"))
    page = sam.get("/").get_data(as_text=True)
    assert listed(page) == ids[:0:-1] and '<a href="/cases?mine=y">See every request you made</a>' in page
    assert listed(sam.get("/cases?mine=y").get_data(as_text=True)) == ids[::-1]


def test_the_dashboard_says_more_may_wait_when_it_did_not_look_through_them_all(app, people, make_user, monkeypatch):
    # A head of City Council sees its councillors' trips but does not decide them (the committee
    # does): the dashboard reads a bounded number of such cases, and then says it stopped.
    monkeypatch.setattr(queries, "AWAITING_LIMIT", 1)  # five rounds of 11 cases
    make_user("hana", "dept_head", department="City Council")
    chen = make_user("chen", "councillor", department="City Council")
    kim = make_user("kim", "staff", department="City Council")
    start = clock.today() + timedelta(days=60)
    data = {**TRIP, "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat()}

    def submitted(who) -> int:
        case = engine.create_case(db.session, who, "travel", f"Trip of {who.username}", ["leadership"], data)
        return engine.fire(db.session, who, case.id, "submit", case.version).id

    for _ in range(55):
        submitted(chen)
    hana = signed_in(app, "hana")
    page = hana.get("/").get_data(as_text=True)
    assert "Nothing is waiting for you." in page and "more may be waiting for you" in page
    assert "more are waiting" not in page
    mine = submitted(kim)  # hers to decide, behind the 55 she is not
    page = hana.get("/").get_data(as_text=True)
    assert listed(page) == [] and "more may be waiting for you" in page
    assert mine in listed(hana.get("/cases?state=submitted&workflow=travel").get_data(as_text=True))
    monkeypatch.setattr(queries, "AWAITING_LIMIT", 50)  # one round reads them all
    page = hana.get("/").get_data(as_text=True)
    assert listed(page) == [mine] and "may be waiting" not in page


def test_what_waits_for_the_owner_is_on_their_dashboard_until_they_act(app, people, trip):
    # A returned trip, an approved trip to mark taken, a report to file: only the traveller can move
    # these on, and their dashboard's "Awaiting my action" said nothing was waiting for them.
    def waiting(who: str) -> list[int]:
        page = signed_in(app, who).get("/").get_data(as_text=True)
        return listed(page.split('id="awaiting-h"')[1].split("</section>")[0])

    # Noon in Toronto: sixty days on (in UTC) is the trip's first day there whatever the clock
    # change between (from midnight to one, after the autumn change, it was the day before).
    clock.set(datetime(2026, 3, 2, 17, tzinfo=timezone.utc))
    sam, dana = people["sam"], people["dana"]
    draft = trip("sam", "Still a draft", submit=False)
    case_id = trip("sam", "Returned, then approved")
    assert waiting("sam") == [draft] and case_id in waiting("dana")
    version = db.session.get(Case, case_id).version
    case = engine.fire(db.session, dana, case_id, "return", version, comment="Add the registration fee.")
    assert waiting("sam") == [draft, case_id] and case_id not in waiting("dana")
    case = engine.fire(db.session, sam, case_id, "submit", case.version)
    assert waiting("sam") == [draft]
    case = engine.fire(db.session, dana, case_id, "approve", case.version)
    assert waiting("sam") == [draft]  # nothing to do before the trip
    clock.set(clock.now() + timedelta(days=60))
    assert waiting("sam") == [draft, case_id]  # from its first day, to mark as taken
    clock.set(clock.now() + timedelta(days=2))
    case = engine.fire(db.session, sam, case_id, "complete_trip", case.version)
    assert waiting("sam") == [draft, case_id]  # its report to file
    case = engine.fire(db.session, sam, case_id, "submit_report", case.version, payload={
        "summary": "Three sessions.", "learnings": "Community health agents.", "contacts": [], "actual_cost": "640.00"})
    assert waiting("sam") == [draft] and case_id in waiting("dana")
    # Nobody else sees a draft as waiting for them.
    assert draft not in waiting("dana")


def test_the_days_shown_are_the_citys(app, people, trip):
    # 21:00 on New Year's Eve in Toronto is already 1 January in UTC, where times are stored.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    clock.set(datetime(2026, 12, 31, 21, 0, tzinfo=ZoneInfo("America/Toronto")))
    case_id = trip("sam", "A late request", submit=False)
    for path in ("/cases", "/"):
        page = signed_in(app, "sam").get(path).get_data(as_text=True)
        row = page.split(f'<a href="/cases/{case_id}">')[1].split("</tr>")[0]
        assert '<time datetime="2027-01-01T02:00:00Z">2026-12-31</time>' in row, path
