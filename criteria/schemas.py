"""Marshmallow 4 schemas for criteria-set YAML files (unknown keys are refused)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from .rules import METHODS, OPERATORS, Context, as_date, as_decimal, number_hint, plain, resolve, same

# \Z, not $: "relevance\n" is not an id ($ matches before a final line break).
IDENT = validate.Regexp(r"^[a-z][a-z0-9_]*\Z", error="must be a lowercase identifier (a-z, 0-9, _)")
#: The longest criterion id: as long as a score's ratings may name (api/scores.py).
ID_LENGTH = 60
#: The widest rating scale: a reviewer picks a rating among its points, one radio button each.
SCALE_POINTS = 10
#: The largest version a score can record (its column is a 32-bit integer on PostgreSQL).
MAX_VERSION = 2**31 - 1
#: The deepest a knock-out's rule may nest (all, any, when and then within each other): loading it
#: and each eligibility check recurse a level a time, and a rule written by hand is never this deep.
RULE_DEPTH = 20
KINDS = ("rated", "computed")
#: C0 control characters but tab and line feed: no page shows them, and PostgreSQL's JSONB, where a
#: decision keeps its criteria's labels (cases.score_at_decision), cannot store a NUL at all.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
PERCENT = validate.Range(min=0, max=100, error="must be a percent within 0..100")


class DecimalNumber(fields.Field):
    """A number loaded as Decimal; text and booleans are refused so YAML typos surface."""

    default_error_messages = {"invalid": "Not a number."}

    def _deserialize(self, value, attr, data, **kwargs):
        number = None if isinstance(value, str) else as_decimal(value)
        if number is None:
            hint = number_hint(value)
            raise ValidationError(f"not a number{hint}") if hint else self.make_error("invalid")
        return number


class WholeNumber(fields.Integer):
    """An integer, strictly (1.0 and "1" are refused), saying what to write for one YAML read as
    text (1e3)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        hint = number_hint(value, whole=True)
        if hint:
            raise ValidationError(f"not a valid integer{hint}")
        return super()._deserialize(value, attr, data, **kwargs)


def _control_fault(text) -> str | None:
    """Return why a text cannot be kept (a control character, named by its code point and place),
    or None."""
    found = CONTROL.search(text) if isinstance(text, str) else None
    return found and f"holds a control character (U+{ord(found[0]):04X}, character {found.start() + 1}); remove it"


def _printable(value):
    """Refuse a text, or a list of texts, holding a control character."""
    for text in value if isinstance(value, (list, tuple)) else [value]:
        fault = _control_fault(text)
        if fault:
            raise ValidationError(fault)


def _one_of_kinds(value):
    if value not in KINDS:
        raise ValidationError(f"unknown kind '{value}'; use one of: {', '.join(KINDS)}")


def _known_operator(value):
    # read the registry at call time so operators registered later are accepted
    if value not in OPERATORS:
        raise ValidationError(f"unknown operator '{value}'; use one of: {', '.join(sorted(OPERATORS))}")


class ScaleSchema(Schema):
    min = WholeNumber(load_default=0)
    max = WholeNumber(load_default=5)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["max"] - data["min"] > SCALE_POINTS:
            raise ValidationError(f"a scale spans at most {SCALE_POINTS} points (a reviewer picks one); "
                                  f"{data['min']} to {data['max']} spans {data['max'] - data['min']}")
        if data["min"] >= data["max"]:
            raise ValidationError(f"min ({data['min']}) must be below max ({data['max']})")
        if data["min"] < 0:
            # A percentage is the weighted ratings over the most they could be: from 0 up.
            raise ValidationError(f"min ({data['min']}) must be 0 or more")


class BandSchema(Schema):
    from_ = DecimalNumber(data_key="from")
    upto = DecimalNumber()
    above = fields.Boolean()
    rating = WholeNumber(required=True)

    @validates_schema
    def _one_bound(self, data, **kwargs):
        bounds = [k for k in ("from_", "upto") if k in data]
        if len(bounds) > 1 or (bounds and "above" in data):
            raise ValidationError("a band takes one of 'from', 'upto' or 'above'")
        if data.get("above") is False:
            raise ValidationError({"above": ["must be true (or left out) on the catch-all band"]})


class CriterionSchema(Schema):
    id = fields.String(required=True, validate=[IDENT, validate.Length(max=ID_LENGTH)])
    label = fields.String(required=True, validate=[validate.Length(min=1), _printable])
    help = fields.String(load_default="", validate=_printable)
    weight = DecimalNumber(required=True, validate=validate.Range(min=0, min_inclusive=False))
    kind = fields.String(required=True, validate=_one_of_kinds)
    min = WholeNumber(load_default=None)
    field = fields.String(validate=[validate.Length(min=1), _printable])
    map = fields.Dict(keys=fields.Raw(allow_none=True), values=WholeNumber())
    bands = fields.List(fields.Nested(BandSchema))
    default = WholeNumber()

    @validates_schema
    def _kind_rules(self, data, **kwargs):
        extras = [k for k in ("field", "default", *METHODS) if k in data]
        if data["kind"] == "rated":
            if extras:
                raise ValidationError({k: ["not allowed on a rated criterion"] for k in extras})
            return
        errors = {}
        if "field" not in data:
            errors["field"] = ["required for a computed criterion"]
        methods = [m for m in METHODS if m in data]
        if len(methods) != 1:
            errors["kind"] = [f"a computed criterion needs exactly one of: {', '.join(METHODS)}"]
        for name in methods:
            try:
                METHODS[name].prepare(data[name])
            except ValueError as exc:
                errors[name] = [str(exc)]
        for key in data.get("map") or {}:
            fault = _control_fault(key)
            if fault:
                errors.setdefault("map", []).append(f"key {key!r} {fault}")
        if errors:
            raise ValidationError(errors)


# ---------------------------------------------------------------- immutable rule tree
@dataclass(frozen=True)
class Check:
    """A comparison of one case field against a value."""

    field: str
    op: str
    value: object = None

    def holds(self, ctx: Context) -> bool:
        """Return True when the case satisfies this comparison."""
        actual = resolve(self.field, ctx.data, ctx.derived)
        return OPERATORS[self.op].test(actual, self.value, ctx)

    def fields(self):
        """Return every field this rule reads."""
        return (self.field,)

    def checks(self):
        """Return every comparison of the rule (itself)."""
        return (self,)

    def to_dict(self):
        """Return the rule as plain YAML-shaped data."""
        out = {"field": self.field, "op": self.op}
        if OPERATORS[self.op].needs_value:
            out["value"] = plain(self.value)
        return out


@dataclass(frozen=True)
class Group:
    """All (or any) of several rules must hold."""

    key: str  # "all" or "any"
    rules: tuple

    def holds(self, ctx):
        return (all if self.key == "all" else any)(r.holds(ctx) for r in self.rules)

    def fields(self):
        return tuple(f for r in self.rules for f in r.fields())

    def checks(self):
        return tuple(c for r in self.rules for c in r.checks())

    def to_dict(self):
        return {self.key: [r.to_dict() for r in self.rules]}


@dataclass(frozen=True)
class WhenThen:
    """If `when` holds, `then` must hold; otherwise the rule passes."""

    when: object
    then: object

    def holds(self, ctx):
        return not self.when.holds(ctx) or self.then.holds(ctx)

    def fields(self):
        return self.when.fields() + self.then.fields()

    def checks(self):
        return self.when.checks() + self.then.checks()

    def to_dict(self):
        return {"when": self.when.to_dict(), "then": self.then.to_dict()}


class RuleSchema(Schema):
    field = fields.String(validate=[validate.Length(min=1), _printable])
    op = fields.String(validate=_known_operator)
    value = fields.Raw(allow_none=True, validate=_printable)
    all_ = fields.List(fields.Nested(lambda: RuleSchema()), data_key="all", validate=validate.Length(min=1))
    any_ = fields.List(fields.Nested(lambda: RuleSchema()), data_key="any", validate=validate.Length(min=1))
    when = fields.Nested(lambda: RuleSchema())
    then = fields.Nested(lambda: RuleSchema())

    @validates_schema
    def _one_form(self, data, **kwargs):
        forms = [bool({"field", "op", "value"} & data.keys()), "all_" in data, "any_" in data,
                 bool({"when", "then"} & data.keys())]
        if sum(forms) != 1:
            raise ValidationError("a rule is exactly one of: {field, op, value}, {all}, {any}, {when, then}")
        if forms[3]:
            missing = {"when", "then"} - data.keys()
            if missing:
                raise ValidationError({k: ["required with when/then"] for k in missing})
        if forms[0]:
            self._check_comparison(data)

    @post_load
    def _build(self, data, **kwargs):
        # nested rules arrive already built, so each level only wraps its children
        for key in ("all", "any"):
            if key + "_" in data:
                return Group(key, tuple(data[key + "_"]))
        if "when" in data:
            return WhenThen(data["when"], data["then"])
        value = data.get("value")
        return Check(data["field"], data["op"], tuple(value) if isinstance(value, list) else value)

    @staticmethod
    def _check_comparison(data):
        missing = {"field", "op"} - data.keys()
        if missing:
            raise ValidationError({k: ["Missing data for required field."] for k in sorted(missing)})
        operator = OPERATORS[data["op"]]
        if not operator.needs_value:
            if data.get("value") is not None:
                raise ValidationError({"value": [f"operator '{data['op']}' takes no value"]})
            return
        if "value" not in data:
            raise ValidationError({"value": [f"required for operator '{data['op']}'"]})
        try:
            operator.validate_value(data["value"])
        except ValueError as exc:
            raise ValidationError({"value": [str(exc)]}) from None


def rule_depth(raw) -> int:
    """Return how many rules deep a rule as written nests, counted without recursion: a rule too
    deep for Python's stack is to be refused, not to overflow it."""
    deepest, stack = 0, [(raw, 1)]
    while stack:
        rule, depth = stack.pop()
        if not isinstance(rule, Mapping):
            continue  # (not a rule: RuleSchema says so)
        deepest = max(deepest, depth)
        inner = [r for key in ("all", "any") if isinstance(rule.get(key), list) for r in rule[key]]
        stack += [(r, depth + 1) for r in inner + [rule.get("when"), rule.get("then")]]
    return deepest


class RuleField(fields.Nested):
    """A knock-out's rule, refused when it nests deeper than RULE_DEPTH before RuleSchema, which
    recurses, reads it."""

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        depth = rule_depth(value)
        if depth > RULE_DEPTH:
            raise ValidationError(f"nested {depth} rules deep; a rule nests at most {RULE_DEPTH} "
                                  "(all, any, when and then within each other)")
        return super()._deserialize(value, attr, data, partial=partial, **kwargs)


class KnockOutSchema(Schema):
    id = fields.String(required=True, validate=IDENT)
    message = fields.String(required=True, validate=[validate.Length(min=1), _printable])
    rule = RuleField(RuleSchema, required=True)


class ThresholdsSchema(Schema):
    approve = DecimalNumber(required=True, validate=PERCENT)
    decline = DecimalNumber(required=True, validate=PERCENT)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["decline"] > data["approve"]:
            raise ValidationError(
                f"out of order: decline ({data['decline']}) is above approve ({data['approve']})")


@dataclass(frozen=True)
class FieldKind:
    """What a criteria file may compare a field of a workflow's data with: its kind ("date",
    "number", "text", "list", "bool", or "any" when not known) and, when the schema restricts
    them, the values it (or, for a list, each item) may hold."""

    kind: str = "any"
    choices: frozenset | None = None


def _text(value) -> str:
    return repr(plain(value))


def _value_faults(value, kind: FieldKind) -> list[str]:
    """Return why a value can never equal a field of this kind (empty if it can). As the rules
    compare at run time (`same`): null matches a field left empty, and "true" a true."""
    if value is None:
        return []
    if kind.choices is not None and not any(same(value, choice) for choice in kind.choices):
        return [f"{_text(value)} is not one of its values ({', '.join(sorted(map(str, kind.choices)))})"]
    if kind.kind == "number" and as_decimal(value) is None:
        return [f"{_text(value)} is not a number"]
    if kind.kind == "date" and as_date(value) is None:
        return [f"{_text(value)} is not a YYYY-MM-DD date"]
    if kind.kind == "bool" and not (isinstance(value, bool) or same(value, True) or same(value, False)):
        return [f"{_text(value)} is not true or false"]
    return []


def check_faults(check: "Check", kind: FieldKind) -> list[str]:
    """Return why a rule's comparison cannot work with the field it reads: a value the field can
    never hold, a date rule on a number, a comparison of a date with a count (empty when fine)."""
    if kind.kind == "any":
        return []
    op = check.op
    if op in ("within_days", "within_months"):
        return [] if kind.kind == "date" else [f"{op} needs a date field; this one is a {kind.kind}"]
    if op in ("lt", "le", "gt", "ge"):
        if kind.kind not in ("number", "date"):
            return [f"{op} compares numbers or dates; this field is a {kind.kind}"]
        return _value_faults(check.value, FieldKind(kind.kind))
    if op == "contains":  # an item of a list, or a part of a text
        if kind.kind == "text":
            return []
        if kind.kind != "list":
            return [f"contains needs a list or text field; this one is a {kind.kind}"]
        return _value_faults(check.value, FieldKind("any", kind.choices))
    if op in ("eq", "ne", "in", "not_in") and kind.kind == "list":
        # The whole list is compared with one value: eq and in never hold, ne and not_in always.
        return [f"{op} compares the whole list with one value; use contains for an item of it"]
    if op in ("eq", "ne"):
        return _value_faults(check.value, kind)
    if op in ("in", "not_in"):
        return [f for v in check.value for f in _value_faults(v, kind)]
    return []


def method_faults(method: str, spec, kind: FieldKind) -> list[str]:
    """Return why a computed criterion's table cannot rate the field it reads (empty when fine)."""
    if kind.kind == "any":
        return []
    if method == "bands":
        return [] if kind.kind == "number" else [f"bands rate a number; this field is a {kind.kind}"]
    if kind.kind == "list":
        return ["a map rates one value; this field is a list, which no key matches"]
    pairs = spec.items() if isinstance(spec, Mapping) else spec
    return [f"key {fault}" for key, _rating in pairs for fault in _value_faults(key, kind)]


class CriteriaSetSchema(Schema):
    version = WholeNumber(required=True, validate=validate.Range(min=1, max=MAX_VERSION))
    workflow = fields.String(required=True, validate=IDENT)
    scale = fields.Nested(ScaleSchema, load_default=lambda: {"min": 0, "max": 5})
    criteria = fields.List(fields.Nested(CriterionSchema), required=True, validate=validate.Length(min=1))
    eligibility = fields.List(fields.Nested(KnockOutSchema), load_default=list)
    thresholds = fields.Nested(ThresholdsSchema, required=True)

    def __init__(self, *, known_fields: set[str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.known_fields = known_fields

    @validates_schema
    def _cross_checks(self, data, **kwargs):
        errors: dict = {}

        def add(section, index, key, message):
            errors.setdefault(section, {}).setdefault(index, {}).setdefault(key, []).append(message)

        lo, hi = data["scale"]["min"], data["scale"]["max"]
        for section in ("criteria", "eligibility"):
            seen = set()
            for i, item in enumerate(data[section]):
                if item["id"] in seen:
                    add(section, i, "id", f"duplicate id '{item['id']}'")
                seen.add(item["id"])
        for i, crit in enumerate(data["criteria"]):
            if crit["min"] is not None and not lo <= crit["min"] <= hi:
                add("criteria", i, "min", f"{crit['min']} is outside the scale {lo}..{hi}")
            for name in METHODS:
                if name in crit:
                    # every prepared entry ends with its rating
                    bad = sorted({e[-1] for e in METHODS[name].prepare(crit[name]) if not lo <= e[-1] <= hi})
                    if bad:
                        add("criteria", i, name, f"ratings {bad} are outside the scale {lo}..{hi}")
            if "default" in crit and not lo <= crit["default"] <= hi:
                add("criteria", i, "default", f"{crit['default']} is outside the scale {lo}..{hi}")
            if self.known_fields is not None and "field" in crit and crit["field"] not in self.known_fields:
                add("criteria", i, "field", self._unknown(crit["field"], data["workflow"]))
            elif isinstance(self.known_fields, Mapping) and "field" in crit:
                for name in METHODS:
                    if name in crit:
                        for fault in method_faults(name, crit[name], self.known_fields[crit["field"]]):
                            add("criteria", i, name, f"field '{crit['field']}': {fault}")
        if self.known_fields is not None:
            for i, knock in enumerate(data["eligibility"]):
                for name in knock["rule"].fields():
                    if name not in self.known_fields:
                        add("eligibility", i, "rule", self._unknown(name, data["workflow"]))
                if isinstance(self.known_fields, Mapping):
                    for check in knock["rule"].checks():
                        if check.field in self.known_fields:
                            for fault in check_faults(check, self.known_fields[check.field]):
                                add("eligibility", i, "rule", f"field '{check.field}': {fault}")
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _unknown(name, workflow):
        return f"field '{name}' is not a known field of the {workflow} workflow"

