"""Charts of the annual report, drawn on the server as SVG with matplotlib.

Each chart is embedded as a data: URI in an <img> with a text alternative (the page's CSP allows
images from data: but no inline style, which matplotlib's SVG carries), and is followed on the
page by the table of its data.
"""
from __future__ import annotations

import base64
import calendar
import io
from dataclasses import dataclass
from decimal import Decimal

from reports.annual import sections
from workflows.goals import GOALS

BRAND, SECOND, INK = "#0b3d6b", "#b26b00", "#1b1f24"


@dataclass(frozen=True)
class Drawn:
    """A chart ready for a page: its image, its text alternative and its data."""

    name: str
    title: str
    uri: str
    alt: str
    unit: str
    points: list[tuple[str, float]]
    second: list[float] | None = None  # a second series (the 90th percentile of cycle times)
    series: tuple[str, str] = ("", "")


def _number(value) -> float:
    # Plotting needs a float for the bar's length; the figures shown as text stay exact.
    return float(value) if isinstance(value, Decimal) else value


def _svg(points: list[tuple[str, float]], unit: str, horizontal: bool, second: list[float] | None = None,
         series: tuple[str, str] = ("", "")) -> str:
    # Imported here, not at start: matplotlib and numpy add about 60 MB to every worker, and only
    # the report page and its PDF draw charts.
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    # Text stays text (not glyph outlines): a smaller file, quicker to typeset, and selectable. A
    # label is what a requester typed (a country): read as text, never as mathtext between two "$"
    # (a malformed one failed the whole report). Each text reads the setting when made: all inside.
    with rc_context({"svg.fonttype": "none", "text.parse_math": False}):
        labels = [label for label, _ in points]
        values = [_number(v) for _, v in points]
        height = max(2.6, 0.34 * len(points) + 1.0) if horizontal else 3.0
        fig = Figure(figsize=(7.2, height), dpi=96)
        ax = fig.subplots()
        positions = list(range(len(points)))
        width = 0.4 if second else 0.7
        shift = width / 2 if second else 0
        draw = ax.barh if horizontal else ax.bar
        bars = draw([p - shift for p in positions], values, width, color=BRAND, label=series[0] or None)
        counts = all(isinstance(v, int) for v in values)
        if not second:  # two series of labels would crowd the chart; the table gives the values
            ax.bar_label(bars, fmt="{:,.0f}" if counts or max(values) >= 10 else "{:,.1f}", fontsize=8, color=INK,
                         padding=2)
        else:
            draw([p + shift for p in positions], second, width, color=SECOND, label=series[1])
            ax.legend(fontsize=8, frameon=False, loc="lower right")  # "best" would search, slowly
        if counts:
            (ax.xaxis if horizontal else ax.yaxis).set_major_locator(MaxNLocator(integer=True))
        if horizontal:
            ax.set_yticks(positions, labels, fontsize=8)
            ax.invert_yaxis()
            ax.set_xlabel(unit)
        else:
            ax.set_xticks(positions, labels, fontsize=8)
            ax.set_ylabel(unit)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


#: A month as a sentence reads it ("July"), not as an axis abbreviates it ("Jul").
_MONTHS = dict(zip(calendar.month_abbr[1:], calendar.month_name[1:]))


def _alt(title: str, points: list[tuple[str, float]], unit: str) -> str:
    top = max(value for _, value in points)
    tops = [_MONTHS.get(label, label) for label, value in points if value == top]
    value = Decimal(str(top))  # the figure as text, exact (the bars alone are drawn with floats)
    if unit == "dollars":
        amount = f"${value:,.2f}"
    else:
        one = unit[:-1] if value == 1 and unit.endswith("s") else unit
        amount = f"{int(value):,} {one}" if value == value.to_integral_value() else f"{value:,.1f} {unit}"
    if len(tops) == 1:
        largest = f"The largest is {tops[0]} with {amount}."
    else:  # a tie: every one of them, not the first alone as if it stood out
        shown = tops if len(tops) <= 4 else [*tops[:3], f"{len(tops) - 3} others"]
        largest = f"The largest, with {amount} each, are {', '.join(shown[:-1])} and {shown[-1]}."
    return f"Bar chart: {title}. {largest} The table after the chart gives every value."


def draw(name: str, title: str, points: list[tuple[str, float]], unit: str, horizontal: bool = False,
         second: list[float] | None = None, series: tuple[str, str] = ("", "")) -> Drawn | None:
    """Return a drawn chart, or None when there is nothing to plot."""
    if not points or not any(v for _, v in points):
        return None
    svg = _svg(points, unit, horizontal, second, series)
    return Drawn(name, title, _uri(svg), _alt(title, points, unit), unit, points, second, series)


def _workflow_title(name: str) -> str:
    """Return a workflow as the pages name it ("Travel request"), not by its id."""
    from workflows import registry

    wf = registry.get(name)
    return wf.title if wf is not None else name


def report_charts(report: dict) -> dict[str, Drawn | None]:
    """Return every chart of a report by name: the sections' own, then cycle times and goals."""
    charts: dict[str, Drawn | None] = {}
    for section in sections():
        for c in section.charts:
            charts[c.name] = draw(c.name, c.title, c.points(report[section.name]), c.unit, c.horizontal)
    steps = [(f"{_workflow_title(wf)}: {s['label']}", s) for wf, items in report["cycle_times"].items() for s in items]
    charts["cycle_times"] = draw(
        "cycle_times", "Time taken by each workflow step (days)",
        [(label, round(s["median_hours"] / 24, 1)) for label, s in steps], "days", horizontal=True,
        second=[round(s["p90_hours"] / 24, 1) for _, s in steps], series=("median", "90th percentile"))
    charts["goals"] = draw("goals", "Requests submitted per goal",
                           [(GOALS.get(goal, goal), n) for goal, n in report["goals"].items()], "requests",
                           horizontal=True)
    return charts
