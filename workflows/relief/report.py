"""The relief section of the annual report: requests, decisions and money, by country and disaster."""
from __future__ import annotations

from typing import Iterable, Mapping

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from models import AuditEvent, Case
from reports.annual import Chart, ReportSection, Row
from reports.period import Period
from reports.sql import (Measure, as_it_stood, breakdown, cents, cube, first_of, money_text, percentiles,
                         seconds_between, totals)
from workflows.fields import money_text as money
from workflows.relief.definition import TRIAGE_STATES, triage_deadline

NAME = "relief"
MEASURES = (
    Measure("requests", ("submit",), first_of("submit")),
    Measure("approved", ("approve",), AuditEvent.to_state == "approved"),
    Measure("referred_to_council", ("approve",), AuditEvent.to_state == "council_review"),
    Measure("declined", ("decline",)),
    # Withdrawn by its requester once submitted (a draft given up was never a request).
    Measure("withdrawn", ("withdraw",), AuditEvent.from_state != "draft"),
    Measure("disbursed", ("disburse",)),
    # Each amount counts in the year of the step that fixes it: asked, granted, paid.
    Measure("amount_requested", ("submit",), first_of("submit"),
            cents(as_it_stood("amount_requested", Case.amount_requested, numeric=True)), True),
    Measure("amount_granted", ("approve",), AuditEvent.to_state == "approved", cents(Case.amount_granted), True),
    Measure("amount_paid", ("disburse",), None, cents(Case.amount_paid), True),
)
MONEY = ("amount_requested", "amount_granted", "amount_paid")
GROUP_FIGURES = ("requests", "approved", "declined", *MONEY)
DECISIONS = ("approved", "declined")


def _days_to_decision(session: Session, period: Period) -> tuple[float | None, float | None]:
    """Return the median and 90th percentile days from submission to the decision, for the year's decisions."""
    key = literal("all").label("all")
    source = (select(key).select_from(AuditEvent).join(Case, Case.id == AuditEvent.case_id)
              .where(Case.workflow == NAME, AuditEvent.action.in_(("approve", "decline")),
                     AuditEvent.to_state.in_(DECISIONS), AuditEvent.at >= period.start, AuditEvent.at < period.end))
    found = percentiles(session, [key], seconds_between(session, AuditEvent.at, Case.submitted_at), source)
    if not found:
        return None, None
    _, median, p90 = found[("all",)]
    return round(median / 86400, 1), round(p90 / 86400, 1)


def compute(session: Session, period: Period, config: Mapping) -> dict:
    """Return the relief figures of a year."""
    median, p90 = _days_to_decision(session, period)
    group_measures = [m for m in MEASURES if m.name in GROUP_FIGURES]
    rows = cube(session, period, NAME, MEASURES, as_it_stood("country", Case.country),
                as_it_stood("disaster_type", Case.category))
    return {
        **totals(rows, MEASURES),
        "median_days_to_decision": median,
        "p90_days_to_decision": p90,
        "by_country": breakdown(rows, group_measures, 0, "country"),
        "by_disaster_type": breakdown(rows, group_measures, 1, "disaster_type"),
    }


def summary(session: Session, period: Period, config: Mapping) -> dict:
    """Return the relief figures the headline reads, without the breakdowns and durations."""
    measures = [m for m in MEASURES if m.name in ("requests", "approved", "amount_granted")]
    return totals(cube(session, period, NAME, measures), measures)


def csv_rows(s: dict) -> Iterable[Row]:
    """Flatten the relief figures into CSV rows."""
    for name in ("requests", "approved", "referred_to_council", "declined", "withdrawn", "disbursed", *MONEY):
        yield name, "", money_text(s[name]) if name in MONEY else s[name]
    yield "median_days_to_decision", "", "" if s["median_days_to_decision"] is None else s["median_days_to_decision"]
    yield "p90_days_to_decision", "", "" if s["p90_days_to_decision"] is None else s["p90_days_to_decision"]
    for key, label in (("by_country", "country"), ("by_disaster_type", "disaster_type")):
        for row in s[key]:
            for name in GROUP_FIGURES:
                yield f"{key}.{name}", row[label], money_text(row[name]) if name in MONEY else row[name]


def headline(s: dict) -> list[tuple[str, object]]:
    """Return the relief figures the CAO's dashboard shows."""
    return [("Relief requests", s["requests"]), ("Relief approved", s["approved"]),
            ("Relief granted ($)", money(s["amount_granted"]))]


def attention(session: Session, period: Period, config: Mapping) -> list[dict]:
    """Return the requests waiting for triage past the deadline, longest waiting first."""
    cases = session.scalars(
        select(Case).where(Case.workflow == NAME, Case.state.in_(TRIAGE_STATES), Case.due_on < period.cutoff)
        .order_by(Case.due_on).limit(10)
    ).all()
    return [{"case": c, "label": "triage late",
             "detail": f"submitted {period.local_date(c.submitted_at).isoformat()}, triage due "
                       f"{period.local_date(triage_deadline(c)).isoformat()}"}
            for c in cases]


SECTION = ReportSection(
    name="relief",
    title="Disaster relief assistance",
    order=20,
    compute=compute,
    csv_rows=csv_rows,
    template="reports/relief.html",
    charts=(Chart("relief_by_country", "Relief granted by country (dollars)",
                  lambda s: [(r["country"], r["amount_granted"]) for r in s["by_country"] if r["amount_granted"]], "dollars",
                  horizontal=True),),
    headline=headline,
    summary=summary,
    attention=attention,
)
