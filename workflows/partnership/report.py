"""The partnership section of the annual report: proposals by outcome and the inventory by status."""
from __future__ import annotations

from typing import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, Case, Partnership
from models.partnership import STATUSES
from reports.annual import ReportSection, Row
from reports.period import Period
from reports.sql import Measure, as_it_stood, breakdown, cents, cube, first_of, money_text, totals

NAME = "partnership"
MEASURES = (
    Measure("proposals", ("submit",), first_of("submit")),
    Measure("referred_to_council", ("approve",), AuditEvent.to_state == "council_review"),
    Measure("adopted", ("approve",), AuditEvent.to_state == "adopted"),
    Measure("declined", ("decline",)),
    # Proposals, not steps: a proposal deferred, reconsidered and deferred again counts once a year,
    # and a draft withdrawn before it was ever submitted was no proposal.
    Measure("deferred", ("defer",), first_of("defer", in_year=True)),
    Measure("withdrawn", ("withdraw",), AuditEvent.from_state != "draft"),
    Measure("city_contribution_adopted", ("approve",), AuditEvent.to_state == "adopted",
            cents(Case.amount_requested), True),
)
TYPE_FIGURES = ("proposals", "adopted", "declined", "withdrawn")
OUTCOMES = ("proposals", "referred_to_council", "adopted", "declined", "deferred", "withdrawn")


def inventory_at(session: Session, period: Period) -> dict[str, int]:
    """Return the inventory's entries per status at the cutoff, replayed from each entry's audit chain."""
    current = dict(session.execute(select(Partnership.id, Partnership.status)).all())
    # The chains named one by one, so that the (chain, seq) index finds them: a LIKE on the prefix
    # would read every event of every case.
    events = session.execute(
        select(AuditEvent.chain, AuditEvent.at, AuditEvent.action, AuditEvent.from_state, AuditEvent.to_state,
               AuditEvent.actor_id)
        .where(AuditEvent.chain.in_([f"partnership:{pid}" for pid in current]))
        .order_by(AuditEvent.chain, AuditEvent.seq)
    ).all()
    before: dict[int, str | None] = {}  # the status after the last change up to the cutoff
    after: dict[int, str | None] = {}  # the status before the first change after it (None: not yet created)
    for chain, at, action, from_state, to_state, actor_id in events:
        pid = int(chain.split(":", 1)[1])
        # An entry of the framework's inventory was there before any year the trail covers, whenever
        # `flask init-db` recorded its loading (by no person).
        inherited = action == "inventory_create" and actor_id is None
        if at < period.cutoff or inherited:
            before[pid] = to_state
        elif pid not in after:
            after[pid] = None if action == "inventory_create" else from_state
    counts = dict.fromkeys(STATUSES, 0)
    for pid, status in current.items():
        status = before[pid] if pid in before else after.get(pid, status)
        if status is not None:
            counts[status] = counts.get(status, 0) + 1
    return counts


def compute(session: Session, period: Period, config: Mapping) -> dict:
    """Return the partnership figures of a year."""
    rows = cube(session, period, NAME, MEASURES, as_it_stood("proposal_type", Case.category))
    return {
        **totals(rows, MEASURES),
        "by_type": breakdown(rows, [m for m in MEASURES if m.name in TYPE_FIGURES], 0, "proposal_type"),
        "inventory_by_status": inventory_at(session, period),
    }


def summary(session: Session, period: Period, config: Mapping) -> dict:
    """Return the partnership figures the headline reads, without the breakdown and inventory."""
    measures = [m for m in MEASURES if m.name in ("proposals", "adopted")]
    return totals(cube(session, period, NAME, measures), measures)


def csv_rows(s: dict) -> Iterable[Row]:
    """Flatten the partnership figures into CSV rows."""
    for name in OUTCOMES:
        yield name, "", s[name]
    yield "city_contribution_adopted", "", money_text(s["city_contribution_adopted"])
    for row in s["by_type"]:
        for name in TYPE_FIGURES:
            yield f"by_type.{name}", row["proposal_type"], row[name]
    for status, count in s["inventory_by_status"].items():
        yield "inventory_by_status", status, count


def headline(s: dict) -> list[tuple[str, object]]:
    """Return the partnership figures the CAO's dashboard shows."""
    return [("Partnership proposals", s["proposals"]), ("Partnerships adopted", s["adopted"])]


SECTION = ReportSection(
    name="partnerships",
    title="International partnerships",
    order=30,
    compute=compute,
    csv_rows=csv_rows,
    template="reports/partnerships.html",
    headline=headline,
    summary=summary,
)
