"""The travel section of the annual report: requests, trips, post-trip reports and their costs."""
from __future__ import annotations

import calendar
from collections import Counter
from datetime import datetime, time
from typing import Iterable, Mapping

from sqlalchemy import bindparam, case, func, select, union
from sqlalchemy.orm import Session, aliased

from models import AuditEvent, Case, Department, User
from reports.annual import Chart, ReportSection, Row
from reports.period import Period
from reports.sql import (PERIOD_END, Measure, as_it_stood, breakdown, cents, cube, department_as_it_stood, first_of,
                         group_key, money_text, month_measures, spelling, totals)
from workflows.goals import GOALS
from workflows.travel.definition import NAME, overdue_clause

# A report's actual cost as last filed by the end of the year (the events' payloads): corrected
# within the year, the correction counts; read from the case, a report returned and filed again
# the next year changed a closed year's figure.
_filing = aliased(AuditEvent)
_FILED_COST = (select(_filing.payload["actual_cost"].as_numeric(14, 2))
               .where(_filing.chain == AuditEvent.chain, _filing.action == "submit_report",
                      _filing.at < bindparam(PERIOD_END))
               .order_by(_filing.seq.desc()).limit(1).scalar_subquery())

MEASURES = (
    Measure("requests", ("submit",), first_of("submit")),
    Measure("approved", ("approve",), AuditEvent.to_state == "approved"),
    Measure("declined", ("decline",)),
    # Cancelled by the traveller once submitted, a returned one too (a draft never sent was no request).
    Measure("cancelled", ("cancel",), ~first_of("submit")),
    Measure("trips_completed", ("complete_trip",)),
    Measure("reports_filed", ("submit_report",), first_of("submit_report")),
    # An estimate is committed when the trip is approved; the actual cost is known when the report is filed.
    Measure("estimated_cost", ("approve",), AuditEvent.to_state == "approved", cents(Case.amount_requested), True),
    Measure("actual_cost", ("submit_report",), first_of("submit_report"), cents(_FILED_COST), True),
    Measure("estimated_cost_of_reported", ("submit_report",), first_of("submit_report"),
            cents(Case.amount_requested), True),
)
MONEY = ("estimated_cost", "actual_cost", "estimated_cost_of_reported")
# The actual cost of a group sits beside the estimate of the same trips (those reported), not beside
# the estimate of the trips approved in the year, which are others.
GROUP_FIGURES = ("requests", "approved", "declined", "trips_completed", "estimated_cost", "actual_cost",
                 "estimated_cost_of_reported")
GROUP_MEASURES = [m for m in MEASURES if m.name in GROUP_FIGURES]
# Counted per trip in Python (the due day is compared in City time) or at the cutoff, not from the cube.
PUNCTUALITY = ("reports_on_time", "reports_late", "reports_overdue")
# What the breakdowns are by: (department, organizer), as in the cube.
Group = tuple[str, str | None]


def _punctuality(session: Session, period: Period) -> dict[str, Counter[Group]]:
    """Return, per (department, organizer), the first filings of the year that came by the due date
    (in City time) and those that came after."""
    rows = session.execute(
        select(AuditEvent.at, Case.due_on, Department.name, Case.category).join(Case, Case.id == AuditEvent.case_id)
        .join(Department, Department.id == department_as_it_stood())
        .where(AuditEvent.action == "submit_report", AuditEvent.at >= period.start, AuditEvent.at < period.end,
               Case.workflow == NAME, first_of("submit_report")),
        {PERIOD_END: period.end},
    ).all()
    counts: dict[str, Counter[Group]] = {"reports_on_time": Counter(), "reports_late": Counter()}
    for at, due, department, organizer in rows:
        on_time = due is None or period.local_date(at) <= due.date()
        counts["reports_on_time" if on_time else "reports_late"][department, organizer] += 1
    return counts


def _overdue(session: Session, period: Period) -> Counter[Group]:
    """Return, per (department, organizer), the trips still in `travelled` at the cutoff whose
    report was then past due."""
    # Entering `travelled` (complete_trip, return_report) adds one, filing the report takes one away.
    # The balance of each case comes from the events' covering index alone; only the cases left in
    # `travelled` are then looked up (workflow, due date), not every trip ever taken.
    balance = func.sum(case((AuditEvent.action == "submit_report", -1), else_=1))
    in_travelled = (
        select(AuditEvent.case_id)
        .where(AuditEvent.action.in_(("complete_trip", "return_report", "submit_report")),
               AuditEvent.at < period.cutoff)
        .group_by(AuditEvent.case_id).having(balance > 0)
    )
    if not period.complete:
        # The year so far (the dashboard's): filing the report is the only way out of `travelled`, so
        # a trip there at the cutoff is there still or filed its report since; only those are replayed.
        candidates = union(select(Case.id).where(Case.workflow == NAME, Case.state == "travelled"),
                           select(AuditEvent.case_id).where(AuditEvent.action == "submit_report",
                                                            AuditEvent.at >= period.cutoff))
        in_travelled = in_travelled.where(AuditEvent.case_id.in_(candidates))
    in_travelled = in_travelled.subquery()
    return Counter({(department, organizer): n for department, organizer, n in session.execute(
        select(Department.name, Case.category, func.count()).select_from(in_travelled)
        .join(Case, Case.id == in_travelled.c.case_id).join(Department, Department.id == department_as_it_stood())
        .where(Case.workflow == NAME, Case.due_on < datetime.combine(period.as_of, time.min))
        .group_by(Department.name, Case.category), {PERIOD_END: period.end})})


def _with_punctuality(rows: list[dict], label: str, index: int, counts: dict[str, Counter[Group]]) -> list[dict]:
    """Add each group's reports on time, late and overdue to its row of a breakdown (rolled up on
    the group's `index`); a group with nothing else in the year gets a row of its own."""
    zero = totals({}, GROUP_MEASURES)  # the figures of a group with none
    by_key = {group_key(row[label]): {**row, **dict.fromkeys(PUNCTUALITY, 0)} for row in rows}
    for name, per_group in counts.items():
        for group, n in sorted(per_group.items(), key=lambda item: str(item[0][index])):
            row = by_key.setdefault(group_key(group[index]),
                                    {label: spelling(group[index]), **zero, **dict.fromkeys(PUNCTUALITY, 0)})
            row[name] += n
    return sorted(by_key.values(), key=lambda r: str(r[label]).lower())


def _learnings(session: Session, period: Period) -> dict[str, list[dict]]:
    """Return the learnings of the reports accepted in the year, under each goal of their trip, with
    the new contacts each names (name and organisation: the report is read beyond the office, so
    their email addresses stay on the request's page, for those who may see it)."""
    rows = session.execute(
        select(Case.id, Case.title, Case.goals, Case.category, Department.name, User.full_name,
               Case.data[("event_name",)].as_string(), Case.data[("report", "learnings")].as_string(),
               AuditEvent.at, Case.data[("report", "contacts")])
        .join(Case, Case.id == AuditEvent.case_id).join(Department, Department.id == department_as_it_stood())
        .join(User, User.id == Case.owner_id)
        .where(AuditEvent.action == "accept_report", AuditEvent.at >= period.start, AuditEvent.at < period.end,
               Case.workflow == NAME)
        .order_by(AuditEvent.at, Case.id),
        {PERIOD_END: period.end},
    ).all()
    grouped_by_goal: dict[str, list[dict]] = {goal: [] for goal in GOALS}
    for case_id, title, goals, organizer, department, traveller, event, learnings, at, contacts in rows:
        entry = {"case_id": case_id, "title": title, "event": event, "organizer": organizer,
                 "department": department, "traveller": traveller, "accepted_on": period.local_date(at).isoformat(),
                 "learnings": learnings,
                 "contacts": [{"name": c.get("name"), "organization": c.get("organization")}
                              for c in contacts or [] if isinstance(c, dict)]}
        for goal in goals or []:
            grouped_by_goal.setdefault(goal, []).append(entry)
    return {goal: entries for goal, entries in grouped_by_goal.items() if entries}


def contact_list(contacts: list[dict]) -> str:
    """Return a report's new contacts as one line: "Ana Souza (Prefeitura); Li Wei (ICLEI)"."""
    return "; ".join(f"{c['name']} ({c['organization']})" for c in contacts)


def compute(session: Session, period: Period, config: Mapping) -> dict:
    """Return the travel figures of a year."""
    trips = month_measures(period, "trips", ("complete_trip",))  # counted in the same pass
    rows = cube(session, period, NAME, (*MEASURES, *trips), Department.name, as_it_stood("event_organizer", Case.category))
    punctuality = {**_punctuality(session, period), "reports_overdue": _overdue(session, period)}
    trips_by_month = totals(rows, trips)
    return {
        **totals(rows, MEASURES),
        **{name: sum(per_group.values()) for name, per_group in punctuality.items()},
        "by_department": _with_punctuality(breakdown(rows, GROUP_MEASURES, 0, "department"), "department", 0,
                                           punctuality),
        "by_organizer": _with_punctuality(breakdown(rows, GROUP_MEASURES, 1, "organizer"), "organizer", 1,
                                          punctuality),
        "trips_by_month": [trips_by_month[m.name] for m in trips],
        "learnings_by_goal": _learnings(session, period),
    }


def summary(session: Session, period: Period, config: Mapping) -> dict:
    """Return the travel figures the headline reads, without the breakdowns and lists."""
    measures = [m for m in MEASURES if m.name in ("requests", "trips_completed")]
    return {**totals(cube(session, period, NAME, measures), measures),
            "reports_overdue": sum(_overdue(session, period).values())}


def csv_rows(s: dict) -> Iterable[Row]:
    """Flatten the travel figures into CSV rows."""
    for name in ("requests", "approved", "declined", "cancelled", "trips_completed", "reports_filed", "reports_on_time",
                 "reports_late", "reports_overdue", *MONEY):
        yield name, "", money_text(s[name]) if name in MONEY else s[name]
    for key, label in (("by_department", "department"), ("by_organizer", "organizer")):
        for row in s[key]:
            for name in (*GROUP_FIGURES, *PUNCTUALITY):
                yield f"{key}.{name}", row[label], money_text(row[name]) if name in MONEY else row[name]
    for month, count in enumerate(s["trips_by_month"], start=1):
        yield "trips_by_month", f"{month:02d}", count
    for goal, entries in s["learnings_by_goal"].items():
        for e in entries:
            yield "learnings", f"{goal}: #{e['case_id']} {e['title']}", e["learnings"]
            if e["contacts"]:
                yield "contacts", f"{goal}: #{e['case_id']} {e['title']}", contact_list(e["contacts"])


def headline(s: dict) -> list[tuple[str, object]]:
    """Return the travel figures the CAO's dashboard shows."""
    return [("Travel requests", s["requests"]), ("Trips completed", s["trips_completed"]),
            ("Post-trip reports overdue", s["reports_overdue"])]


def attention(session: Session, period: Period, config: Mapping) -> list[dict]:
    """Return the trips whose report is overdue today, longest overdue first."""
    cases = session.scalars(select(Case).where(overdue_clause(period.as_of)).order_by(Case.due_on).limit(10)).all()
    return [{"case": c, "label": "report overdue", "detail": f"report due {c.due_on.date().isoformat()}"}
            for c in cases]


SECTION = ReportSection(
    name="travel",
    title="Conference and international travel",
    order=10,
    compute=compute,
    csv_rows=csv_rows,
    template="reports/travel.html",
    charts=(Chart("trips_per_month", "Trips completed per month",
                  lambda s: list(zip(calendar.month_abbr[1:], s["trips_by_month"])), "trips"),),
    headline=headline,
    summary=summary,
    attention=attention,
)
