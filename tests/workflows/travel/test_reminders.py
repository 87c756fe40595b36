"""`flask reminders send` against a local SMTP server: one email per reminder, none sent twice."""
from __future__ import annotations

import socket
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

import clock
from extensions import db
from tests.workflows.travel.conftest import TODAY, trip_data


class Collector:
    """An SMTP handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp(app):
    handler = Collector()
    with socket.socket() as probe:  # aiosmtpd checks its own port on start, so it cannot take port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield handler
    controller.stop()
    app.config["MAIL_SERVER"] = None


def run(app, day: date):
    clock.set(datetime.combine(day, datetime.min.time()) + timedelta(hours=12))
    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def reminders(handler):
    return [m for m in handler.messages if "report" in m[1]["Subject"] and "awaits you" not in m[1]["Subject"]]


def test_a_traveller_is_reminded_once_when_due_and_once_when_overdue(app, smtp, make_trip):
    case = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=3), days=5))  # ends in 2 days
    end = TODAY + timedelta(days=2)
    assert "0 reminder(s) sent" in run(app, end - timedelta(days=1))
    assert reminders(smtp) == []

    assert "1 reminder(s) sent" in run(app, end)
    run(app, end + timedelta(days=1))
    due = reminders(smtp)
    assert len(due) == 1
    recipients, message = due[0]
    assert recipients == ["sam@toronto.example"]
    due_by = (end + timedelta(days=30)).isoformat()
    assert f"due by {due_by}" in message["Subject"]
    assert f"/cases/{case.id}" in message.get_content()

    run(app, end + timedelta(days=30))  # the last day to file it: still only due
    assert len(reminders(smtp)) == 1
    assert "1 reminder(s) sent" in run(app, end + timedelta(days=31))
    run(app, end + timedelta(days=45))
    sent = reminders(smtp)
    assert len(sent) == 2
    assert "overdue" in sent[1][1]["Subject"]


def test_no_reminder_once_the_report_is_filed_or_before_travelling(app, smtp, make_trip):
    make_trip("sam", "report_submitted", trip_data(TODAY - timedelta(days=50), days=5))
    make_trip("sam", "approved")  # from TODAY + 30 days to TODAY + 34
    assert "0 reminder(s) sent" in run(app, TODAY + timedelta(days=34))
    assert reminders(smtp) == []


def test_a_trip_over_but_never_marked_taken_is_reminded_once(app, smtp, make_trip):
    # Its report is owed (not_marked_taken), yet no reminder came: only marked trips were reminded.
    case = make_trip("sam", "approved")  # from TODAY + 30 days to TODAY + 34
    end = TODAY + timedelta(days=34)
    assert "0 reminder(s) sent" in run(app, end)  # its last day
    assert "1 reminder(s) sent" in run(app, end + timedelta(days=1))
    assert "0 reminder(s) sent" in run(app, end + timedelta(days=40))
    (recipients, message), = [m for m in smtp.messages if "Mark your trip as travelled" in m[1]["Subject"]]
    assert recipients == ["sam@toronto.example"]
    text = " ".join(message.get_content().split())
    assert (f"ended on {end.isoformat()}, but it is not marked as travelled. Mark it as travelled; then file your "
            f"report by {(end + timedelta(days=30)).isoformat()}. If you did not travel, cancel the request") in text
    assert f"/cases/{case.id}" in text


def test_a_trip_never_marked_taken_first_reminded_after_its_report_was_due_is_told_it_is_overdue(app, smtp, make_trip):
    # The first run after such a trip's due day (a new cron, say) asked for the report "by" a day gone.
    make_trip("sam", "approved")  # from TODAY + 30 days to TODAY + 34: its report due by TODAY + 64
    assert "1 reminder(s) sent" in run(app, TODAY + timedelta(days=70))
    (_recipients, message), = [m for m in smtp.messages if "Mark your trip as travelled" in m[1]["Subject"]]
    text = " ".join(message.get_content().split())
    assert f"its report was due by {(TODAY + timedelta(days=64)).isoformat()} and is now overdue" in text
    assert "then file your report by" not in text


def test_each_traveller_gets_their_own(app, smtp, make_trip):
    make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=50), days=5))
    make_trip("chen", "travelled", trip_data(TODAY - timedelta(days=10), days=5))
    assert "2 reminder(s) sent" in run(app, TODAY)
    assert "0 reminder(s) sent" in run(app, TODAY)
    by_person = {tuple(r): m["Subject"] for r, m in reminders(smtp)}
    assert "overdue" in by_person[("sam@toronto.example",)]
    assert "due by" in by_person[("chen@toronto.example",)]


def test_no_reminder_to_a_traveller_whose_account_was_closed(app, smtp, make_trip, people):
    make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=50), days=5))
    make_trip("chen", "travelled", trip_data(TODAY - timedelta(days=50), days=5))
    people["sam"].active = False
    db.session.commit()
    assert "1 reminder(s) sent" in run(app, TODAY)
    assert [tuple(r) for r, _m in reminders(smtp)] == [("chen@toronto.example",)]


def test_a_reminder_that_could_not_be_sent_goes_out_on_the_next_run(app, smtp, make_trip):
    case = make_trip("sam", "travelled", trip_data(TODAY - timedelta(days=10), days=5))  # over: due
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 1  # the mail server cannot be reached this time
    clock.set(datetime.combine(TODAY, datetime.min.time()) + timedelta(hours=12))
    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 1 and "0 reminder(s) sent, 1 failed" in result.output
    app.config["MAIL_PORT"] = port
    assert "1 reminder(s) sent, 0 failed" in run(app, TODAY)
    assert [m["Subject"] for _, m in reminders(smtp)] == [f"[Accord] Post-trip report due by "
                                                          f"{(TODAY - timedelta(days=5) + timedelta(days=30)).isoformat()}: "
                                                          f"{case.title}"]
    assert "0 reminder(s) sent" in run(app, TODAY)  # and once only


def test_a_step_committed_during_the_run_holds_back_no_reminder(app, smtp, make_trip, people, monkeypatch):
    # On SQLite the run's first reminder after someone's commit failed ("database is locked"), and
    # every reminder after it, until the next run.
    import threading

    from models import User
    from workflows import engine
    from workflows.travel import cli

    for owner in ("sam", "erin", "chen"):
        make_trip(owner, "travelled", trip_data(TODAY - timedelta(days=20), days=3))
    uid = people["sam"].id
    real, calls = cli.reminder_for, []

    def reminder_for(case, today):
        if not calls:  # someone's step commits between the run's reading and its first reminder
            calls.append(1)

            def step():
                with app.app_context():
                    engine.create_case(db.session, db.session.get(User, uid), "travel", "Next trip", ["research"], {})
                    db.session.remove()
            other = threading.Thread(target=step)
            other.start()
            other.join(20)
        return real(case, today)

    monkeypatch.setattr(cli, "reminder_for", reminder_for)
    assert "3 reminder(s) sent, 0 failed" in run(app, TODAY)
    assert len(reminders(smtp)) == 3
