"""Pure scoring functions: computed ratings, knock-outs, percent and aggregation."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from .rules import MISSING, Context, as_decimal, resolve

CENT = Decimal("0.01")
DISAGREEMENT_SPREAD = 3  # reviewers this far apart on one criterion should talk it over


@dataclass(frozen=True)
class Aggregate:
    percent: Decimal | None
    recommendation: str | None
    eligible: bool
    reasons: list[str] = field(default_factory=list)
    breakdown: list[dict] = field(default_factory=list)
    disagreement: list[str] = field(default_factory=list)
    complete: bool = False


def _value(rating, floor: int) -> Fraction:
    """Return a rating (or a mean of ratings) exactly; a missing rating counts as the scale minimum."""
    if isinstance(rating, Fraction):
        return rating
    number = as_decimal(rating)
    return Fraction(floor) if number is None else Fraction(number)


def _cents(value: Fraction) -> Decimal:
    """Return an exact figure rounded to the cent, half up (figures are never negative). Means
    are kept as fractions until here: 20.625, from a mean of 11/6 weighted, rounded to 28 digits
    first, came out at 20.62."""
    return (Decimal(math.floor(value * 100 + Fraction(1, 2))) / 100).quantize(CENT)


def _computed(cset, data: dict, derived: dict | None) -> tuple[dict, list[str]]:
    ratings, notes = {}, []
    for crit in cset.criteria:
        if crit.kind != "computed":
            continue
        actual = resolve(crit.field, data, derived)
        if actual is MISSING or actual is None or actual == "":
            ratings[crit.id] = None
            notes.append(f"criterion '{crit.id}' could not be computed: '{crit.field}' is missing")
            continue
        ratings[crit.id] = crit.rate(actual)
        if ratings[crit.id] is None:
            notes.append(f"criterion '{crit.id}' could not be computed: no rating for {crit.field} = {actual!r}")
    return ratings, notes


def compute(cset, data: dict, derived: dict | None = None) -> dict[str, int | None]:
    """Rate every computed criterion from the case data (None when the field is missing)."""
    return _computed(cset, data, derived)[0]


def check_eligibility(cset, data: dict, derived: dict | None = None, today: date | None = None) -> list[str]:
    """Return the messages of the knock-out rules the case fails."""
    ctx = Context(data=data, derived=derived, today=today or date.today())
    return [knock.message for knock in cset.eligibility if not knock.rule.holds(ctx)]


def _share(cset, weight: Decimal, value: Fraction) -> Fraction:
    total = sum(Fraction(c.weight) for c in cset.criteria)
    return Fraction(weight) * value * 100 / (cset.scale_max * total)


def percent(cset, ratings: dict) -> Decimal:
    """Return the weighted score Σwr / (max·Σw) · 100 over all criteria, to 0.01."""
    # Exact to the end, rounded once: a weight's scaling or a mean's digits cannot move the result.
    weighted = sum((Fraction(c.weight) * _value(ratings.get(c.id), cset.scale_min) for c in cset.criteria),
                   Fraction(0))
    total = sum((Fraction(c.weight) for c in cset.criteria), Fraction(0))
    return _cents(weighted * 100 / (cset.scale_max * total))


#: What each recommendation says, as the pages write it.
RECOMMENDATION_LABELS = {"approve": "approve", "review": "needs a closer look (between the thresholds, or a "
                         "criterion under its minimum)", "decline": "decline",
                         "ineligible": "ineligible (an eligibility rule is not met)"}


def recommend(cset, pct: Decimal, eligible: bool = True, below_min: bool = False) -> str:
    """Map a percent to approve/review/decline, capped by knock-outs and minimums."""
    if not eligible:
        return "ineligible"
    if pct >= cset.thresholds.approve:
        verdict = "approve"
    elif pct < cset.thresholds.decline:
        verdict = "decline"
    else:
        verdict = "review"
    # a criterion under its floor needs a human look, but must not rescue a decline
    return "review" if below_min and verdict == "approve" else verdict


def disagreement(cset, reviews: list[dict]) -> list[str]:
    """Return the rated criteria on which the reviews lie DISAGREEMENT_SPREAD points apart or more."""
    found = []
    for cid in cset.rated_ids:
        given = [v for r in reviews if (v := as_decimal(r.get(cid))) is not None]
        if given and max(given) - min(given) >= DISAGREEMENT_SPREAD:
            found.append(cid)
    return found


def _figure(value: Fraction) -> str:
    """Return a rating or a mean as read: 2, 2.5, 2.33."""
    return f"{_cents(value):f}".rstrip("0").rstrip(".")


def aggregate(cset, reviews: list[dict], data: dict, derived: dict | None = None,
              today: date | None = None) -> Aggregate:
    """Combine non-recused reviewers' ratings with computed ratings into one verdict."""
    failed = check_eligibility(cset, data, derived, today)
    values, notes = _computed(cset, data, derived)
    for cid in cset.rated_ids:
        given = [v for r in reviews if (v := as_decimal(r.get(cid))) is not None]
        values[cid] = sum(map(Fraction, given), Fraction(0)) / len(given) if given else None
    below = []
    for crit in cset.criteria:
        if crit.min is None or (crit.kind == "rated" and not reviews):
            continue  # nothing rated yet: no floor to miss
        if (value := _value(values[crit.id], cset.scale_min)) < crit.min:
            # By the label the page shows beside its rating, not the criteria file's id.
            below.append(f"{crit.label}: {_figure(value)}, below its minimum of {crit.min}")
    breakdown = [{
        "id": c.id, "label": c.label, "kind": c.kind, "weight": c.weight,
        "value": None if values[c.id] is None else _cents(_value(values[c.id], 0)),
        "contribution": _cents(_share(cset, c.weight, _value(values[c.id], cset.scale_min))),
    } for c in cset.criteria]
    pct = percent(cset, values) if reviews else None
    return Aggregate(
        percent=pct,
        # A knock-out decides without any rating: ineligible, even when every reviewer recused.
        recommendation=recommend(cset, pct, not failed, bool(below)) if reviews or failed else None,
        eligible=not failed,
        reasons=failed + below + notes,
        breakdown=breakdown,
        disagreement=disagreement(cset, reviews),
        complete=any(all(as_decimal(r.get(cid)) is not None for cid in cset.rated_ids) for r in reviews),
    )


def score_one(cset, ratings: dict, data: dict, derived: dict | None = None, today: date | None = None) -> dict:
    """Score one reviewer's ratings: their ratings, computed ones, percent, recommendation."""
    agg = aggregate(cset, [ratings], data, derived, today)
    return {
        "ratings": {cid: ratings.get(cid) for cid in cset.rated_ids},
        "computed": compute(cset, data, derived),
        "percent": agg.percent,
        "recommendation": agg.recommendation,
    }


def validate_ratings(cset, ratings) -> dict[str, list[str]]:
    """Return field errors for one reviewer's ratings (empty dict when valid)."""
    if not isinstance(ratings, dict):
        return {"_schema": ["ratings must be a mapping of criterion id to rating"]}
    errors: dict[str, list[str]] = {}
    kinds = {c.id: c.kind for c in cset.criteria}
    lo, hi = cset.scale_min, cset.scale_max
    for key, value in ratings.items():
        if key not in kinds:
            errors[str(key)] = ["unknown criterion"]
        elif kinds[key] == "computed":
            errors[key] = ["computed from the case data; it cannot be rated"]
        elif value is None:
            continue  # reported as missing below
        elif isinstance(value, bool) or not isinstance(value, int):
            errors[key] = ["must be an integer"]
        elif not lo <= value <= hi:
            errors[key] = [f"must be between {lo} and {hi}"]
    for cid in cset.rated_ids:
        if ratings.get(cid) is None:
            errors[cid] = [f"Rate it from {lo} to {hi}, or declare a conflict of interest."]
    return errors
