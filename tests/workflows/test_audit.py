"""The audit trail detects edited, deleted and reordered events, and a rewritten history."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from extensions import db
from models import AuditEvent, User
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
    # Also the statements that go around row triggers: SQLite's REPLACE (which deletes the row it
    # replaces without firing delete triggers) and PostgreSQL's TRUNCATE (no row trigger at all).
    around = (["TRUNCATE audit_events"] if db.engine.dialect.name == "postgresql" else [
        "INSERT OR REPLACE INTO audit_events SELECT id, chain, case_id, seq, at, actor_id, actor_username, "
        "actor_roles, action, from_state, to_state, 'forged', payload, prev_hash, hash FROM audit_events "
        "WHERE id = (SELECT max(id) FROM audit_events)",
        "REPLACE INTO audit_events SELECT * FROM audit_events WHERE id = (SELECT min(id) FROM audit_events)"])
    for sql in ("UPDATE audit_events SET comment = 'x'", "DELETE FROM audit_events",
                "UPDATE audit_events SET comment = 'x' WHERE id = (SELECT max(id) FROM audit_events)", *around):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(sql))
        db.session.rollback()
    db.session.expire_all()
    assert [(e.id, e.comment, e.hash) for e in _events(trail[0])] == before
    assert _verify(app).exit_code == 0


def test_an_event_moved_to_another_case_is_named(app, trail):
    # The reports join events to cases by case_id, which the hash does not cover: an approval moved
    # to another case would be counted for it. The chain names the case; the two must agree.
    approve = _events(trail[0])[2]
    _tamper("UPDATE audit_events SET case_id = :other WHERE id = :id", other=trail[1], id=approve.id)
    result = _verify(app)
    assert result.exit_code == 1
    assert f"event {approve.id} " in result.output and "moved" in result.output


def test_a_cut_trail_is_caught_even_when_its_events_no_longer_name_the_case(app, trail):
    # Delete the last event, and unlink the rest from the case: the head is found by the chain.
    approve = _events(trail[0])[2]
    _tamper("DELETE FROM audit_events WHERE id = :id", id=approve.id)
    _tamper("UPDATE audit_events SET case_id = NULL WHERE chain = :chain", chain=f"case:{trail[0]}")
    result = _verify(app)
    assert result.exit_code == 1 and "BAD" in result.output


def test_verify_reads_one_moment_while_steps_commit(app, trail, people):
    # A comment commits between the two reads of verify (the cases' heads, then the events): on
    # PostgreSQL each statement saw its own moment, and the trail read as cut short.
    from sqlalchemy import event as sa_event
    from sqlalchemy.orm import Session

    from workflows.audit import verify_all

    fired = []

    def comment_meanwhile(_conn, _cursor, statement, *_args):
        if not fired and "FROM audit_events ORDER BY audit_events.chain" in statement:
            fired.append(True)
            with Session(db.engine) as other:
                engine.add_comment(other, other.get(type(people["owner"]), people["owner"].id), trail[0], "Meanwhile.")

    db.session.remove()
    sa_event.listen(db.engine, "before_cursor_execute", comment_meanwhile)
    try:
        chains, events, faults = verify_all(db.session)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", comment_meanwhile)
    assert fired and faults == []
    if db.engine.dialect.name == "postgresql":
        assert events == 4  # as it stood when verify began
    db.session.remove()
    assert verify_all(db.session)[1:] == (5, [])


def test_a_head_taken_while_an_earlier_append_is_open_still_matches_later(app, trail, people):
    # PostgreSQL hands out event ids at INSERT, and transactions commit in any order: with id N
    # still open and N+1 committed, a head "up to N+1" that left N out failed once N committed.
    import threading

    from sqlalchemy.orm import Session

    from workflows.audit import check_head, head_digest

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: ids commit in their order (CI runs PostgreSQL)")
    owner_id = people["owner"].id
    db.session.remove()
    with Session(db.engine) as slow:  # a comment whose transaction stays open a moment: its event took id N
        actor = slow.get(User, owner_id)
        engine.record_change(slow, actor, engine.lock_case(slow, actor, trail[0]), "comment", comment="Slow.")
        with Session(db.engine) as quick:  # another case's comment commits meanwhile, as N + 1
            engine.add_comment(quick, quick.get(User, owner_id), trail[1], "Quick.")
        taken = []
        bind = db.engine  # (the thread has no application context)
        thread = threading.Thread(target=lambda: taken.append(_head_in_new_session(bind, head_digest)))
        thread.start()
        thread.join(0.5)
        slow.commit()
    thread.join(10)
    assert taken and check_head(db.session, taken[0])


def _head_in_new_session(bind, head_digest):
    from sqlalchemy.orm import Session

    with Session(bind) as session:
        return head_digest(session)


def test_the_page_of_a_case_reads_a_step_committed_between_its_reads_as_sound(app, trail):
    # The case page reads the case, then its events; a step committed between the two appends an
    # event after the head the case's row gave. It chains on from that head: not a fault.
    from workflows.audit import case_events, check_chain

    events = case_events(db.session, trail[0])
    head = events[-2]
    assert check_chain(events, head.hash, head.seq) is None
    assert check_chain(events, head.hash) is not None  # (without the seq, the last must be the head)
    assert check_chain(events[:-1], events[-1].hash, events[-1].seq) is not None  # cut short


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


def test_a_state_changed_outside_accord_is_named(app, api, people, trail):
    # A plain UPDATE of the case row (no trigger stands in its way) passed every check: the state
    # must be the to-state of its last event (product.md §5).
    approve = _events(trail[0])[-1]
    db.session.execute(text("UPDATE cases SET state = 'draft' WHERE id = :id"), {"id": trail[0]})
    db.session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert (f"event {approve.id} (chain case:{trail[0]}, seq {approve.seq}): the case is 'draft' but its last event "
            f"left it '{approve.to_state}'") in result.output
    assert api(people["head"]).get(f"/api/v1/cases/{trail[0]}/history").get_json()["chain_valid"] is False


def test_a_junk_chain_or_a_huge_head_is_a_fault_not_a_traceback(app, trail):
    _tamper("INSERT INTO audit_events (chain, seq, at, actor_username, actor_roles, action, payload, prev_hash, hash) "
            "VALUES ('case:x', 1, '2026-01-01 00:00:00', 'x', '[]', 'x', '{}', 'x', 'x')")
    result = _verify(app)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit) and "chain case:x" in result.output
    result = _verify(app, "--head", "99999999999999999999999:ab")
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
