"""The audit trail detects edited, deleted and reordered events, and a rewritten history."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

import clock
from extensions import db
from reference import inventory_rows
from models import AuditEvent, Case, User
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


def _named(app, fault: str) -> None:
    """Check that `flask audit verify` fails, naming this fault."""
    result = _verify(app)
    assert result.exit_code == 1, result.output
    assert fault in result.output


@pytest.mark.parametrize("change", [
    "UPDATE cases SET data = json_set(data, '$.days', 40) WHERE id = :id",  # (SQLite)
    "UPDATE cases SET amount_granted = 99999.00 WHERE id = :id",
    "UPDATE cases SET country = 'Narnia' WHERE id = :id",
    "UPDATE cases SET goals = '[\"economy\"]' WHERE id = :id",
    "UPDATE cases SET submitted_at = '2020-01-01 00:00:00.000000' WHERE id = :id",
    # (read by the report to choose a closed year's values, and by relief's triage clock)
    "UPDATE cases SET updated_at = '2020-01-01 00:00:00.000000' WHERE id = :id",
    "UPDATE cases SET state_entered_at = '2000-01-01 00:00:00.000000' WHERE id = :id",
])
def test_a_case_row_changed_outside_accord_is_named(app, trail, change):
    # The annual report reads amounts, dates and fields from the case's row: edited in the database
    # (no event), it changed the report, and verify, which proved only the events, passed.
    if db.engine.dialect.name == "postgresql":
        change = change.replace("json_set(data, '$.days', 40)", "jsonb_set(data, '{days}', '40')").replace(
            "'[\"economy\"]'", "'[\"economy\"]'::jsonb")
    assert _verify(app).exit_code == 0
    _tamper(change, id=trail[0])
    _named(app, f"chain case:{trail[0]}: the case's row differs from what its last event recorded of it")


def test_a_row_changed_outside_accord_and_then_stepped_on_is_still_named(app, api, trail, people):
    # The next event (a comment, anyone's step) recorded the changed row as its own, and verify
    # passed from then on: each event also records the row as the step found it.
    _tamper("UPDATE cases SET amount_granted = 99999.00 WHERE id = :id", id=trail[0])
    engine.add_comment(db.session, people["owner"], trail[0], "Any news?")
    seq = max(e.seq for e in _events(trail[0]))
    _named(app, f"(chain case:{trail[0]}, seq {seq}): the step found the case's row other than the event before "
                "left it")
    # (the history API says so too)
    assert api(people["owner"]).get(f"/api/v1/cases/{trail[0]}/history").get_json()["chain_valid"] is False


def test_an_inventory_entry_added_outside_accord_is_named(app, trail):
    # The report's inventory by status counted it, in every year, and verify passed.
    _tamper("INSERT INTO partnerships (city, country, focus, status, updated_at) "
            "VALUES ('Narnia', 'Narnia', 'Lions', 'active', '2020-01-01 00:00:00')")
    pid = db.session.scalar(text("SELECT id FROM partnerships WHERE city = 'Narnia'"))
    _named(app, f"chain partnership:{pid}: the inventory entry has no events, not even its creation")


def test_an_inventory_entry_changed_outside_accord_is_named(app, trail):
    # Only its status was compared with its chain: an entry renamed in the database verified.
    from models import Partnership

    entry = db.session.scalars(select(Partnership).where(Partnership.city == "Soyapango")).one()
    _tamper("UPDATE partnerships SET city = 'Havana', country = 'Cuba' WHERE id = :id", id=entry.id)
    _named(app, f"chain partnership:{entry.id}: the entry's city, country differ from what its chain recorded")


@pytest.mark.parametrize("change, names", [
    # Roles decide who approves a grant: one granted in the database verified.
    ("INSERT INTO user_roles (user_id, role_id) SELECT :id, id FROM roles WHERE name = 'cao'", "roles"),
    ("UPDATE users SET full_name = 'Someone Else', username = 'someone' WHERE id = :id", "username, full_name"),
    ("UPDATE users SET department_id = (SELECT id FROM departments WHERE name <> "
     "(SELECT d.name FROM departments d JOIN users u ON u.department_id = d.id WHERE u.id = :id) LIMIT 1) "
     "WHERE id = :id", "department"),
])
def test_an_account_changed_outside_accord_is_named(app, make_user, change, names):
    from accounts import service

    admin = make_user("ada", "admin")
    make_user("eli", "dept_head", department="Economic Development and Culture")
    sam = service.create_user(db.session, "sam", TEST_PASSWORD, ["staff"], "Toronto Public Health", actor=admin)
    service.update_user(db.session, sam, full_name="Sam Okafor", email=None, department_name=sam.department.name,
                        roles=["staff", "councillor"], actor=admin)
    db.session.commit()
    assert _verify(app).exit_code == 0
    _tamper(change, id=sam.id)
    _named(app, f"chain user:{sam.id}: the account's {names} differ from what its chain recorded")


def test_the_rows_digest_is_the_steps_own_and_a_later_step_records_the_new_row(app, trail, people):
    # Each step records the row as it left it: the next step's event agrees with the changed row.
    events = _events(trail[1])
    assert all(e.row_digest for e in events) and len({e.row_digest for e in events}) == len(events)
    engine.fire(db.session, people["owner"], trail[1], "submit", 1)
    assert _verify(app).exit_code == 0


def test_a_downgrade_that_would_drop_the_row_digests_is_refused(app, trail, caplog):
    # Their hashes cover the digests: dropped, every such event would read as edited.
    from flask_migrate import downgrade

    db.session.remove()
    head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.remove()
    with pytest.raises(SystemExit):
        downgrade(revision="0018_mail_retry")
    assert re.search(r"Cannot downgrade below 0019_event_row_digest: the audit trail holds \d+ event\(s\) whose hash covers a "
                     "row digest", caplog.text)
    db.session.remove()
    # The whole downgrade was undone, the revisions above 0019 too (on SQLite as well: one transaction).
    assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == head
    assert _verify(app).exit_code == 0


def test_an_operator_who_asks_for_a_refused_downgrade_reads_why(app, trail):
    # In the app, migrations log through the app's own logging (alembic.ini's is for a bare
    # process): the refusal must still reach the terminal of whoever typed the command.
    import os
    import subprocess
    import sys
    from pathlib import Path

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    env = {**os.environ, "FLASK_APP": "app.py", "DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-m", "flask", "db", "downgrade", "0018_mail_retry"],
                          cwd=Path(__file__).parents[2], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert re.search(r"ERROR flask_migrate: Error: Cannot downgrade below 0019_event_row_digest: the audit trail holds "
                     r"\d+ event\(s\)", done.stderr), done.stderr
    assert _verify(app).exit_code == 0


def test_intact_trail_verifies(app, trail):
    result = _verify(app)
    assert result.exit_code == 0, result.output
    inherited = len(inventory_rows())  # each entry of the framework's inventory: its loading
    assert f"OK: {4 + inherited} events in {2 + inherited} chains" in result.output


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


def test_a_request_dated_before_the_recorded_head_is_named(app, trail, people):
    # The head is kept with the published report; a request added later by someone who may write
    # to the database, with its times set in the reported year, verified alone and against the head.
    head = app.test_cli_runner().invoke(args=["audit", "head"]).output.strip()
    taken = db.session.scalar(select(func.max(AuditEvent.at)))
    clock.set(taken - timedelta(days=200))
    try:
        forged = engine.create_case(db.session, people["owner"], "leave", "Back-dated", ["culture"],
                                    {"reason": "x", "days": 1})
    finally:
        clock.set(None)
    assert _verify(app).exit_code == 0
    result = _verify(app, "--head", head)
    assert result.exit_code == 1
    assert f"(chain case:{forged.id}, seq 1) was appended after the head was taken" in result.output
    assert "it was back-dated" in result.output


def test_the_database_refuses_update_and_delete_of_events(app, trail):
    from sqlalchemy.exc import DBAPIError

    before = [(e.id, e.comment, e.hash) for e in _events(trail[0])]
    # Also the statements that go around row triggers: SQLite's REPLACE (which deletes the row it
    # replaces without firing delete triggers) and PostgreSQL's TRUNCATE (no row trigger at all).
    around = (["TRUNCATE audit_events"] if db.engine.dialect.name == "postgresql" else [
        "INSERT OR REPLACE INTO audit_events SELECT id, chain, case_id, seq, at, actor_id, actor_username, "
        "actor_roles, action, from_state, to_state, 'forged', payload, prev_hash, hash, row_digest, found_digest FROM audit_events "
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
        assert events == 4 + len(inventory_rows())  # as it stood when verify began
    db.session.remove()
    assert verify_all(db.session)[1:] == (5 + len(inventory_rows()), [])


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
    assert taken and check_head(db.session, taken[0]) is None


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
    # Named as people name the roles, not by their codes.
    assert "(Department Head)" in timeline and "(Chief Administrative Officer&#39;s office, Department Head)" in timeline


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


def _forge(**fields) -> AuditEvent:
    """Append an event of one's own making, hashed as Accord hashes (INSERT is allowed to anyone)."""
    from datetime import datetime

    from workflows.audit import GENESIS, event_hash

    e = AuditEvent(**{"seq": 1, "at": datetime(2026, 1, 5, 9), "actor_id": None, "actor_username": "mallory",
                      "actor_roles": [], "action": "create", "from_state": None, "to_state": "approved",
                      "comment": None, "payload": {}, "prev_hash": GENESIS, **fields})
    e.hash = event_hash(e)
    db.session.add(e)
    db.session.commit()
    return e


#: Other ways to write a case's id than Accord's: a leading zero, Arabic-Indic digits, full-width digits.
ALIASES = {"leading zero": "0{}".format,
           "arabic-indic": lambda i: str(i).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
           "full-width": lambda i: str(i).translate(str.maketrans("0123456789", "０１２３４５６７８９"))}


@pytest.mark.parametrize("alias", ALIASES)
def test_an_event_forged_under_an_alias_of_its_cases_chain_is_named(app, trail, alias):
    # "case:016" read as case 16's chain, yet no case's head is found under that name: a chain of its
    # own, with the case's id on its events (what the reports join on), verified with no head to end at.
    name = f"case:{ALIASES[alias](trail[0])}"
    forged = _forge(chain=name, case_id=trail[0])
    _named(app, f"event {forged.id} (chain {name}, seq 1): the chain's name is not one Accord writes")


def test_a_chain_whose_subject_does_not_exist_is_named(app, trail):
    forged = _forge(chain="partnership:999999", action="inventory_create", to_state="active")
    result = _verify(app)
    assert result.exit_code == 1, result.output
    assert (f"event {forged.id} (chain partnership:999999, seq 1): the chain's inventory entry 999999 does not "
            "exist") in result.output


@pytest.mark.parametrize("tamper", ["cut", "state"])
def test_a_case_whose_head_was_erased_is_named(app, trail, tamper):
    # A NULL head switched off the checks of a cut trail and of the state.
    case_id = trail[0]
    if tamper == "cut":
        _tamper("DELETE FROM audit_events WHERE id = :id", id=_events(case_id)[-1].id)
    else:
        _tamper("UPDATE cases SET state = 'draft' WHERE id = :id", id=case_id)
    _tamper("UPDATE cases SET last_event_hash = NULL, last_event_seq = 0 WHERE id = :id", id=case_id)
    _named(app, f"chain case:{case_id}: the case's row records no head, yet its chain has events")


def test_an_entry_whose_head_was_erased_is_named(app, make_user):
    from models import Partnership
    from workflows.partnership import inventory

    entry = db.session.scalars(select(Partnership).where(Partnership.status != "active").limit(1)).one()
    inventory.edit_entry(db.session, make_user("ada", "admin"), entry.id, {"status": "active"})
    assert _verify(app).exit_code == 0
    _tamper("UPDATE partnerships SET status = 'dormant', last_event_hash = NULL WHERE id = :id", id=entry.id)
    _named(app, f"chain partnership:{entry.id}: the entry's row records no head")


def test_a_case_head_with_another_seq_is_named(app, trail):
    _tamper("UPDATE cases SET last_event_seq = 1 WHERE id = :id", id=trail[0])
    _named(app, f"chain case:{trail[0]}: the case's row records seq 1 as its head, its chain ends at seq 3")


def test_a_case_with_no_events_is_named(app, trail):
    # Every case begins with its creation: a case row with no event at all lost its whole chain,
    # whatever its head says (here: none, as a case row inserted by hand would have).
    create = _events(trail[1])[0]
    _tamper("DELETE FROM audit_events WHERE id = :id", id=create.id)
    _tamper("UPDATE cases SET last_event_hash = NULL, last_event_seq = 0 WHERE id = :id", id=trail[1])
    _named(app, f"chain case:{trail[1]}: the case has no events, not even its creation")


def test_a_case_chain_that_does_not_begin_with_its_creation_is_named(app, trail):
    # The creation replaced by another first event, hashed as Accord would, and the row's head set to it.
    create = _events(trail[1])[0]
    _tamper("DELETE FROM audit_events WHERE id = :id", id=create.id)
    forged = _forge(chain=f"case:{trail[1]}", case_id=trail[1], action="edit", from_state="draft", to_state="draft")
    _tamper("UPDATE cases SET last_event_hash = :h WHERE id = :id", h=forged.hash, id=trail[1])
    result = _verify(app)
    assert result.exit_code == 1, result.output
    assert (f"event {forged.id} (chain case:{trail[1]}, seq 1): a case's chain begins with its creation, this one "
            "with 'edit'") in result.output


def test_a_payload_with_a_repeated_key_is_named(app, trail):
    # orjson (and so the hash) keeps the last of two equal keys; SQLite's JSON functions, which the
    # report reads payloads with, the first. PostgreSQL's JSONB keeps one of them on the way in.
    if db.engine.dialect.name != "sqlite":
        pytest.skip("JSONB stores one value of a key: a repeated key cannot be stored on PostgreSQL")
    from workflows.audit import event_hash

    approve = _events(trail[0])[2]
    payload = dict(approve.payload)
    assert payload["amount"] == "10.00"
    _tamper("""UPDATE audit_events SET payload = '{"amount":"99999.00",' || substr(payload, 2) WHERE id = :id""",
            id=approve.id)
    approve = _events(trail[0])[2]
    assert approve.payload == payload and event_hash(approve) == approve.hash  # the hash still matches
    assert db.session.scalar(text("SELECT json_extract(payload, '$.amount') FROM audit_events WHERE id = :id"),
                             {"id": approve.id}) == "99999.00"  # what the report would count
    result = _verify(app)
    assert result.exit_code == 1, result.output
    assert f"event {approve.id} (chain case:{trail[0]}, seq 3): the stored payload repeats the key 'amount'" in (
        result.output)


@pytest.mark.parametrize("column, tamper, names", [
    # Python reads an ISO week date, or the basic format, as the same moment (so the hash matches);
    # the report compares the text in SQL and counted the event in another year, or in no cycle time.
    ("at", "UPDATE audit_events SET at = :week WHERE id = :event", "event {event} (chain case:{case}, seq 2): "
                                                                   "the stored at is not in the form"),
    ("at", "UPDATE audit_events SET at = :basic WHERE id = :event", "event {event} (chain case:{case}, seq 2): "
                                                                    "the stored at is not in the form"),
    # An escaped letter reads as the same goal to the digest; the report's LIKE on the text missed it.
    ("goals", """UPDATE cases SET goals = '["r\\u0065search"]' WHERE id = :case""",
     "chain case:{case}: the case's row stores its goals in another form"),
    # A key given twice: Python keeps the last, SQLite's json_extract (the learnings) the first.
    ("data", """UPDATE cases SET data = '{"reason": "forged", ' || substr(data, 2) WHERE id = :case""",
     "chain case:{case}: the case's row stores its data in another form"),
    ("submitted_at", "UPDATE cases SET submitted_at = replace(submitted_at, ' ', 'T') WHERE id = :case",
     "chain case:{case}: the case's row stores its submitted_at in another form"),
])
def test_a_value_stored_in_another_form_than_accords_is_named(app, trail, column, tamper, names):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL stores JSONB and timestamps in one form whoever writes them")
    case_id = trail[0]
    submit = _events(case_id)[1]
    at = submit.at
    if column == "goals":
        assert db.session.get(Case, case_id).goals == ["research"]
    _tamper(tamper, event=submit.id, case=case_id, week=at.strftime("%G-W%V-%uT%H:%M:%S.%f"),
            basic=at.strftime("%Y%m%dT%H%M%S.%f"))
    assert (_events(case_id)[1].at, db.session.get(Case, case_id).goals) == (at, ["research"])  # as Python reads it
    result = _verify(app)
    assert result.exit_code == 1, result.output
    assert names.format(event=submit.id, case=case_id) in result.output


@pytest.mark.parametrize("malformed", ["128:ABC", "upper", "leading zero", "trailing newline", "other digits"])
def test_a_malformed_head_digest_is_refused_as_bad_input_not_a_tamper_alarm(app, trail, malformed):
    head = app.test_cli_runner().invoke(args=["audit", "head"]).output.strip()
    assert _verify(app, "--head", head).exit_code == 0
    upto, _, digest = head.partition(":")
    given = {"128:ABC": "128:ABC", "upper": head.upper(), "leading zero": f"0{head}", "trailing newline": f"{head}\n",
             "other digits": f"{upto.translate(str.maketrans('0123456789', '٠١٢٣٤٥٦٧٨٩'))}:{digest}"}[malformed]
    result = _verify(app, "--head", given)
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--head'" in result.output and "64 lower-case hex digits" in result.output
    assert "rewritten" not in result.output
