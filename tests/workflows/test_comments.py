"""Comments: anyone who may see a request adds one to its record, through the API or its page;
it raises the version and leaves the state, and a bad or unseen one changes nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Case
from tests.factories import TEST_PASSWORD


def _record(case_id: int) -> tuple:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    events = db.session.scalar(select(func.count()).where(AuditEvent.case_id == case_id))
    return case.state, case.version, events, case.last_event_hash


def test_a_comment_goes_on_the_record_without_moving_the_request(api, people, submitted):
    before = _record(submitted.id)
    r = api(people["head"]).post(f"/api/v1/cases/{submitted.id}/comments",
                                 json={"comment": "  Which sessions will you attend?  "})
    assert r.status_code == 201
    assert (r.get_json()["state"], r.get_json()["version"]) == ("submitted", before[1] + 1)
    history = api(people["owner"]).get(f"/api/v1/cases/{submitted.id}/history").get_json()
    last = history["events"][-1]
    assert (last["action"], last["actor"], last["from_state"], last["to_state"], last["comment"]) == (
        "comment", "hank", "submitted", "submitted", "Which sessions will you attend?")
    assert history["chain_valid"] is True
    assert _record(submitted.id)[:3] == (before[0], before[1] + 1, before[2] + 1)
    # A step taken on the version read before the comment is told to reload, and then goes through.
    head = api(people["head"])
    approve = {"trigger": "approve", "data": {"amount": "250.00"}}
    stale = head.post(f"/api/v1/cases/{submitted.id}/transitions", json={**approve, "version": before[1]})
    assert stale.status_code == 409
    fresh = head.post(f"/api/v1/cases/{submitted.id}/transitions", json={**approve, "version": before[1] + 1})
    assert fresh.get_json()["state"] == "approved"


@pytest.mark.parametrize("body, status", [
    ({}, 422), ({"comment": ""}, 422), ({"comment": "   "}, 422), ({"comment": "x" * 5001}, 422),
    ({"comment": "nul\x00"}, 422), ({"comment": 5}, 422),
])
def test_a_bad_comment_is_refused_naming_the_field_and_changes_nothing(api, people, submitted, body, status):
    before = _record(submitted.id)
    r = api(people["owner"]).post(f"/api/v1/cases/{submitted.id}/comments", json=body)
    assert r.status_code == status and "comment" in r.get_json()["errors"]
    assert _record(submitted.id) == before


def test_someone_who_cannot_see_the_request_cannot_comment_on_it(api, people, submitted):
    before = _record(submitted.id)
    assert api(people["stranger"]).post(f"/api/v1/cases/{submitted.id}/comments",
                                        json={"comment": "Hello"}).status_code == 404
    assert api(None).post(f"/api/v1/cases/{submitted.id}/comments", json={"comment": "Hello"}).status_code == 401
    assert _record(submitted.id) == before


def test_the_case_page_adds_a_comment_and_shows_it_in_the_timeline(app, people, submitted):
    client = app.test_client()
    assert client.post("/login", data={"username": "olive", "password": TEST_PASSWORD}).status_code == 302
    before = _record(submitted.id)
    empty = client.post(f"/cases/{submitted.id}/comments", data={"comment": "  "})
    assert empty.status_code == 422 and "Write a comment." in empty.get_data(as_text=True)
    long = client.post(f"/cases/{submitted.id}/comments", data={"comment": "Too long. " * 501}).get_data(as_text=True)
    assert 'aria-invalid="true"' in long and "5000 characters" in long and "Too long. Too long." in long
    assert _record(submitted.id) == before
    r = client.post(f"/cases/{submitted.id}/comments", data={"comment": "The programme is attached to the invitation."},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Your comment is on the record" in page
    timeline = page.split('id="timeline-h"')[1]
    assert "The programme is attached to the invitation." in timeline and "comment" in timeline
    assert _record(submitted.id)[:3] == ("submitted", before[1] + 1, before[2] + 1)


def test_a_comment_of_paragraphs_as_long_as_the_page_allows_is_accepted(app, people, submitted):
    # The browser's maxlength counts a line break as one character but sends it as two (CR LF):
    # a comment the page let the person type, 5,000 characters by its count, was refused.
    client = app.test_client()
    assert client.post("/login", data={"username": "olive", "password": TEST_PASSWORD}).status_code == 302
    typed = ("A paragraph." + "." * 86 + "\r\n\r\n") * 50  # 100 characters a paragraph, as maxlength counts
    assert len(typed.replace("\r\n", "\n")) == 5000
    r = client.post(f"/cases/{submitted.id}/comments", data={"comment": typed})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    db.session.expire_all()
    last = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == submitted.id)
                              .order_by(AuditEvent.seq.desc())).first()
    assert last.action == "comment" and last.comment == typed.replace("\r\n", "\n").strip()


def test_a_comment_sent_twice_from_its_page_is_recorded_once(app, people, submitted):
    # A double click on "Add comment" put the comment on the record twice, for good.
    client = app.test_client()
    assert client.post("/login", data={"username": "olive", "password": TEST_PASSWORD}).status_code == 302
    page = client.get(f"/cases/{submitted.id}").get_data(as_text=True)
    seen = re.search(r'name="seen" type="hidden" value="(\d+)"', page).group(1)
    before = _record(submitted.id)
    for _ in range(2):
        r = client.post(f"/cases/{submitted.id}/comments", data={"comment": "Programme attached.", "seen": seen})
        assert r.status_code == 302
    assert _record(submitted.id)[1:3] == (before[1] + 1, before[2] + 1)
    # The same words again from the page shown after it, or others from the first page, are new comments.
    page = client.get(f"/cases/{submitted.id}").get_data(as_text=True)
    again = re.search(r'name="seen" type="hidden" value="(\d+)"', page).group(1)
    assert client.post(f"/cases/{submitted.id}/comments", data={"comment": "Programme attached.", "seen": again}
                       ).status_code == 302
    assert client.post(f"/cases/{submitted.id}/comments", data={"comment": "And the agenda.", "seen": seen}
                       ).status_code == 302
    assert _record(submitted.id)[1:3] == (before[1] + 3, before[2] + 3)
