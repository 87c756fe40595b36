"""What the engine takes from its callers, checked before anything is written: a request's title,
goals and data, a step's data and comment, and the version the caller saw. Each refusal names its
field."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from models import Case
from workflows.audit import jsonable
from workflows.definition import Transition, Workflow, shared
from workflows.errors import StaleVersion, ValidationFailed
from workflows.goals import GOALS


def check_goals(goals: Any) -> list[str]:
    """Return a request's goals (one or more of the seven, each once), or refuse them naming `goals`."""
    if not isinstance(goals, list) or not goals:
        raise ValidationFailed("Choose at least one goal.", {"goals": ["Choose at least one goal."]})
    unknown = [g for g in goals if not isinstance(g, str) or g not in GOALS]
    if unknown:
        raise ValidationFailed("Unknown goal.", {"goals": [f"Unknown goal: {', '.join(map(str, unknown))}."]})
    return list(dict.fromkeys(goals))


def check_title(title: Any) -> str:
    """Return a request's title as stored (stripped), or refuse it naming `title`."""
    if not isinstance(title, str) or not title.strip() or "\x00" in title or len(title.strip()) > 200:
        raise ValidationFailed("The title is not valid.", {"title": ["Give a title of 1 to 200 characters."]})
    return title.strip()


def check_title_and_goals(title: Any, goals: Any) -> tuple[str, list[str]]:
    """Check a new request's title and goals together, so that both faults are named at once."""
    checked, errors, messages = [], {}, []
    for check, value in ((check_title, title), (check_goals, goals)):
        try:
            checked.append(check(value))
        except ValidationFailed as err:
            errors.update(err.errors or {})
            messages.append(err.message)
    if errors:
        raise ValidationFailed(" ".join(messages), errors)
    return checked[0], checked[1]


def merge_patch(stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """Return the stored data with the sent fields over it, an object merged into the object it
    replaces as JSON Merge Patch (RFC 7396) does: a field given replaces the stored one, a null
    inside an object removes that entry. A travel budget's one corrected line used to replace
    the whole budget, and its total fell from 5,550.00 to 3,900.00, below the CAO's threshold."""
    merged = dict(stored)
    for key, value in sent.items():
        if isinstance(value, dict):
            before = stored.get(key) if isinstance(stored.get(key), dict) else {}
            merged[key] = {k: v for k, v in {**before, **value}.items() if v is not None}
        else:
            merged[key] = value
    return merged


def without_removals(sent: dict[str, Any]) -> dict[str, Any]:
    """Return the sent fields without the nulls inside objects: in a merge patch they remove a
    stored entry, and are not values to be checked."""
    return merge_patch({}, sent)


def load_draft(wf: Workflow, data: Any) -> dict[str, Any]:
    """Return a request's data as stored, checked against its workflow's schema as a draft (fields
    may be missing, none may be wrong), or refuse it naming each field at fault under `data`."""
    if not isinstance(data, dict):
        raise ValidationFailed("The data must be an object.", {"data": ["Must be an object."]})
    schema = shared(wf.data_schema)
    try:
        return jsonable(schema.dump(schema.load(data, partial=True)))
    except ValidationError as err:
        raise ValidationFailed("Some fields are not valid.", {"data": err.messages}) from None


def check_version(case: Case, version: Any) -> None:
    """Refuse a version that is not a whole number (naming `version`), or not the case's now
    (StaleVersion: someone changed it since the caller loaded it)."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationFailed("Give the version you last saw.", {"version": ["Required: the case's version."]})
    if case.version != version:
        raise StaleVersion(f"The case changed since you loaded it (version {version}, now {case.version}); "
                           "reload it and try again.")


def load_payload(t: Transition, payload: Any) -> tuple[dict, dict]:
    """Return a step's data as its schema loads it and as it is recorded (JSON), or refuse it naming
    each field at fault under `data` (data sent to a step that takes none included)."""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ValidationFailed("The data must be an object.", {"data": ["Must be an object."]})
    if t.payload is None:
        if payload:
            raise ValidationFailed("This step takes no data.", {"data": ["This step takes no data."]})
        return {}, {}
    schema = shared(t.payload)
    try:
        loaded = schema.load(payload)
    except ValidationError as err:
        raise ValidationFailed("Some fields are not valid.", {"data": err.messages}) from None
    return loaded, jsonable(schema.dump(loaded))


def comment_text(comment: Any) -> str | None:
    """Return a comment as it is recorded (stripped; None if empty), or refuse one that is not text
    of at most 5000 characters (a NUL, which PostgreSQL cannot store, included), naming `comment`."""
    if comment is not None and (not isinstance(comment, str) or "\x00" in comment or len(comment) > 5000):
        raise ValidationFailed("The comment is not valid.", {"comment": ["Give text of at most 5000 characters."]})
    return (comment or "").strip() or None


def check_comment(t: Transition | None, comment: Any) -> str | None:
    """Return the comment of a step (or, with no step, of a comment alone, which must say
    something) as recorded, or refuse it naming `comment` when the step requires one."""
    comment = comment_text(comment)
    if t is None and not comment:
        raise ValidationFailed("Write a comment.", {"comment": ["A comment cannot be empty."]})
    if t is not None and t.comment_required and not comment:
        raise ValidationFailed("This step needs a comment.", {"comment": ["A comment is required for this step."]})
    return comment
