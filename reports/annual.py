"""The annual accountability report: sections contributed by the workflows, plus the parts every
workflow shares (activity per goal, cycle times of each step).

A workflow contributes its section by shipping ``workflows/<name>/report.py`` with a ``SECTION``;
the report knows nothing of a workflow's states or data beyond what that section returns.
"""
from __future__ import annotations

import importlib
from datetime import timezone
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import String, case, cast, func, or_, select
from sqlalchemy.orm import Session

import clock
from models import AuditEvent, Case
from reports.period import Period
from reports.sql import PERIOD_END, as_it_stood, first_of, percentiles, prepare, seconds_between
from workflows import registry
from workflows.goals import GOALS

#: One CSV row of a section: (measure, group, value).
Row = tuple[str, str, Any]


@dataclass(frozen=True)
class Chart:
    """A chart of a section: a title, and the (label, value) pairs it plots from the section's figures."""

    name: str
    title: str
    points: Callable[[dict], list[tuple[str, float]]]
    unit: str
    horizontal: bool = False


@dataclass(frozen=True)
class ReportSection:
    """What a workflow adds to the annual report.

    compute(session, period, config) returns the section's figures (JSON-ready, money as Decimal);
    csv_rows(figures) flattens them; template renders them (it receives ``s``, the figures);
    headline(figures) picks the few figures the CAO's dashboard shows; summary(session, period,
    config), when given, computes just the figures headline reads (the dashboard computes them on
    every load, compute would also do the breakdowns and lists); attention(session, period, config)
    lists the cases that need the CAO office's eye (dicts with case, label, detail).
    """

    name: str
    title: str
    order: int
    compute: Callable[[Session, Period, Mapping], dict]
    csv_rows: Callable[[dict], Iterable[Row]]
    template: str
    charts: tuple[Chart, ...] = ()
    headline: Callable[[dict], list[tuple[str, Any]]] | None = None
    summary: Callable[[Session, Period, Mapping], dict] | None = None
    attention: Callable[[Session, Period, Mapping], list[dict]] | None = None


_sections: list[ReportSection] | None = None


def sections() -> list[ReportSection]:
    """Return the sections of every registered workflow that ships a report module, in order."""
    global _sections
    if _sections is None:
        found = []
        for wf in registry.all_workflows():
            try:
                module = importlib.import_module(f"workflows.{wf.name}.report")
            except ModuleNotFoundError as err:
                if err.name not in (f"workflows.{wf.name}", f"workflows.{wf.name}.report"):
                    raise
                continue  # a workflow without a report section
            found.append(module.SECTION)
        _sections = sorted(found, key=lambda s: s.order)
    return _sections


def state_change(event) -> Any:
    """Return the condition that an event moved its case into a state (creation included).

    Spelled as models.audit.STATE_CHANGE, the condition of the partial index of state changes.
    """
    return or_(event.from_state.is_(None), event.from_state != event.to_state)


def goal_activity(session: Session, period: Period) -> dict[str, dict[str, int]]:
    """Return, per goal and workflow, the requests first submitted in the year.

    The year's first submissions are counted per workflow and list of goals (a few dozen
    groups); each goal's LIKE then runs over those groups, not over every request.
    """
    submitted = (select(Case.workflow.label("workflow"), as_it_stood("goals", cast(Case.goals, String)).label("goals"))
                 .select_from(AuditEvent).join(Case, Case.id == AuditEvent.case_id)
                 .where(AuditEvent.action == "submit", AuditEvent.at >= period.start, AuditEvent.at < period.end,
                        first_of("submit"))
                 .subquery("submitted"))
    firsts = (select(submitted.c.workflow, submitted.c.goals, func.count().label("n"))
              .group_by(submitted.c.workflow, submitted.c.goals).subquery("firsts"))
    stmt = (select(firsts.c.workflow,
                   *[func.sum(case((firsts.c.goals.like(f'%"{goal}"%'), firsts.c.n), else_=0)) for goal in GOALS])
            .group_by(firsts.c.workflow))
    rows = {workflow: dict(zip(GOALS, (int(n or 0) for n in counts)))
            for workflow, *counts in session.execute(stmt, {PERIOD_END: period.end})}
    return {goal: {wf.name: rows.get(wf.name, {}).get(goal, 0) for wf in registry.all_workflows()}
            for goal in GOALS}


def cycle_times(session: Session, period: Period) -> dict[str, list[dict]]:
    """Return the median and 90th percentile time of each workflow step taken in the year.

    A step's time runs from the event that moved the case into the step's starting state (the
    previous state change of its chain) to the step itself. The chains with a step in the year
    are found first; LAG() over each one's state changes, read in order from the partial index
    of state changes, gives every step the moment its starting state was entered.
    """
    triggers = sorted({t.trigger for wf in registry.all_workflows() for t in wf.transitions})
    in_year = (select(AuditEvent.chain)
               .where(AuditEvent.action.in_(triggers), AuditEvent.at >= period.start, AuditEvent.at < period.end,
                      AuditEvent.from_state != AuditEvent.to_state))
    changes = (select(AuditEvent.case_id, AuditEvent.at, AuditEvent.action, AuditEvent.from_state,
                      AuditEvent.to_state,
                      func.lag(AuditEvent.at).over(partition_by=AuditEvent.chain, order_by=AuditEvent.seq)
                      .label("entered"))
               .where(state_change(AuditEvent), AuditEvent.chain.in_(in_year))
               .subquery("changes"))
    keys = [Case.workflow.label("workflow"), changes.c.action.label("action"),
            changes.c.from_state.label("from_state"), changes.c.to_state.label("to_state")]
    source = (select(*keys).select_from(changes).join(Case, Case.id == changes.c.case_id)
              .where(changes.c.at >= period.start, changes.c.at < period.end,
                     changes.c.from_state != changes.c.to_state))
    stats = percentiles(session, keys, seconds_between(session, changes.c.at, changes.c.entered), source)
    result: dict[str, list[dict]] = {}
    for wf in registry.all_workflows():
        steps = []
        for t in wf.transitions:
            for source_state in t.source:
                found = stats.get((wf.name, t.trigger, source_state, t.dest))
                if found:
                    count, median, p90 = found
                    steps.append({"step": t.trigger, "from_state": source_state, "to_state": t.dest,
                                  "label": f"{wf.label(source_state)} → {wf.label(t.dest)}: {t.label or t.trigger}",
                                  "count": count, "median_hours": round(median / 3600, 2),
                                  "p90_hours": round(p90 / 3600, 2)})
        if steps:
            result[wf.name] = steps
    return result


def compute_annual(session: Session, year: int, config: Mapping) -> dict:
    """Return the annual report of a year."""
    period = Period.of(year)
    prepare(session)
    report: dict[str, Any] = {"year": year, "as_of": period.as_of.isoformat(), "complete": period.complete,
                              "generated_at": clock.now().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    for section in sections():
        report[section.name] = section.compute(session, period, config)
    by_goal = goal_activity(session, period)
    report["goals"] = {goal: sum(per_wf.values()) for goal, per_wf in by_goal.items()}
    report["goals_by_workflow"] = by_goal
    report["cycle_times"] = cycle_times(session, period)
    return report


def headlines(session: Session, period: Period, config: Mapping) -> list[tuple[str, Any]]:
    """Return the headline figures of every section that has some (the CAO's dashboard)."""
    prepare(session)
    return [item for section in sections() if section.headline
            for item in section.headline((section.summary or section.compute)(session, period, config))]


def csv_rows(report: dict) -> list[tuple[str, str, str, Any]]:
    """Return the report as rows of (section, measure, group, value)."""
    # Whether the year is over, as the JSON says: a year's CSV taken before its end is partial.
    rows: list[tuple[str, str, str, Any]] = [("report", "year", "", report["year"]),
                                            ("report", "as_of", "", report["as_of"]),
                                            ("report", "complete", "", "true" if report["complete"] else "false")]
    for section in sections():
        rows += [(section.name, *row) for row in section.csv_rows(report[section.name])]
    for goal, count in report["goals"].items():
        rows.append(("goals", goal, "", count))
        rows += [("goals", goal, wf, n) for wf, n in report["goals_by_workflow"][goal].items()]
    for wf, steps in report["cycle_times"].items():
        for step in steps:
            group = f"{wf}:{step['from_state']}>{step['step']}>{step['to_state']}"
            rows += [("cycle_times", name, group, step[name]) for name in ("count", "median_hours", "p90_hours")]
    return rows

