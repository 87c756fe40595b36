"""Load criteria-set YAML files into immutable, digest-stamped CriteriaSet objects."""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import yaml
from marshmallow import ValidationError

from .rules import METHODS
from .schemas import CriteriaSetSchema


class CriteriaError(ValueError):
    """A criteria file is malformed; `errors` holds one sentence per fault."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def _number(value: Decimal):
    """Return an int for whole Decimals, else a float, for the JSON API shape."""
    return int(value) if value == value.to_integral_value() else float(value)


def _text(value: Decimal) -> str:
    # 20 and 20.0 must digest alike, so normalise before printing
    return f"{value.normalize():f}"


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    help: str
    weight: Decimal
    kind: str
    min: int | None = None
    field: str | None = None
    method: str | None = None
    spec: tuple = ()
    default: int | None = None

    def rate(self, actual):
        """Return the computed rating for a looked-up value (None if unmatched)."""
        rating = METHODS[self.method].rate(self.spec, actual)
        return self.default if rating is None else rating

    def to_dict(self, full: bool = False) -> dict:
        """Return the API shape; full=True adds the computation for digesting."""
        out = {"id": self.id, "label": self.label, "help": self.help,
               "weight": _text(self.weight) if full else _number(self.weight), "kind": self.kind}
        if self.min is not None:
            out["min"] = self.min
        if self.field is not None:
            out["field"] = self.field
        if full and self.method:
            out[self.method] = METHODS[self.method].to_data(self.spec)
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class KnockOut:
    id: str
    message: str
    rule: object


@dataclass(frozen=True)
class Thresholds:
    approve: Decimal
    decline: Decimal


@dataclass(frozen=True)
class CriteriaSet:
    workflow: str
    version: int
    scale_min: int
    scale_max: int
    criteria: tuple
    eligibility: tuple
    thresholds: Thresholds
    digest: str = field(default="", compare=False)

    @property
    def scale_labels(self) -> dict[int, str]:
        """Return each point of the rating scale as a radio button names it: "3 good"."""
        words = dict(enumerate(("not addressed", "poor", "fair", "good", "very good", "excellent"))) \
            if (self.scale_min, self.scale_max) == (0, 5) else {self.scale_min: "lowest", self.scale_max: "highest"}
        return {v: f"{v} {words[v]}" if v in words else str(v) for v in range(self.scale_min, self.scale_max + 1)}

    @property
    def scale_hint(self) -> str:
        """Return what the points of the rating scale mean, for the person rating."""
        if (self.scale_min, self.scale_max) == (0, 5):
            return "0 not addressed · 1 poor · 2 fair · 3 good · 4 very good · 5 excellent"
        return f"{self.scale_min} is the lowest rating and {self.scale_max} the highest"

    @property
    def rated_ids(self) -> tuple[str, ...]:
        """Return the ids reviewers rate by hand, in file order."""
        return tuple(c.id for c in self.criteria if c.kind == "rated")

    @property
    def computed_ids(self) -> tuple[str, ...]:
        """Return the ids rated from the case data, in file order."""
        return tuple(c.id for c in self.criteria if c.kind == "computed")

    def to_dict(self, full: bool = False) -> dict:
        """Return the API shape (full=True: everything, for the digest)."""
        num = _text if full else _number
        out = {
            "workflow": self.workflow, "version": self.version,
            "scale": {"min": self.scale_min, "max": self.scale_max},
            "criteria": [c.to_dict(full) for c in self.criteria],
            "eligibility": [{"id": k.id, "message": k.message} for k in self.eligibility],
            "thresholds": {"approve": num(self.thresholds.approve), "decline": num(self.thresholds.decline)},
        }
        if full:
            for item, knock in zip(out["eligibility"], self.eligibility):
                item["rule"] = knock.rule.to_dict()
        return out


def _digest(cset: CriteriaSet) -> str:
    text = json.dumps(cset.to_dict(full=True), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: PyYAML's parser in C (libyaml, in its wheels) where present: reading the criteria sets is most
#: of what starting a worker costs. Same safe constructor, same marks; the Python one otherwise.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _RefusesDuplicateKeys:
    """A SafeLoader's constructor that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # (<<: {weight: 20, kind: rated}) merged below, as PyYAML does: a key beside it wins
            if not isinstance(key_node, yaml.ScalarNode):  # (a list or a mapping: map: {[presenter, panelist]: 5})
                # refused unbuilt: PyYAML builds a key recursively, and one nested 250 deep overflowed the stack
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a single value, not a list or a mapping", key_node.start_mark)
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


class _StrictLoader(_RefusesDuplicateKeys, SAFE_LOADER):
    pass


class _StrictPythonLoader(_RefusesDuplicateKeys, yaml.SafeLoader):
    pass


#: The deepest a criteria file may nest (mappings and lists within each other): far deeper than a
#: set needs (a rule nested as deep as it may, RULE_DEPTH, is some 45 levels), and shallow enough
#: for PyYAML's composer in Python, which recurses, to read without overflowing Python's stack.
YAML_DEPTH = 256


def _refuse_aliases_and_nesting(text: str, loader) -> None:
    """Walk the file's events before anything is composed, refusing an anchor or an alias: each
    alias repeats all its anchor holds, so a few lines of rules that double (&r2 {all: [*r1, *r1]})
    made a rule of 2**40 comparisons, which loading and every eligibility check expanded. The walk
    is flat: it refuses the first & at once, and a file nested deeper than YAML_DEPTH before any
    recursion reads it."""
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if getattr(event, "anchor", None) is not None:  # (an alias's event too: the anchor it repeats)
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (& and *) are not allowed in a criteria file; write it out in full",
                event.start_mark)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {YAML_DEPTH} levels deep", event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _load(text: str):
    """Parse a criteria file; a file that does not parse is parsed again by PyYAML's own parser,
    whose words name what is wrong (libyaml's say "found character that cannot start any token"
    of a tab, where PyYAML's name the tab)."""
    try:
        _refuse_aliases_and_nesting(text, _StrictLoader)
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - safe subclass
    except yaml.YAMLError:
        if SAFE_LOADER is yaml.SafeLoader:
            raise
    _refuse_aliases_and_nesting(text, _StrictPythonLoader)
    return yaml.load(text, Loader=_StrictPythonLoader)  # noqa: S506 - raises, in its own words


def _label(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def _too_deep(label: str) -> CriteriaError:
    # Nothing the loader reads recurses deeper than YAML_DEPTH and RULE_DEPTH allow; should anything
    # still overflow the stack (a deeper one under a server, say), the file is named, not a traceback
    # of a thousand lines.
    return CriteriaError([f"{label}: nested too deeply to read; nest its rules and lists less deeply"])


@functools.lru_cache(maxsize=32)
def _built(label: str, content: bytes, known_fields: frozenset[str] | None) -> CriteriaSet:
    """Return the set a file's content builds (a set is never changed once built), read once per
    process for each content: an app of the test suite, each on a database of its own, read the
    same three files again, a tenth of the time it took to create (a file that changed is new
    content, read afresh; a fault is raised each time, never kept)."""
    return _build(_read(content, label), label, known_fields)


def _content(path: Path, label: str) -> bytes:
    """Return a criteria file's bytes, or refuse naming why it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CriteriaError([f"{label}: cannot read file: {exc.strerror}"]) from None


def _read(content: bytes, label: str):
    try:
        raw = _load(content.decode("utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise CriteriaError([f"{label}: YAML syntax error: {getattr(exc, 'problem', None) or exc}{where}"]) from None
    except UnicodeDecodeError as exc:  # (saved by an editor in Windows-1252, say)
        raise CriteriaError([f"{label}: not UTF-8 text: byte {exc.start + 1} of the file is 0x{exc.object[exc.start]:02x}; "
                             "save the file as UTF-8"]) from None
    except RecursionError:
        raise _too_deep(label) from None
    if not isinstance(raw, dict):
        raise CriteriaError([f"{label}: the file must hold a mapping of keys (version, workflow, ...)"])
    return raw


def _tidy(text) -> str:
    text = str(text)
    text = {"Unknown field.": "unknown key", "Missing data for required field.": "missing (required)"}.get(text, text)
    text = text[:1].lower() + text[1:]
    return text[:-1] if text.endswith(".") else text


def _flatten(messages, path=()):
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, (*path, key))
    elif isinstance(messages, list):
        for value in messages:
            yield from _flatten(value, path) if isinstance(value, (dict, list)) else [(path, value)]
    else:
        yield path, messages


def _sentences(label: str, raw: dict, messages) -> list[str]:
    """Turn marshmallow's nested messages into 'file: criterion 'id': key: fault' sentences."""
    out = []
    for path, text in _flatten(messages):
        parts, subject = list(path), None
        nouns = {"criteria": "criterion", "eligibility": "knock-out"}
        if len(parts) >= 2 and parts[0] in nouns and isinstance(parts[1], int):
            items = raw.get(parts[0])
            item = items[parts[1]] if isinstance(items, list) and parts[1] < len(items) else None
            ident = item.get("id") if isinstance(item, dict) else None
            noun = nouns[parts[0]]
            subject = f"{noun} '{ident}'" if isinstance(ident, str) else f"{noun} #{parts[1] + 1}"
            parts = parts[2:]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts if p != "_schema")
        where = where.lstrip(".").replace("from_", "from").replace("all_", "all").replace("any_", "any")
        out.append(": ".join(x for x in (label, subject, where, _tidy(text)) if x))
    return out


def _build(raw: dict, label: str, known_fields) -> CriteriaSet:
    try:
        data = CriteriaSetSchema(known_fields=known_fields).load(raw)
    except ValidationError as exc:
        raise CriteriaError(_sentences(label, raw, exc.messages)) from None
    except RecursionError:
        raise _too_deep(label) from None
    criteria = []
    for c in data["criteria"]:
        method = next((m for m in METHODS if m in c), None)
        criteria.append(Criterion(
            id=c["id"], label=c["label"], help=c["help"], weight=c["weight"], kind=c["kind"],
            min=c["min"], field=c.get("field"), method=method,
            spec=METHODS[method].prepare(c[method]) if method else (), default=c.get("default")))
    cset = CriteriaSet(
        workflow=data["workflow"], version=data["version"],
        scale_min=data["scale"]["min"], scale_max=data["scale"]["max"], criteria=tuple(criteria),
        eligibility=tuple(KnockOut(k["id"], k["message"], k["rule"]) for k in data["eligibility"]),
        thresholds=Thresholds(data["thresholds"]["approve"], data["thresholds"]["decline"]))
    return replace(cset, digest=_digest(cset))


def load_criteria_set(path, known_fields: set[str] | None = None, workflow: str | None = None) -> CriteriaSet:
    """Load and validate one criteria file, raising CriteriaError when malformed (or, given the
    workflow that reads it, when it holds another's criteria)."""
    path = Path(path)
    label = _label(path)
    cset = _built(label, _content(path, label), frozenset(known_fields) if known_fields is not None else None)
    if workflow is not None and cset.workflow != workflow:
        raise CriteriaError([f"{label}: workflow: '{cset.workflow}', but the {workflow} workflow reads this file"])
    return cset


def _load_each(directory, known_fields_by_workflow):
    """Yield (CriteriaSet or None, errors) for each YAML file in directory."""
    for path in sorted(Path(directory).glob("*.y*ml")):
        label = _label(path)
        try:
            raw = _read(_content(path, label), label)
            workflow = raw.get("workflow")
            if isinstance(workflow, str) and workflow not in known_fields_by_workflow:
                raise CriteriaError([f"{label}: workflow: unknown workflow '{workflow}'"])
            known = known_fields_by_workflow.get(workflow) if isinstance(workflow, str) else None
            yield _build(raw, label, known), label, []
        except CriteriaError as exc:
            yield None, label, exc.errors


def load_all(directory, known_fields_by_workflow: dict[str, set[str]]) -> dict[str, CriteriaSet]:
    """Load every criteria file in directory, keyed by workflow; raise on any fault."""
    sets, errors, labels = {}, [], {}
    for cset, label, faults in _load_each(directory, known_fields_by_workflow):
        errors.extend(faults)
        if cset is not None:
            labels.setdefault(cset.workflow, []).append((label, cset))
    for workflow, found in labels.items():
        # The one Accord reads is <workflow>.yaml: an archived copy beside it is the one to blame.
        read = next((entry for entry in found if entry[0].rpartition("/")[2] == f"{workflow}.yaml"), found[0])
        sets[workflow] = read[1]
        errors += [f"{label}: workflow: '{workflow}' is defined by more than one file; Accord reads "
                   f"{read[0]}, so keep earlier versions out of the folder" for label, _ in found if label != read[0]]
    if errors:
        raise CriteriaError(errors)
    return sets


def check_all(directory, known_fields_by_workflow: dict[str, set[str]]) -> list[str]:
    """Return every fault found in the criteria files of directory (empty when all good), and
    every file a workflow reads at start-up (<workflow>.yaml) that is missing or is another's."""
    folder = Path(directory)
    if not folder.is_dir():
        return [f"{directory}: no such folder"]
    errors: list[str] = []
    try:
        load_all(folder, known_fields_by_workflow)
    except CriteriaError as exc:
        errors = list(exc.errors)
    for workflow in sorted(known_fields_by_workflow):
        path = folder / f"{workflow}.yaml"
        label = _label(path)
        if not path.is_file():
            errors.append(f"{label}: missing: the {workflow} workflow reads its criteria from this file")
        elif not any(e.startswith(f"{label}:") for e in errors):  # (else its faults are listed already)
            try:
                load_criteria_set(path, known_fields_by_workflow[workflow], workflow)
            except CriteriaError as exc:
                errors.extend(exc.errors)
    return errors
