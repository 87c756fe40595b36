"""Registries of knock-out operators and computed-rating methods, and value coercion.

Knock-out rules are declarative data tested by small registered classes; no rule text
is ever passed to eval/exec.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MISSING = object()  # a field absent from the case data (distinct from an explicit None)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def as_decimal(value):
    """Return value as a finite Decimal, or None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None  # True must not count as 1
    # repr keeps the float 0.1 as 0.1 rather than its binary expansion
    text = repr(value) if isinstance(value, float) else value.strip() if isinstance(value, str) else value
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def number_hint(value, whole: bool = False) -> str:
    """Return what to write for a number YAML read as text, as " (YAML reads 1e3 as text: write
    1000 or 1.0e+3)", or "" when value is no such text: YAML 1.1's floats need a dot and a signed
    exponent, so "not a number" of 1e3 puzzled. whole: a whole number is wanted (no 1.0e+3)."""
    number = as_decimal(value) if isinstance(value, str) else None
    if number is None or (whole and number != number.to_integral_value()):
        return ""
    text = value.strip()
    if re.fullmatch(r"[-+]?[0-9][0-9_]*" + ("" if whole else r"(\.[0-9_]*)?"), text):
        return f" (in quotes, YAML reads {text} as text: write it without quotes)"  # (unquoted, a number)
    forms = [f"{number.normalize():f}"]
    exponent = re.fullmatch(r"([^eE]*)([eE])([-+]?)([0-9]+)", text)
    if exponent and not whole:
        mantissa = exponent[1] if "." in exponent[1] else f"{exponent[1]}.0"
        forms.append(f"{mantissa}{exponent[2]}{exponent[3] or '+'}{exponent[4]}")
    return f" (YAML reads {text} as text: write {' or '.join(forms)})"


def as_date(value):
    """Return value as a date, or None when it is not a YYYY-MM-DD date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value.strip()) if isinstance(value, str) and _DATE_RE.match(value.strip()) else None
    except ValueError:  # e.g. 2024-02-30
        return None


def same(a, b) -> bool:
    """Tell whether two values are equal as numbers, dates, booleans or text."""
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, bool) and isinstance(b, bool):
            return a == b
        flag, other = (a, b) if isinstance(a, bool) else (b, a)
        # form data often carries booleans as "true"/"false"
        return isinstance(other, str) and other.strip().lower() == str(flag).lower()
    da, db = as_decimal(a), as_decimal(b)
    if da is not None and db is not None:
        return da == db
    ta, tb = as_date(a), as_date(b)
    if ta is not None and tb is not None:
        return ta == tb
    return a == b or (a is not None and b is not None and str(a) == str(b))


def order(a, b):
    """Return -1, 0 or 1 comparing two numbers or two dates; None if incomparable."""
    for convert in (as_decimal, as_date):
        x, y = convert(a), convert(b)
        if x is not None and y is not None:
            return (x > y) - (x < y)
    return None


def resolve(field: str, data: dict, derived: dict | None = None):
    """Look a dotted field up in derived values first, then in the case data."""
    if derived and field in derived:
        return derived[field]
    current = data
    for part in field.split("."):
        if not isinstance(current, dict) or part not in current:
            return MISSING
        current = current[part]
    return current


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, Decimal, dt.date))


# ---------------------------------------------------------------- operators
class Operator:
    """Base operator class: validate the rule's value at load time, test it at run time."""

    needs_value = True

    @classmethod
    def validate_value(cls, value):
        """Raise ValueError when value is unusable with this operator."""
        if not _is_scalar(value):
            raise ValueError("must be a single value, not a list or mapping")

    @classmethod
    def test(cls, actual, value, context) -> bool:  # pragma: no cover - abstract
        """Return True when the actual value satisfies the rule."""
        raise NotImplementedError


OPERATORS: dict[str, type[Operator]] = {}


def register_operator(name):
    """Register an Operator subclass under name."""
    def decorate(cls):
        OPERATORS[name] = cls
        return cls
    return decorate


def _make(name, base, **attrs):
    # one-line variants (ne, not_in, le, ...) differ from their base only in a flag
    register_operator(name)(type(name.title().replace("_", ""), (base,), attrs))


class Eq(Operator):
    negate = False

    @classmethod
    def test(cls, actual, value, context):
        return actual is not MISSING and same(actual, value) != cls.negate


class Ordered(Operator):
    accepts = ()

    @classmethod
    def validate_value(cls, value):
        if as_decimal(value) is None and as_date(value) is None:
            raise ValueError("must be a number or a YYYY-MM-DD date")

    @classmethod
    def test(cls, actual, value, context):
        result = None if actual is MISSING else order(actual, value)
        return result is not None and result in cls.accepts


class In(Operator):
    negate = False

    @classmethod
    def validate_value(cls, value):
        if not isinstance(value, (list, tuple)) or not value or not all(_is_scalar(v) for v in value):
            raise ValueError("must be a non-empty list of single values")

    @classmethod
    def test(cls, actual, value, context):
        return actual is not MISSING and any(same(actual, v) for v in value) != cls.negate


@register_operator("contains")
class Contains(Operator):
    @classmethod
    def test(cls, actual, value, context):
        if isinstance(actual, (list, tuple, set, frozenset)):
            return any(same(item, value) for item in actual)
        return isinstance(actual, str) and str(value) in actual


class Present(Operator):
    needs_value = False
    negate = False

    @classmethod
    def test(cls, actual, value, context):
        filled = actual is not MISSING and actual not in (None, "", [], {})
        return filled != cls.negate


@register_operator("within_days")
class WithinDays(Operator):
    @classmethod
    def validate_value(cls, value):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("must be a whole number of days, 0 or more" + number_hint(value, whole=True))

    @classmethod
    def test(cls, actual, value, context):
        when = None if actual is MISSING else as_date(actual)
        # a future date is not "within N days before today": it is bad data
        return when is not None and 0 <= (context.today - when).days <= value


@register_operator("within_months")
class WithinMonths(Operator):
    """A date within the last N calendar months, today included: a disaster of 1 March 2023 is
    within 12 months of 1 March 2024, which 365 days are not (2024 is a leap year)."""

    @classmethod
    def validate_value(cls, value):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1200:
            raise ValueError("must be a whole number of months, 0 to 1200" + number_hint(value, whole=True))

    @classmethod
    def test(cls, actual, value, context):
        when = None if actual is MISSING else as_date(actual)
        return when is not None and months_before(context.today, value) <= when <= context.today


def months_before(day: dt.date, months: int) -> dt.date:
    """Return the day `months` calendar months before `day` (the month's last day where it is
    shorter: 12 months before 29 February 2024 is 28 February 2023)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


for _name, _base, _attrs in [
    ("eq", Eq, {}), ("ne", Eq, {"negate": True}), ("in", In, {}), ("not_in", In, {"negate": True}),
    ("present", Present, {}), ("absent", Present, {"negate": True}),
    ("lt", Ordered, {"accepts": (-1,)}), ("le", Ordered, {"accepts": (-1, 0)}),
    ("gt", Ordered, {"accepts": (1,)}), ("ge", Ordered, {"accepts": (1, 0)}),
]:
    _make(_name, _base, **_attrs)


# ---------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class Context:
    """Run-time inputs shared by every rule of one evaluation."""

    data: dict
    derived: dict | None
    today: dt.date


def plain(value):
    """Return a JSON-ready copy of a rule value (tuples to lists, dates to text)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# ---------------------------------------------------------------- computed methods
class MapMethod:
    """Rate a value by looking it up in a value -> rating table."""

    def prepare(self, raw) -> tuple:
        """Return the table as an immutable tuple of (value, rating) pairs."""
        if not raw:
            raise ValueError("must list at least one value")
        return tuple(raw.items())

    def rate(self, spec, actual):
        """Return the rating for actual, or None when no entry matches."""
        for key, rating in spec:
            if same(actual, key):
                return rating
        return None

    def to_data(self, spec):
        """Return a JSON-ready form (a list, because keys may be booleans)."""
        return sorted(([plain(k), r] for k, r in spec), key=repr)


class BandsMethod:
    """Rate a number by ascending bands: {from: n} lower bounds or {upto: n} upper bounds."""

    def prepare(self, raw) -> tuple:
        """Return bands as a tuple of (kind, bound, rating), refusing disorder."""
        if not raw:
            raise ValueError("must list at least one band")
        kinds = ["from" if "from_" in b else "upto" if "upto" in b else "above" for b in raw]
        if set(kinds) not in ({"from"}, {"upto"}, {"upto", "above"}):
            raise ValueError("use either 'from' bands or 'upto' bands (with a final catch-all)")
        out = []
        for i, (kind, band) in enumerate(zip(kinds, raw)):
            if kind == "above" and i != len(raw) - 1:
                raise ValueError(f"band {i}: only the last band may be a catch-all")
            bound = band.get("from_", band.get("upto"))
            if out and bound is not None and bound <= out[-1][1]:
                raise ValueError(f"band {i}: bands must be in ascending order ({bound} after {out[-1][1]})")
            out.append((kind, bound, band["rating"]))
        return tuple(out)

    def rate(self, spec, actual):
        """Return the rating of the band holding actual, or None."""
        number, result = as_decimal(actual), None
        for kind, bound, rating in spec:
            if number is None:
                break
            if kind == "from" and number >= bound:
                result = rating  # keep climbing: the highest matching lower bound wins
            elif kind == "above" or (kind == "upto" and number <= bound):
                return rating
        return result

    def to_data(self, spec):
        """Return a JSON-ready list of bands."""
        return [{kind: (str(bound) if bound is not None else True), "rating": r} for kind, bound, r in spec]


METHODS = {"map": MapMethod(), "bands": BandsMethod()}
