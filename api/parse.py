"""Reading a JSON request body through a marshmallow schema."""
from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema
from werkzeug.exceptions import BadRequest

from workflows.errors import ValidationFailed


class BodyRefused(BadRequest):
    """A request body refused for a reason its message gives (not just "not valid JSON")."""


def json_body() -> Any:
    """Return the parsed JSON body, refusing a missing or malformed one with 400."""
    try:
        body = request.get_json(silent=True)
        errors = text_errors(body)
    except RecursionError:  # JSON nested deeper than Python's parser goes: no request needs it
        raise BodyRefused("The request body is nested too deeply.") from None
    if body is None:
        if request.is_json and request.get_data().strip() == b"null":  # valid JSON, just not an object
            raise ValidationFailed("The body must be a JSON object.", {"_schema": ["Must be an object, not null."]})
        raise BadRequest("The request body must be JSON.")
    if errors:
        raise ValidationFailed("Text must not contain NUL characters or lone surrogates.", errors)
    return body


def _text_fault(text: str) -> str | None:
    """Return why a string cannot be stored, or None: a NUL, or a lone surrogate ("\\ud800" in
    JSON decodes to one, which no UTF-8 text holds: the hash, the password check and the database
    each failed on it with a 500)."""
    if "\x00" in text:
        return "Must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Must not contain a lone surrogate (such as \\ud800): it is not text."
    return None


def text_errors(value: Any) -> dict:
    """Return field errors for every string in a JSON value that cannot be stored as text."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    found: dict = {}
    for key, item in items:
        if _text_fault(str(key)):
            found["_schema"] = ["Field names must be text without NUL characters."]
        elif isinstance(item, str) and (fault := _text_fault(item)):
            found[key] = [fault]
        elif isinstance(item, (dict, list)) and (inner := text_errors(item)):
            found[key] = inner
    return found


def parse_query(schema: type[Schema]) -> dict:
    """Validate the query string's parameters with a schema; refuse with 422 naming each one.

    A parameter the schema knows, given empty (`?page=&per_page=`, as a form's blank field or a
    URL template sends it), is taken as not given: its default.
    """
    from flask import request
    from marshmallow import ValidationError

    loader = schema()
    given = {name: value for name, value in request.args.to_dict().items() if value != "" or name not in loader.fields}
    try:
        return loader.load(given)
    except ValidationError as err:
        raise ValidationFailed("Some parameters are not valid.", err.messages) from None


def parse(schema: type[Schema], partial: bool = False) -> dict:
    """Validate the JSON body with a schema; refuse with 422 naming each field."""
    body = json_body()
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.", {"_schema": ["Must be an object."]})
    from marshmallow import ValidationError

    try:
        return schema().load(body, partial=partial)
    except ValidationError as err:
        raise ValidationFailed("Some fields are not valid.", err.messages) from None
