"""When a case awaits someone, the people who can act get one message, sent after the commit;
a refused transition sends nothing."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

import clock
from extensions import db
from models import Notification
from workflows import engine
from workflows.errors import WorkflowError


def _trip() -> dict:
    start = clock.today() + timedelta(days=40)
    return {"event_name": "IULA World Congress", "event_organizer": "IULA", "event_city": "Rio de Janeiro",
            "event_country": "Brazil", "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat(),
            "purpose": "Local democracy exchange.", "role_at_event": "attendee", "funding": "city",
            "estimated_cost": {"transport": "1800.00"}}


def test_approver_is_mailed_once_when_a_trip_is_submitted(app, make_user, caplog):
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    make_user("eli", "dept_head", department="Finance")  # another department's head: not mailed
    case = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"], _trip())
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, sam, case.id, "submit", case.version)
    mails = [m for m in caplog.messages if m.startswith("mail to")]
    assert len(mails) == 1 and "dana@toronto.example" in mails[0] and "awaits you" in mails[0]
    rows = db.session.scalars(select(Notification)).all()
    assert [(r.user_id, r.kind) for r in rows] == [(dana.id, "awaits")]


def test_a_mail_that_fails_in_any_way_does_not_fail_the_step_it_follows(api, make_user, monkeypatch, caplog):
    # (A header the mail library refuses, say, raised ValueError after the step had committed: the
    # person got a 500 for a step that was taken, and a retry got 409.)
    import notifications

    def refuse(*_args, **_kwargs):
        raise ValueError("Header values may not contain linefeed or carriage return characters")

    monkeypatch.setattr(notifications, "send_mail", refuse)
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    case = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"], _trip())
    with caplog.at_level(logging.ERROR, logger="accord.mail"):
        r = api(sam).post(f"/api/v1/cases/{case.id}/transitions", json={"trigger": "submit", "version": case.version})
        assert r.status_code == 200 and r.get_json()["state"] == "submitted"
        r = api(dana).post(f"/api/v1/cases/{case.id}/comments", json={"comment": "Which sessions?"})
        assert r.status_code == 201
    assert sum("could not send mail" in m for m in caplog.messages) == 2


def test_refused_transition_sends_nothing(app, make_user, caplog):
    sam = make_user("sam", "staff")
    make_user("dana", "dept_head")
    case = engine.create_case(db.session, sam, "travel", "Half a request", ["democracy"], {"event_name": "X"})
    with caplog.at_level(logging.INFO, logger="accord.mail"), pytest.raises(WorkflowError):
        engine.fire(db.session, sam, case.id, "submit", case.version)
    assert not [m for m in caplog.messages if m.startswith("mail to")]
    assert db.session.scalars(select(Notification)).all() == []


def test_a_comment_mails_the_owner_and_the_assignee_but_not_its_writer(app, make_user, caplog):
    sam, hana = make_user("sam", "staff"), make_user("hana", "hco", department="Strategic and Corporate Policy")
    cao = make_user("cara", "cao", department="CAO")
    from tests.workflows.relief.conftest import relief_data

    case = engine.create_case(db.session, sam, "relief", "Flood relief", ["compassion"], relief_data())
    case = engine.fire(db.session, sam, case.id, "submit", case.version)
    case = engine.fire(db.session, hana, case.id, "start_triage", case.version)  # hana is now its assignee
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.add_comment(db.session, cao, case.id, "Is the Red Cross appeal still open?")
        engine.add_comment(db.session, sam, case.id, "Yes, until the end of the month.")
    mails = [m for m in caplog.messages if m.startswith("mail to")]
    assert [m.split(":")[0] for m in mails] == ["mail to sam@toronto.example", "mail to hana@toronto.example",
                                                "mail to hana@toronto.example"]
    assert "Is the Red Cross appeal still open?" in mails[0] and "Yes, until the end" in mails[2]


def test_an_officer_moved_out_of_the_office_is_mailed_nothing_more_of_what_they_took_up(app, make_user, caplog):
    # They no longer read the request (their hco role taken away), yet stayed its assignee: each
    # comment, and the owner's withdrawal with its reason, still reached them in full.
    from models import Role
    from tests.workflows.relief.conftest import relief_data

    sam, hana = make_user("sam", "staff"), make_user("hana", "hco", department="Strategic and Corporate Policy")
    case = engine.create_case(db.session, sam, "relief", "Flood relief", ["compassion"], relief_data())
    case = engine.fire(db.session, sam, case.id, "submit", case.version)
    case = engine.fire(db.session, hana, case.id, "start_triage", case.version)
    hana.roles = list(db.session.scalars(select(Role).where(Role.name == "staff")))
    db.session.commit()
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        case = engine.add_comment(db.session, sam, case.id, "My new phone number is 555-0100.")
        engine.fire(db.session, sam, case.id, "withdraw", case.version, comment="The city found other help.")
    assert [m for m in caplog.messages if m.startswith("mail to hana")] == []


def test_a_title_with_a_line_break_still_gives_a_one_line_subject_over_smtp(app, make_user, monkeypatch):
    import smtplib

    sent = []

    class FakeSMTP:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append(message)

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config["MAIL_SERVER"] = "smtp.example"
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    case = engine.create_case(db.session, sam, "travel", "IULA congress\nRio", ["democracy"], _trip())
    case = engine.fire(db.session, sam, case.id, "submit", case.version)
    engine.add_comment(db.session, dana, case.id, "Which sessions?")
    assert [(m["To"], m["Subject"]) for m in sent] == [
        ("dana@toronto.example", f"[Accord] Travel request #{case.id} awaits you: IULA congress Rio"),
        ("sam@toronto.example", f"[Accord] Travel request #{case.id}: Dana commented on "
                                "IULA congress Rio")]


def test_a_state_named_in_a_mail_keeps_its_acronym(app, make_user, caplog):
    # "Dana moved "IULA congress" to cao review.": the label lowercased whole, acronym and all.
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    make_user("cao", "cao", department="Chief Administrative Officer")
    case = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"],
                              {**_trip(), "estimated_cost": {"transport": "6800.00"}})
    case = engine.fire(db.session, sam, case.id, "submit", case.version)
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, dana, case.id, "approve", case.version)
    _one_mail(caplog, "cao@toronto.example", 'Dana moved "IULA congress" to CAO review.')


def _mailed(caplog) -> list[str]:
    return [m.split(":")[0].removeprefix("mail to ") for m in caplog.messages if m.startswith("mail to")]


def test_the_owner_is_mailed_when_their_request_waits_for_them_and_only_then(app, make_user, caplog):
    # A trip returned for changes waits for its traveller (it used to go back to draft unsaid); a
    # relief request in triage does not wait for its owner, who may only withdraw it meanwhile.
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    hana = make_user("hana", "hco", department="Strategic and Corporate Policy")
    from tests.workflows.relief.conftest import relief_data

    trip = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"], _trip())
    trip = engine.fire(db.session, sam, trip.id, "submit", trip.version)
    relief = engine.create_case(db.session, sam, "relief", "Flood relief", ["compassion"], relief_data())
    relief = engine.fire(db.session, sam, relief.id, "submit", relief.version)
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, dana, trip.id, "return", trip.version, comment="Add the registration fee.")
        assert _mailed(caplog) == ["sam@toronto.example"]
        caplog.clear()
        relief = engine.fire(db.session, hana, relief.id, "start_triage", relief.version)
        assert _mailed(caplog) == []
        engine.fire(db.session, hana, relief.id, "request_info", relief.version, comment="Which districts?")
        assert _mailed(caplog) == ["sam@toronto.example"]


def _one_mail(caplog, to: str, *words: str) -> None:
    mails = [m for m in caplog.messages if m.startswith("mail to")]
    assert len(mails) == 1 and mails[0].startswith(f"mail to {to}"), mails
    assert all(word in mails[0] for word in words), mails[0]


def test_when_a_request_ends_the_one_who_did_not_end_it_is_told_why(app, make_user, caplog):
    # A declined traveller was never told, nor given the decline's required comment; nor was the
    # head who approved a trip told when its traveller cancelled it.
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    trip = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"], _trip())
    trip = engine.fire(db.session, sam, trip.id, "submit", trip.version)
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, dana, trip.id, "decline", trip.version, comment="Attend online this year.")
    _one_mail(caplog, "sam@toronto.example", "declined", "Attend online this year.")
    rows = db.session.scalars(select(Notification).where(Notification.kind == "outcome")).all()
    assert [(r.user_id, r.case_id) for r in rows] == [(sam.id, trip.id)]
    # The owner's own ending of a draft tells no one; of an approved trip, its approver.
    caplog.clear()
    other = engine.create_case(db.session, sam, "travel", "ICLEI congress", ["democracy"], _trip())
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, sam, other.id, "cancel", other.version)
    assert _mailed(caplog) == []
    third = engine.create_case(db.session, sam, "travel", "WHO congress", ["democracy"], _trip())
    third = engine.fire(db.session, sam, third.id, "submit", third.version)
    third = engine.fire(db.session, dana, third.id, "approve", third.version)
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, sam, third.id, "cancel", third.version, comment="The congress moved online.")
    _one_mail(caplog, "dana@toronto.example", "cancelled", "The congress moved online.")


def test_an_owner_ending_a_request_tells_who_was_counting_on_it_though_the_owner_moved_it_last(
        app, make_user, caplog):
    # Only the last one to move it on was told: after the owner's own answer to a question, the
    # officer triaging the request heard nothing of its withdrawal; nor did the head mailed that a
    # trip awaited them, when its traveller cancelled it.
    from tests.workflows.relief.conftest import relief_data

    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    hana = make_user("hana", "hco", department="Strategic and Corporate Policy")
    case = engine.create_case(db.session, sam, "relief", "Flood relief", ["compassion"], relief_data())
    case = engine.fire(db.session, sam, case.id, "submit", case.version)
    case = engine.fire(db.session, hana, case.id, "start_triage", case.version)
    case = engine.fire(db.session, hana, case.id, "request_info", case.version, comment="Which agency?")
    case = engine.fire(db.session, sam, case.id, "provide_info", case.version, payload={"channel": "Red Cross"})
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, sam, case.id, "withdraw", case.version, comment="The city no longer needs it.")
    _one_mail(caplog, "hana@toronto.example", "withdrawn", "The city no longer needs it.", "which you had moved on")
    caplog.clear()
    trip = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"], _trip())
    trip = engine.fire(db.session, sam, trip.id, "submit", trip.version)  # (dana: "awaits you")
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, sam, trip.id, "cancel", trip.version)
    _one_mail(caplog, "dana@toronto.example", "cancelled", "which awaited you")
    # Every officer mailed that a new request awaited them was told they had moved it on, when
    # its owner withdrew it before anyone took it up.
    caplog.clear()
    case = engine.create_case(db.session, sam, "relief", "Quake relief", ["compassion"], relief_data())
    case = engine.fire(db.session, sam, case.id, "submit", case.version)
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, sam, case.id, "withdraw", case.version)
    _one_mail(caplog, "hana@toronto.example", "withdrawn", "which awaited you")
    assert "moved on" not in caplog.messages[-1]


def test_a_trip_approved_ahead_tells_its_traveller_when_their_step_comes_not_that_it_awaits_them(
        app, make_user, caplog):
    # The traveller was mailed "It now awaits your action" for a trip approved weeks ahead, while
    # their dashboard said nothing waited and "Mark as travelled" was not offered until its first day.
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    trip = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"], _trip())
    trip = engine.fire(db.session, sam, trip.id, "submit", trip.version)
    start = trip.data["start_date"]
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, dana, trip.id, "approve", trip.version)
    _one_mail(caplog, "sam@toronto.example", "approved", f"The trip starts on {start}",
              "it can be marked as travelled from that day")
    assert "awaits" not in caplog.messages[-1]
    rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()  # (in the order written)
    assert [(r.user_id, r.kind) for r in rows][-1] == (sam.id, "outcome")


def test_a_closed_account_is_mailed_nothing(app, make_user, caplog):
    # Comments and "awaits you" went to an owner whose account was closed (flask users deactivate).
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    trip = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"], _trip())
    trip = engine.fire(db.session, sam, trip.id, "submit", trip.version)
    sam.active = False
    db.session.commit()
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.add_comment(db.session, dana, trip.id, "Which sessions will you attend?")
        trip = db.session.get(type(trip), trip.id)
        engine.fire(db.session, dana, trip.id, "return", trip.version, comment="Add the registration fee.")
    assert _mailed(caplog) == []


def test_a_claimed_request_waits_for_the_officer_who_took_it_up_and_its_mail_carries_the_question(
        app, make_user, caplog):
    # Every officer was mailed each step of a request another had taken up, and it stood in every
    # officer's "waiting for you"; and the owner's mail left out the question they were to answer.
    from tests.workflows.relief.conftest import relief_data
    from workflows.access import allowed_triggers
    from workflows.queries import waiting_for

    sam = make_user("sam", "staff")
    hana, omar = (make_user(name, "hco", department="Strategic and Corporate Policy") for name in ("hana", "omar"))
    relief = engine.create_case(db.session, sam, "relief", "Flood relief", ["compassion"], relief_data())
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        relief = engine.fire(db.session, sam, relief.id, "submit", relief.version)
        assert sorted(_mailed(caplog)) == ["hana@toronto.example", "omar@toronto.example"]  # not yet taken up
        relief = engine.fire(db.session, hana, relief.id, "start_triage", relief.version)
        caplog.clear()
        relief = engine.fire(db.session, hana, relief.id, "request_info", relief.version, comment="Which districts?")
        _one_mail(caplog, "sam@toronto.example", "Which districts?")
        caplog.clear()
        relief = engine.fire(db.session, sam, relief.id, "provide_info", relief.version, comment="Soyapango centre.")
        _one_mail(caplog, "hana@toronto.example", "Soyapango centre.")
    assert [c.id for c in waiting_for(db.session, hana).cases] == [relief.id]
    assert waiting_for(db.session, omar).cases == []
    # Omar may still take the step (the role is the office's), and once hana's account is closed
    # the request waits for him.
    assert "request_info" in allowed_triggers(omar, relief)
    hana.active = False
    db.session.commit()
    assert [c.id for c in waiting_for(db.session, omar).cases] == [relief.id]


def test_who_decides_in_place_of_a_reviewer_who_declared_a_conflict_is_told_it_awaits_them(app, make_user, caplog):
    # A head who stepped aside handed the trip to the CAO, and an officer who stepped aside handed
    # the request back to every officer, but no one was told: it waited unseen but in their lists.
    from tests.workflows.relief.conftest import relief_data
    from workflows.scoring import submit_score

    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    make_user("morgan", "cao", department="City Manager's Office")
    hana = make_user("hana", "hco", department="Strategic and Corporate Policy")
    make_user("omar", "hco", department="Strategic and Corporate Policy")
    trip = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"], _trip())
    trip = engine.fire(db.session, sam, trip.id, "submit", trip.version)
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        submit_score(db.session, dana, trip.id, {}, conflict="recused")
    _one_mail(caplog, "morgan@toronto.example", "awaits you", "Dana", "declared a conflict of interest",
              "It now awaits your action")
    caplog.clear()
    relief = engine.create_case(db.session, sam, "relief", "Flood relief", ["compassion"], relief_data())
    relief = engine.fire(db.session, sam, relief.id, "submit", relief.version)
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        relief = engine.fire(db.session, hana, relief.id, "start_triage", relief.version)
        assert _mailed(caplog) == []  # taken up: it waits for hana alone
        submit_score(db.session, hana, relief.id, {}, conflict="recused")
    assert _mailed(caplog) == ["omar@toronto.example"]
    # Declared again (a second recusal replaces the first): no one is told twice.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        submit_score(db.session, dana, trip.id, {}, conflict="recused")
    assert _mailed(caplog) == []


def test_a_bystanders_conflict_tells_the_officer_who_took_the_request_up_nothing(app, make_user, caplog):
    # Omar, not involved, declared a conflict on Hana's request in triage: she was mailed "It now
    # awaits your action" as if it had been handed to her, though nothing changed for her.
    from datetime import datetime

    from tests.workflows.relief.conftest import relief_data
    from workflows.scoring import submit_score

    clock.set(datetime(2026, 5, 4, 14, 0))
    sam = make_user("sam", "staff")
    hana = make_user("hana", "hco", department="Strategic and Corporate Policy")
    omar = make_user("omar", "hco", department="Strategic and Corporate Policy")
    relief = engine.create_case(db.session, sam, "relief", "Flood relief", ["compassion"], relief_data())
    relief = engine.fire(db.session, sam, relief.id, "submit", relief.version)
    clock.set(datetime(2026, 5, 4, 15, 0))
    relief = engine.fire(db.session, hana, relief.id, "start_triage", relief.version)
    clock.set(datetime(2026, 5, 4, 16, 0))
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        submit_score(db.session, omar, relief.id, {}, conflict="recused")
    assert _mailed(caplog) == []


def _submitted_with_the_mail_server_down(make_user, monkeypatch):
    """Return sam's trip, submitted while no message could be sent, and dana, its approver."""
    import notifications

    def down(*_args, **_kwargs):
        raise OSError("Connection refused")

    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    case = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"], _trip())
    monkeypatch.setattr(notifications, "send_mail", down)
    return engine.fire(db.session, sam, case.id, "submit", case.version), dana


def test_a_message_that_could_not_be_sent_is_sent_again_by_the_reminders_run(app, make_user, monkeypatch, caplog):
    # It was recorded as sent and lost: the approver never heard of the trip, and a later hand-over
    # counted them as told.
    case, dana = _submitted_with_the_mail_server_down(make_user, monkeypatch)
    row = db.session.scalars(select(Notification)).one()
    assert (row.user_id, row.kind, row.failed_at is not None) == (dana.id, "awaits", True)
    assert "awaits you: IULA congress" in row.subject and f"/cases/{case.id}" in row.body
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reminders", "send"])  # the mail server is still down
    assert result.exit_code == 1 and "0 message(s) that had failed sent again, 1 failed again." in result.output
    monkeypatch.undo()
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0 and "1 message(s) that had failed sent again, 0 failed again." in result.output
    mails = [m for m in caplog.messages if m.startswith("mail to")]
    assert len(mails) == 1 and "dana@toronto.example" in mails[0] and "awaits you: IULA congress" in mails[0]
    db.session.expire_all()
    assert db.session.scalars(select(Notification)).one().failed_at is None
    assert "sent again" not in runner.invoke(args=["reminders", "send"]).output  # once only


def test_a_failed_awaits_message_is_not_sent_again_once_the_request_has_moved_on(app, make_user, monkeypatch, caplog):
    case, dana = _submitted_with_the_mail_server_down(make_user, monkeypatch)
    monkeypatch.undo()
    clock.set(clock.now() + timedelta(minutes=5))
    try:
        engine.fire(db.session, dana, case.id, "approve", case.version)  # dana found it anyway
        with caplog.at_level(logging.INFO, logger="accord.mail"):
            result = app.test_cli_runner().invoke(args=["reminders", "send"])
    finally:
        clock.set(None)
    assert result.exit_code == 0 and "sent again" not in result.output
    assert not any("awaits you" in m for m in caplog.messages)


def test_a_failed_awaits_message_is_not_sent_again_to_one_who_stepped_aside(app, make_user, monkeypatch, caplog):
    # A head who declared a conflict no longer decides the trip: "It now awaits your action" was
    # sent to them all the same, and the CAO, told at the hand-over, was the one it awaited.
    from workflows.scoring import submit_score

    case, dana = _submitted_with_the_mail_server_down(make_user, monkeypatch)
    monkeypatch.undo()
    make_user("cao", "cao", department="Chief Administrative Officer")
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        submit_score(db.session, dana, case.id, {}, conflict="recused", comment="My brother organises it.")
        result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0 and "sent again" not in result.output
    mails = [m for m in caplog.messages if m.startswith("mail to")]
    assert len(mails) == 1 and "cao@toronto.example" in mails[0] and "declared a conflict of interest" in mails[0]


def test_two_runs_at_once_send_a_failed_message_again_once(app, make_user, monkeypatch):
    # Each run read the failed row and sent it before either marked it sent: two cron hosts, two mails.
    import notifications
    from sqlalchemy.orm import Session

    _submitted_with_the_mail_server_down(make_user, monkeypatch)
    sent = []

    def send_while_another_run_starts(recipients, subject, body):
        sent.append(recipients)
        if len(sent) == 1:
            with app.app_context():
                other = Session(bind=db.engine)
                assert notifications.send_again(other) == (0, 0)
                other.close()

    monkeypatch.setattr(notifications, "send_mail", send_while_another_run_starts)
    assert notifications.send_again(db.session) == (1, 0)
    assert sent == [["dana@toronto.example"]]


def test_a_mail_server_that_cannot_be_reached_is_logged_in_one_line_per_message(app, make_user, api, monkeypatch,
                                                                               caplog):
    # Each message the server refused wrote its traceback, burying the summary; a fault of ours
    # (a header refused) keeps its traceback, which is what finds it.
    import notifications

    def unreachable(*_args, **_kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(notifications, "send_mail", unreachable)
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    case = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"], _trip())
    with caplog.at_level(logging.ERROR, logger="accord.mail"):
        api(sam).post(f"/api/v1/cases/{case.id}/transitions", json={"trigger": "submit", "version": case.version})
    [record] = [r for r in caplog.records if "could not send mail" in r.getMessage()]
    assert record.exc_info is None and record.getMessage().endswith(": [Errno 111] Connection refused")
    caplog.clear()

    def refused(*_args, **_kwargs):
        raise ValueError("Header values may not contain linefeed or carriage return characters")

    monkeypatch.setattr(notifications, "send_mail", refused)
    with caplog.at_level(logging.ERROR, logger="accord.mail"):
        api(dana).post(f"/api/v1/cases/{case.id}/comments", json={"comment": "Which sessions?"})
    [record] = [r for r in caplog.records if "could not send mail" in r.getMessage()]
    assert record.exc_info is not None
