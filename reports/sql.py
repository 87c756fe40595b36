"""SQL building blocks the report sections share: tallies of audit events, exact money, percentiles.

Every figure is an aggregate over the year's audit events (found through the (action, at) index)
joined to their case; nothing loads cases into Python.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import BigInteger, ColumnElement, String, and_, bindparam, case, cast, func, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from models import AuditEvent, Case, Department
from models.types import CENT
from reports.period import Period


@dataclass(frozen=True)
class Measure:
    """A figure counted (or summed, with value) over the year's events of some actions."""

    name: str
    actions: tuple[str, ...]
    when: ColumnElement[bool] | None = None
    value: ColumnElement | None = None  # an integer expression (e.g. cents) summed instead of counting
    money: bool = False

    def condition(self) -> ColumnElement[bool]:
        cond = AuditEvent.action.in_(self.actions)
        return cond if self.when is None else and_(cond, self.when)


def prepare(session: Session) -> None:
    """Set up the session's transaction for the report's queries (on PostgreSQL; SQLite needs nothing).

    - No JIT: the queries' estimated costs (a year of events) make PostgreSQL compile them to
      machine code first, which took longer than running them (0.3 to 1.9 s per query at 100,000
      cases).
    - 32 MB of work memory: the cycle times sort a year of step durations (about 110,000 at
      100,000 cases), which the default 4 MB spills to disk.
    SET LOCAL lasts until the transaction ends, so it changes nothing for other requests.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '32MB'"))


def cents(column) -> ColumnElement[int]:
    """Return a money column as whole cents, so that sums are exact on every database.

    A 64-bit integer: PostgreSQL's INTEGER stops at 2,147,483,647 cents, which one request of
    $21.5 million (amounts go up to a billion) would overflow, failing the whole report.
    """
    return cast(func.round(column * 100), BigInteger)


def money(total_cents: Any) -> Decimal:
    """Return a sum of cents as an amount with two decimals."""
    return (Decimal(int(total_cents or 0)) / 100).quantize(CENT)


def money_text(amount: Decimal) -> str:
    """Return an amount as the API writes money: "1250.00"."""
    return f"{amount.quantize(CENT):.2f}"


# The start and end of the report's period, bound by cube: for conditions and values that look
# back within the year, or at what stood at its end.
PERIOD_START = "period_start"
PERIOD_END = "period_end"

_written = aliased(AuditEvent)
# The steps that write a request's own fields: its creation and its owner's edits (each records
# what it set, under "data", so the trail replays the data).
_WRITES = ("create", "edit")


def _merging_steps() -> tuple[str, ...]:
    """Return the steps whose payload is merged into a request's data (provide_info, resubmit,
    recommend...): each records the fields it set at the top of its payload."""
    from workflows import registry

    return tuple(sorted({t.trigger for wf in registry.all_workflows() for t in wf.transitions
                         if t.merge_payload and t.payload is not None}))


class json_kind(FunctionElement):
    """The JSON type of the value at a path of a JSON column ('null' for a JSON null), or NULL
    where the document has no such key: an edit that emptied a field records it as null, which
    a plain read of the path cannot tell from a field the edit left alone."""

    type = String()
    inherit_cache = True
    name = "json_kind"
    # The path is written into the SQL, so it is part of the statement's cache key: two statements
    # that differ only in their path must not share one compiled form.
    _traverse_internals = FunctionElement._traverse_internals + [("path", InternalTraversal.dp_string_list)]

    def __init__(self, document: ColumnElement, path: tuple[str, ...]):
        if not all(part.isidentifier() for part in path):  # names from the code, written into the SQL
            raise ValueError(f"not a field name: {path!r}")
        self.path = path
        super().__init__(document)


@compiles(json_kind, "sqlite")
def _json_kind_sqlite(element: json_kind, compiler, **kw) -> str:
    return f"json_type({compiler.process(element.clauses, **kw)}, '$.{'.'.join(element.path)}')"


@compiles(json_kind, "postgresql")
def _json_kind_postgresql(element: json_kind, compiler, **kw) -> str:
    return f"jsonb_typeof({compiler.process(element.clauses, **kw)} #> '{{{','.join(element.path)}}}')"


def as_it_stood(field: str, current: ColumnElement, numeric: bool = False) -> ColumnElement:
    """Return a request's field as it stood at the end of the year: the last value its creation,
    an edit or a step that merges data into it (provide_info, resubmit) recorded before then, or,
    if none did, the case's own column (`current`).

    Read from the case, a request edited after the year (a relief request's amount and country
    revised on the office's request, a trip returned and sent to another organizer) moved a
    closed year's figures from one group to another. Looked up only for a case changed since the
    year ended (most were not), through the (chain, action, seq) index; bind PERIOD_END (cube does).
    """
    def read(path: tuple[str, ...]) -> ColumnElement:
        value = _written.payload[path]
        return value.as_numeric(14, 2) if numeric else value.as_string()

    if field == "goals":  # set by creation and edits only
        value, recorded, actions = read(("goals",)), json_kind(_written.payload, ("goals",)), _WRITES
    else:
        merging = _merging_steps()
        value = case((_written.action.in_(_WRITES), read(("data", field))), else_=read((field,)))
        recorded = case((_written.action.in_(_WRITES), json_kind(_written.payload, ("data", field))),
                        else_=json_kind(_written.payload, (field,)))
        actions = (*_WRITES, *merging)
    # The last event before the year's end that recorded the field, emptied (null) or not.
    last = (select(value)
            .where(_written.chain == AuditEvent.chain, _written.action.in_(actions),
                   _written.at < bindparam(PERIOD_END), recorded.is_not(None))
            .order_by(_written.seq.desc()).limit(1))
    return case((Case.updated_at < bindparam(PERIOD_END), current), (last.exists(), last.scalar_subquery()),
                else_=current)


_refiled = aliased(AuditEvent)


def department_as_it_stood() -> ColumnElement:
    """Return the id of the department a request was filed under at the end of the year: the
    department its first move after the year left (a draft sent on by an owner who had changed
    department meanwhile: its step's event records the move), or, if it moved no more, its own.

    Read from the case alone, a trip returned to its traveller in December and sent again in
    January from their new department moved a closed year's figures to that department. Looked
    up only for a case changed since the year ended; bind PERIOD_END (cube does).
    """
    moved = (select(_refiled.payload[("department", "from")].as_integer())
             .where(_refiled.case_id == Case.id, _refiled.at >= bindparam(PERIOD_END),
                    json_kind(_refiled.payload, ("department",)) == "object")
             .order_by(_refiled.seq).limit(1).scalar_subquery())
    return case((Case.updated_at < bindparam(PERIOD_END), Case.department_id),
                else_=func.coalesce(moved, Case.department_id))


def first_of(action: str, *, in_year: bool = False) -> ColumnElement[bool]:
    """Return the condition that an event is its case's first event of this action.

    With in_year, its first in the report's year (in a cube only): a step that may come again
    (a committee's deferral) then counts its case once in each year it happened.
    """
    earlier = aliased(AuditEvent)
    since = [earlier.at >= bindparam(PERIOD_START)] if in_year else []
    # Selecting seq (not *) lets SQLite answer from the (chain, action, seq) index alone.
    return ~select(earlier.seq).where(earlier.chain == AuditEvent.chain, earlier.action == action,
                                      earlier.seq < AuditEvent.seq, *since).exists()


def cube(session: Session, period: Period, workflow: str | None, measures: Iterable[Measure],
         *dims: ColumnElement, where: ColumnElement[bool] | None = None) -> dict[tuple, dict[str, int]]:
    """Return each measure's raw sum over the year's events (of one workflow, or all), per combination of dims.

    One pass over the events serves a total and every breakdown: roll it up with `totals` and `breakdown`.
    `where` narrows the events once for every measure (a condition in each measure is evaluated once per
    measure: a costly one that all share, such as first_of, belongs here).
    """
    measures = list(measures)
    # Each event's groups and figures first, then their sums: a group may be a subquery that reads
    # the event's row (as_it_stood), which PostgreSQL does not group by in the same SELECT.
    events = (select(*(dim.label(f"dim_{n}") for n, dim in enumerate(dims)),
                     *(case((m.condition(), m.value if m.value is not None else 1), else_=0).label(m.name)
                       for m in measures))
              .select_from(AuditEvent)
              .join(Case, Case.id == AuditEvent.case_id).join(Department, Department.id == department_as_it_stood())
              .where(AuditEvent.action.in_(sorted({a for m in measures for a in m.actions})),
                     AuditEvent.at >= period.start, AuditEvent.at < period.end))
    if workflow is not None:
        events = events.where(Case.workflow == workflow)
    if where is not None:
        events = events.where(where)
    events = events.subquery("events")
    groups = [events.c[f"dim_{n}"] for n in range(len(dims))]
    stmt = select(*groups, *(func.coalesce(func.sum(events.c[m.name]), 0).label(m.name) for m in measures))
    if groups:
        stmt = stmt.group_by(*groups)
    return {tuple(row[:len(dims)]): {m.name: int(v or 0) for m, v in zip(measures, row[len(dims):])}
            for row in session.execute(stmt, {PERIOD_START: period.start, PERIOD_END: period.end})}


def _finish(raw: dict[str, int], measures: Iterable[Measure]) -> dict[str, Any]:
    return {m.name: money(raw.get(m.name, 0)) if m.money else raw.get(m.name, 0) for m in measures}


def totals(rows: dict[tuple, dict[str, int]], measures: Iterable[Measure]) -> dict[str, Any]:
    """Return the measures summed over every group of a cube (money as amounts)."""
    measures = list(measures)
    summed = {m.name: sum(r[m.name] for r in rows.values()) for m in measures}
    return _finish(summed, measures)


NOT_GIVEN = "(not given)"


def group_key(value: Any) -> Any:
    """Return what a group is known by: requesters type countries and organizers, so "Turkey",
    "turkey" and "Turkey " are one group (letter case and spaces aside); codes are themselves."""
    if value is None:
        return NOT_GIVEN.casefold()
    return " ".join(value.split()).casefold() if isinstance(value, str) else value


def spelling(value: Any) -> Any:
    """Return a group's value as a report shows it (spaces tidied; none as "(not given)")."""
    return NOT_GIVEN if value is None else " ".join(value.split()) if isinstance(value, str) else value


def breakdown(rows: dict[tuple, dict[str, int]], measures: Iterable[Measure], index: int,
              label: str) -> list[dict[str, Any]]:
    """Return a cube rolled up on one of its dims, as rows named by `label`, omitting groups with no activity.

    Spellings of one group (`group_key`) are one row, named by the spelling counted most often.
    """
    measures = list(measures)
    counted = [m.name for m in measures if not m.money]
    groups: dict[Any, dict[str, int]] = {}
    spellings: dict[Any, dict[Any, int]] = {}
    for key, values in rows.items():
        group = group_key(key[index])
        into = groups.setdefault(group, dict.fromkeys(values, 0))
        for name, value in values.items():
            into[name] += value
        weights = spellings.setdefault(group, {})
        spelled = spelling(key[index])
        weights[spelled] = weights.get(spelled, 0) + sum(values[name] for name in counted)
    result = [{label: _most_used(spellings[key]), **_finish(values, measures)}
              for key, values in groups.items() if any(values[m.name] for m in measures)]
    return sorted(result, key=lambda r: str(r[label]).lower())


def _most_used(weights: dict[Any, int]) -> Any:
    return min(weights, key=lambda spelled: (-weights[spelled], str(spelled)))


def month_measures(period: Period, name: str, actions: tuple[str, ...],
                   when: ColumnElement[bool] | None = None) -> list[Measure]:
    """Return twelve measures counting events of some actions in each local month of the year.

    Add them to a section's cube to count by month in the same pass (their names: name_01 to name_12).
    """
    return [Measure(f"{name}_{i:02d}", actions,
                    and_(AuditEvent.at >= lo, AuditEvent.at < hi, *([when] if when is not None else [])))
            for i, (lo, hi) in enumerate(period.months(), start=1)]


def by_month(session: Session, period: Period, workflow: str, actions: tuple[str, ...],
             when: ColumnElement[bool] | None = None) -> list[int]:
    """Return the number of events of some actions in each local month of the year."""
    measures = month_measures(period, "m", actions, when)
    counts = totals(cube(session, period, workflow, measures), measures)
    return [counts[m.name] for m in measures]


def seconds_between(session: Session, later, earlier) -> ColumnElement[float]:
    """Return the seconds from one timestamp column to another, in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def quantile(values: list[float], q: float) -> float:
    """Return the q-quantile of sorted values by linear interpolation (as percentile_cont)."""
    pos = q * (len(values) - 1)
    low = int(pos)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (pos - low)


def percentiles(session: Session, keys: list[ColumnElement], seconds: ColumnElement,
                source) -> dict[tuple, tuple[int, float, float]]:
    """Return (count, median, 90th percentile) of `seconds` per key over a select's rows.

    PostgreSQL computes them with percentile_cont and returns one row per key. SQLite (3.40) has no
    percentile function, and ranking the rows with its window functions measured slower than
    sorting here: only the key and the duration of each row are streamed, and each key's
    durations are sorted and interpolated as percentile_cont does.
    """
    sub = source.add_columns(seconds.label("seconds")).subquery()
    key_cols = [sub.c[k.key] for k in keys]
    if session.get_bind().dialect.name == "postgresql":
        stmt = (select(*key_cols, func.count(), func.percentile_cont(0.5).within_group(sub.c.seconds),
                       func.percentile_cont(0.9).within_group(sub.c.seconds))
                .where(sub.c.seconds.is_not(None)).group_by(*key_cols))
        return {tuple(r[:-3]): (int(r[-3]), float(r[-2]), float(r[-1])) for r in session.execute(stmt)}
    groups: dict[tuple, list[float]] = {}
    for *key, value in session.execute(select(*key_cols, sub.c.seconds)):
        if value is not None:  # filtered here: in SQL it would evaluate the duration twice
            groups.setdefault(tuple(key), []).append(float(value))
    for values in groups.values():
        values.sort()
    return {k: (len(v), quantile(v, 0.5), quantile(v, 0.9)) for k, v in groups.items()}
