"""The case page's timeline: what an edit changed, and whether the record's chain checks out."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

import clock
from extensions import db
from tests.factories import TEST_PASSWORD, trail_unguarded
from workflows import engine
from workflows.audit import case_events

TRIP = {"event_name": "Metropolis World Congress", "event_organizer": "Metropolis", "event_city": "Sao Paulo",
        "event_country": "Brazil", "purpose": "Present Toronto's Healthy City work.", "role_at_event": "presenter",
        "funding": "city", "estimated_cost": {"registration": "650.00"}}


def page_of(app, username: str, case_id: int) -> str:
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": TEST_PASSWORD}).status_code == 302
    return client.get(f"/cases/{case_id}").get_data(as_text=True)


def test_an_edit_says_what_it_changed_and_the_record_is_sealed(app, make_user):
    sam = make_user("sam", "staff")
    start = clock.today() + timedelta(days=60)
    case = engine.create_case(db.session, sam, "travel", "Metropolis congress", ["leadership"],
                              {**TRIP, "start_date": start.isoformat()})
    # A form sends every field: only those that differ are recorded and named.
    case = engine.update_case(db.session, sam, case.id, case.version, title="Metropolis World Congress",
                              goals=["leadership"], data={**TRIP, "start_date": (start + timedelta(days=1)).isoformat(),
                                                          "event_city": "Lisbon"})
    # Sent again, the same values are no change: nothing is recorded, and the version stays.
    again = engine.update_case(db.session, sam, case.id, case.version, title="Metropolis World Congress",
                               data={"event_city": "Lisbon"})
    assert again.version == case.version
    page = page_of(app, "sam", case.id)
    assert "<p>Changed: Title, Event city, Start date.</p>" in page
    [edit] = [e for e in case_events(db.session, case.id) if e.action == "edit"]
    assert edit.payload == {"title": "Metropolis World Congress",
                            "data": {"event_city": "Lisbon", "start_date": (start + timedelta(days=1)).isoformat()}}
    assert "the seals check out." in page and "fails its check" not in page


def test_a_record_changed_outside_accord_is_shown_as_such(app, make_user):
    # Someone with the database's keys rewrites a comment: the page says the record fails its check.
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    start = clock.today() + timedelta(days=60)
    case = engine.create_case(db.session, sam, "travel", "Metropolis congress", ["leadership"],
                              {**TRIP, "start_date": start.isoformat(),
                               "end_date": (start + timedelta(days=2)).isoformat()})
    case = engine.fire(db.session, sam, case.id, "submit", case.version)
    engine.fire(db.session, dana, case.id, "decline", case.version, comment="Over the year's budget.")
    db.session.remove()
    with db.engine.begin() as conn, trail_unguarded(conn):
        conn.execute(text("UPDATE audit_events SET comment = 'Approved in principle.' WHERE action = 'decline'"))
    page = page_of(app, "sam", case.id)
    assert "This record fails its check" in page and "the seals check out" not in page
    assert 'role="alert">This record fails its check' in page


def test_goals_in_another_order_are_no_change(app, make_user):
    sam = make_user("sam", "staff")
    case = engine.create_case(db.session, sam, "travel", "Metropolis congress", ["leadership", "research"], TRIP)
    version = case.version
    engine.update_case(db.session, sam, case.id, case.version, goals=["research", "leadership"])
    db.session.expire_all()
    case = db.session.get(type(case), case.id)
    assert case.goals == ["leadership", "research"] and case.version == version
    assert [e.action for e in case_events(db.session, case.id)] == ["create"]


def test_an_edit_that_recorded_every_field_sent_is_read_for_what_it_changed(app, make_user):
    # Edits recorded before they kept only their changes hold the whole form: the page replays
    # the trail to name what each changed.
    from workflows.audit import record_event
    from workflows.transaction import write_transaction

    sam = make_user("sam", "staff")
    case = engine.create_case(db.session, sam, "travel", "Metropolis congress", ["leadership"], TRIP)
    with write_transaction(db.session) as session:
        record_event(session, actor=session.merge(sam), case=session.merge(case), action="edit", from_state="draft",
                     to_state="draft", payload={"title": "Metropolis congress", "goals": ["leadership"],
                                                "data": {**case.data, "event_city": "Lisbon", "sponsor_name": None}})
    page = page_of(app, "sam", case.id)
    assert "<p>Changed: Event city.</p>" in page and "the seals check out" in page


def test_the_timeline_gives_the_citys_time(app, make_user):
    # It gave UTC, while the lists give the City's dates: a request made at 19:23 on 29 November
    # in Toronto read as made on 30 November.
    from datetime import datetime, timezone

    sam = make_user("sam", "staff")
    clock.set(datetime(2026, 11, 30, 0, 23, tzinfo=timezone.utc))
    case = engine.create_case(db.session, sam, "travel", "Metropolis congress", ["leadership"], TRIP)
    clock.set(datetime(2026, 7, 1, 16, 5, tzinfo=timezone.utc) + timedelta(days=365))  # daylight saving time
    engine.add_comment(db.session, sam, case.id, "Booked.")
    page = page_of(app, "sam", case.id)
    assert '<time datetime="2026-11-30T00:23:00Z">2026-11-29 19:23 EST</time>' in page
    assert ">2027-07-01 12:05 EDT</time>" in page and " UTC</time>" not in page


def test_the_timeline_names_each_step_as_its_button_does(app, make_user):
    # It gave the codes: "create", "start triage", "approve".
    sam = make_user("sam", "staff")
    make_user("dana", "dept_head")
    start = clock.today() + timedelta(days=60)
    case = engine.create_case(db.session, sam, "travel", "Metropolis congress", ["leadership"],
                              {**TRIP, "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat()})
    case = engine.fire(db.session, sam, case.id, "submit", case.version)
    engine.add_comment(db.session, sam, case.id, "Booked early.")
    timeline = page_of(app, "sam", case.id).split('id="timeline-h"')[1]
    assert "Created: — → Draft" in timeline and "Submit for approval: Draft → Submitted" in timeline and "Commented" in timeline
    assert "create:" not in timeline
