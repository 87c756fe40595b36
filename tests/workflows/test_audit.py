"""The audit trail detects edited, deleted and reordered events, and a rewritten history."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from extensions import db
from models import AuditEvent
from tests.factories import TEST_PASSWORD, trail_unguarded
from workflows import engine


@pytest.fixture
def trail(people, submitted):
    """A case with four events: create, submit, approve... and a second case."""
    engine.fire(db.session, people["head"], submitted.id, "approve", submitted.version, payload={"amount": "10.00"},
                comment="fine")
    other = engine.create_case(db.session, people["owner"], "leave", "Another", ["culture"], {"reason": "x", "days": 1})
    return submitted.id, other.id


def _events(case_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)))


def _tamper(sql: str, **params) -> None:
    """Change the table behind the application's back (as an attacker with database access would)."""
    with trail_unguarded(db.session.connection()):
        db.session.execute(text(sql), params)
    db.session.commit()
    db.session.expire_all()


def _verify(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def test_intact_trail_verifies(app, trail):
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "OK: 4 events in 2 chains" in result.output


def test_edited_comment_is_named(app, trail):
    approve = _events(trail[0])[2]
    _tamper("UPDATE audit_events SET comment = 'forged' WHERE id = :id", id=approve.id)
    result = _verify(app)
    assert result.exit_code == 1
    assert f"event {approve.id} " in result.output and "edited" in result.output


def test_deleted_middle_event_is_named(app, trail):
    create, submit, approve = _events(trail[0])
    _tamper("DELETE FROM audit_events WHERE id = :id", id=submit.id)
    result = _verify(app)
    assert result.exit_code == 1
    assert f"event {approve.id} " in result.output


def test_deleted_last_event_is_caught(app, trail):
    approve = _events(trail[0])[-1]
    _tamper("DELETE FROM audit_events WHERE id = :id", id=approve.id)
    result = _verify(app)
    assert result.exit_code == 1
    assert f"case:{trail[0]}" in result.output and "cut off" in result.output


def test_reordered_events_are_named(app, trail):
    create, submit, approve = _events(trail[0])
    (submit_id, submit_seq), (approve_id, approve_seq) = (submit.id, submit.seq), (approve.id, approve.seq)
    _tamper("UPDATE audit_events SET seq = -1 WHERE id = :id", id=submit_id)
    _tamper("UPDATE audit_events SET seq = :s WHERE id = :id", s=submit_seq, id=approve_id)
    _tamper("UPDATE audit_events SET seq = :s WHERE id = :id", s=approve_seq, id=submit_id)
    result = _verify(app)
    assert result.exit_code == 1
    assert f"event {approve_id} " in result.output


def test_rehashed_history_verifies_alone_but_not_against_the_recorded_head(app, trail, people):
    from workflows.audit import event_hash

    head = app.test_cli_runner().invoke(args=["audit", "head"]).output.strip()
    # An attacker rewrites the comment and re-hashes the whole chain so that it verifies on its own.
    events = _events(trail[0])
    for e in events:
        db.session.expunge(e)  # edit copies, then write them with plain SQL
    prev = "0" * 64
    for e in events:
        if e.action == "approve":
            e.comment = "rewritten"
        e.prev_hash = prev
        e.hash = event_hash(e)
        prev = e.hash
        _tamper("UPDATE audit_events SET comment=:c, prev_hash=:p, hash=:h WHERE id=:id",
                c=e.comment, p=e.prev_hash, h=e.hash, id=e.id)
    _tamper("UPDATE cases SET last_event_hash=:h WHERE id=:id", h=prev, id=trail[0])
    assert _verify(app).exit_code == 0
    result = _verify(app, "--head", head)
    assert result.exit_code == 1
    assert "rewritten" in result.output


def test_recorded_head_still_matches_after_new_events(app, trail, people):
    head = app.test_cli_runner().invoke(args=["audit", "head"]).output.strip()
    engine.fire(db.session, people["owner"], trail[1], "submit", 1)
    assert _verify(app, "--head", head).exit_code == 0


def test_the_database_refuses_update_and_delete_of_events(app, trail):
    from sqlalchemy.exc import DBAPIError

    before = [(e.id, e.comment, e.hash) for e in _events(trail[0])]
    for sql in ("UPDATE audit_events SET comment = 'x'", "DELETE FROM audit_events",
                "UPDATE audit_events SET comment = 'x' WHERE id = (SELECT max(id) FROM audit_events)"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(sql))
        db.session.rollback()
    db.session.expire_all()
    assert [(e.id, e.comment, e.hash) for e in _events(trail[0])] == before
    assert _verify(app).exit_code == 0


def test_history_api_reports_a_broken_chain(app, api, people, trail):
    approve = _events(trail[0])[2]
    client = api(people["head"])
    assert client.get(f"/api/v1/cases/{trail[0]}/history").get_json()["chain_valid"] is True
    _tamper("UPDATE audit_events SET comment = 'forged' WHERE id = :id", id=approve.id)
    assert client.get(f"/api/v1/cases/{trail[0]}/history").get_json()["chain_valid"] is False


def test_each_event_keeps_its_actor_and_the_roles_they_held_then(app, trail, people):
    from models import Role

    head = people["head"]
    head.roles.append(db.session.scalar(select(Role).where(Role.name == "cao")))
    db.session.commit()
    events = _events(trail[0])
    assert [(e.action, e.actor_username, e.actor_roles) for e in events] == [
        ("create", "olive", ["staff"]), ("submit", "olive", ["staff"]), ("approve", "hank", ["dept_head"])]
    engine.add_comment(db.session, head, trail[0], "Approved before the budget review.")
    last = _events(trail[0])[-1]
    assert (last.action, last.actor_roles) == ("comment", ["cao", "dept_head"])
    page = app.test_client()
    page.post("/login", data={"username": "hank", "password": TEST_PASSWORD})
    timeline = page.get(f"/cases/{trail[0]}").get_data(as_text=True).split('id="timeline-h"')[1]
    assert "(dept_head)" in timeline and "(cao, dept_head)" in timeline
