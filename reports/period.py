"""The year a report covers, with its bounds in naive UTC as the columns store time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import clock

FIRST_YEAR = 2000


def utc_of(day: date, zone: ZoneInfo) -> datetime:
    """Return the naive UTC instant of a day's local midnight in a time zone."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Period:
    """One calendar year in the City's time zone, seen from a moment (now, or the year's end)."""

    year: int
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive
    cutoff: datetime  # naive UTC: the year's end, or now while the year runs
    as_of: date  # the City's date at the cutoff ("today" for states such as overdue)
    zone: ZoneInfo

    @classmethod
    def of(cls, year: int) -> "Period":
        """Return the period of a calendar year as the clock sees it now."""
        zone = clock.zone()
        start, end = utc_of(date(year, 1, 1), zone), utc_of(date(year + 1, 1, 1), zone)
        now = clock.now().astimezone(timezone.utc).replace(tzinfo=None)
        cutoff = min(end, max(now, start))
        return cls(year, start, end, cutoff, cutoff.replace(tzinfo=timezone.utc).astimezone(zone).date(), zone)

    @property
    def complete(self) -> bool:
        """Return whether the year is over."""
        return self.cutoff >= self.end

    def months(self) -> list[tuple[datetime, datetime]]:
        """Return the twelve local months of the year as naive UTC bounds."""
        edges = [utc_of(date(self.year, m, 1), self.zone) for m in range(1, 13)] + [self.end]
        return list(zip(edges, edges[1:]))

    def local_date(self, moment: datetime) -> date:
        """Return the City's date of a naive UTC moment."""
        return moment.replace(tzinfo=timezone.utc).astimezone(self.zone).date()


def current_year() -> int:
    """Return this year in the City's time zone."""
    return clock.today().year


def valid_year(value) -> int | None:
    """Return a year a report may cover (2000 to this year), or None."""
    try:
        year = int(value)
    except (TypeError, ValueError):
        return None
    return year if FIRST_YEAR <= year <= current_year() else None
