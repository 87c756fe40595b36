"""The Healthy City Office's triage queue: requests waiting for triage or in triage."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, User
from workflows.errors import Forbidden
from workflows.relief.definition import TRIAGE_STATES

TRIAGE_ROLES = ("hco",)


def check_triager(user: User) -> None:
    """Refuse anyone who does not triage relief requests."""
    if not user.has_role(*TRIAGE_ROLES):
        raise Forbidden("The triage queue is for the Healthy City Office (role hco).")


def triage_queue(session: Session) -> list[Case]:
    """Return the requests waiting for triage or in triage, the most urgent deadline first
    (due_on: migration 0015 gave every submitted request one)."""
    return list(session.scalars(
        select(Case).where(Case.workflow == "relief", Case.state.in_(TRIAGE_STATES))
        .order_by(Case.due_on, Case.id)
    ))


def time_left_text(hours: float | None) -> str:
    """Describe the time before the triage deadline for a person."""
    if hours is None:
        return ""
    if hours < 0:
        return f"Late by {_span(-hours)}"
    span = _span(hours)
    return f"{span[:1].upper()}{span[1:]} left"


def _span(hours: float) -> str:
    # In whole minutes, counted down (59.9 minutes is "59 minutes"): a deadline is never shown
    # further off than it is, nor a delay longer. In words, which a screen reader reads as such
    # ("1 d 21 h" was read letter by letter).
    whole, minutes = divmod(int(hours * 60), 60)
    if whole >= 24:
        days, rest = divmod(whole, 24)
        return f"{_count(days, 'day')} {_count(rest, 'hour')}"
    if whole >= 2:
        return _count(whole, "hour")
    if not whole:  # (under a minute late is late: not "Late by 0 minutes" beside the late flag)
        return _count(minutes, "minute") if minutes else "less than a minute"
    return f"{_count(whole, 'hour')} {_count(minutes, 'minute')}"


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"

