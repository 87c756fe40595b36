"""The one source of the current time, so that deadlines can be tested.

Tests call ``clock.set(...)``; everything else calls ``now()`` or ``today()``.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

_frozen: datetime | None = None
_zone = ZoneInfo("America/Toronto")


def configure(tz_name: str) -> None:
    """Set the City's time zone, used for "today"."""
    global _zone
    _zone = ZoneInfo(tz_name)


def now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return _frozen if _frozen is not None else datetime.now(timezone.utc)


def today() -> date:
    """Return today's date in the City's time zone."""
    return now().astimezone(_zone).date()


def city_date(moment: datetime) -> date:
    """Return the City's date of a moment stored as naive UTC (as the database keeps them)."""
    return moment.replace(tzinfo=timezone.utc).astimezone(_zone).date()


def city_time(moment: datetime) -> datetime:
    """Return a moment stored as naive UTC (as the database keeps them) in the City's time zone."""
    return moment.replace(tzinfo=timezone.utc).astimezone(_zone)


def zone() -> ZoneInfo:
    """Return the City's time zone."""
    return _zone


def set(moment: datetime | None) -> None:  # noqa: A001 - reads well as clock.set(...)
    """Freeze the clock at a moment (UTC if naive), or unfreeze it with None."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    _frozen = moment


def advance(**delta: float) -> None:
    """Move a frozen clock forward."""
    global _frozen
    base = now()
    _frozen = base + timedelta(**delta)
