"""`flask reminders send`: remind travellers of post-trip reports falling due and overdue, and of
trips over but never marked as travelled; and send again the steps' messages whose sending failed
(cron, hourly or at least daily)."""
from __future__ import annotations

import logging
from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

import clock
from extensions import db
from models import Case, User
from notifications import case_url, log_unsent, notify_once, send_again
from workflows.travel.definition import NAME, report_due_on

log = logging.getLogger("accord.travel")
KIND = "travel_report"

reminders = AppGroup("reminders", help="Send the reminders that fall due, and failed messages again (run hourly).")


def reminder_for(case: Case, today: date) -> tuple[str, str, str] | None:
    """Return the (key, subject, body) of the reminder a trip calls for today, or None."""
    due = report_due_on(case)
    end = date.fromisoformat(case.data["end_date"])
    if case.state == "approved":
        # Over, but never marked taken: its report is owed all the same (the not_marked_taken flag),
        # and cannot be filed until the trip is marked taken.
        if end >= today:
            return None
        report = (f"its report was due by {due.isoformat()} and is now overdue" if due < today
                  else f"then file your report by {due.isoformat()}")
        return (f"{case.id}:unmarked", f"[Accord] Mark your trip as travelled: {case.title}",
                f"Your trip \"{case.title}\" ended on {end.isoformat()}, but it is not marked as travelled. Mark "
                f"it as travelled; {report}. If you did not travel, cancel the request instead.\n"
                f"{case_url(case)}\n")
    if due < today:
        return (f"{case.id}:overdue", f"[Accord] Post-trip report overdue: {case.title}",
                f"Your report on \"{case.title}\" was due by {due.isoformat()} and is now overdue.\n"
                f"Until it is filed, a new travel request of yours cannot be approved.\n"
                f"File it here: {case_url(case)}\n")
    if end <= today:
        return (f"{case.id}:due", f"[Accord] Post-trip report due by {due.isoformat()}: {case.title}",
                f"Welcome back. Your report on \"{case.title}\" is due by {due.isoformat()}: a summary, "
                f"what the City can learn, the contacts you made and the actual cost.\n"
                f"File it here: {case_url(case)}\n")
    return None


def send_reminders(session: Session, today: date) -> tuple[int, int]:
    """Send each reminder due today once; return how many were sent and how many failed."""
    # Not to a traveller whose account was closed (as "awaits you" mail is not): no one reads it.
    trips = session.scalars(select(Case).join(User, User.id == Case.owner_id)
                            .where(Case.workflow == NAME, Case.state.in_(("travelled", "approved")),
                                   User.active.is_(True))
                            .order_by(Case.id)).all()
    sent = failed = 0
    for case in trips:
        reminder = reminder_for(case, today) if case.data.get("end_date") else None
        if reminder is None:
            continue
        key, subject, body = reminder
        try:
            if notify_once(session, case.owner, KIND, key, subject, body, case):
                sent += 1
        except Exception as err:  # (taken back: the next run tries again) one failure must not stop the others
            failed += 1
            log_unsent(err, "could not send the reminder %s to %s", key, case.owner.username)
    return sent, failed


@reminders.command("send")
def send_command() -> None:
    """Send the post-trip report reminders that fall due today, and again any step's message
    ("awaits you", an outcome) whose sending failed in the last week."""
    sent, failed = send_reminders(db.session, clock.today())
    click.echo(f"{sent} reminder(s) sent, {failed} failed.")
    again, still = send_again(db.session)
    if again or still:
        click.echo(f"{again} message(s) that had failed sent again, {still} failed again.")
    if failed or still:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    """Add the `reminders` command group."""
    app.cli.add_command(reminders)
