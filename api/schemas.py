"""Marshmallow schemas of the API's resources (output) and arguments (input)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from workflows.fields import Text
from workflows.goals import GOALS
from workflows.queries import MAX_WAIT_KEY, WaitKey


class ErrorSchema(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict()
    guard = fields.String()


class TokenArgs(Schema):
    username = Text(80, min_length=1, required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.String(allow_none=True, metadata={
        "description": "When the token stops working (UTC, ISO 8601), or null if only revocation ends it."})


class UserRefSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)


class CaseSchema(Schema):
    id = fields.Integer(required=True)
    workflow = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True)
    goals = fields.List(fields.String(), required=True)
    data = fields.Dict(required=True)
    owner = fields.Nested(UserRefSchema, required=True)
    department = fields.String(required=True)
    assignee = fields.Nested(UserRefSchema, allow_none=True, required=True)
    version = fields.Integer(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    allowed_transitions = fields.List(fields.String(), required=True)
    score = fields.Dict(allow_none=True, required=True)
    flags = fields.List(fields.String(), required=True)


class CaseListSchema(Schema):
    items = fields.List(fields.Nested(CaseSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class CaseListArgs(Schema):
    workflow = fields.String(validate=validate.Length(max=40))
    state = fields.String(validate=validate.Length(max=40))
    mine = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class WaitKeyField(fields.String):
    """A place in the list of what waits for a person: the "next" of the page before."""

    def _deserialize(self, value, attr, data, **kwargs) -> WaitKey:
        text = super()._deserialize(value, attr, data, **kwargs)  # (?after= given empty: parse_query leaves it out)
        key = WaitKey.parse(text)
        if key is None:
            raise ValidationError('Not a place in the list: give the "next" of the page before, or nothing.')
        return key


class WaitingArgs(Schema):
    after = WaitKeyField(metadata={
        "maxLength": MAX_WAIT_KEY,
        "description": 'Where the page starts: the "next" of the page before; none for the first page.'})


class WaitingListSchema(Schema):
    items = fields.List(fields.Nested(CaseSchema), required=True)
    next = fields.String(allow_none=True, required=True, metadata={
        "description": "Where the next page starts, to give as after; null when every case was read."})


class CaseCreateArgs(Schema):
    workflow = fields.String(required=True, validate=validate.Length(min=1, max=40))
    title = Text(200, min_length=1, required=True)
    goals = fields.List(fields.String(validate=validate.OneOf(list(GOALS))), required=True,
                        validate=validate.Length(min=1, max=7))
    data = fields.Dict(load_default=dict, allow_none=True, metadata={  # (null: none, as when left out)
        "description": "The request's data, by the schema of the workflow the workflow field names. It is a "
                       "draft: any field may be left out or null (null or left out: no data yet); the step that "
                       "sends the request on (submit) checks it in full."})


class CasePatchArgs(Schema):
    title = Text(200, min_length=1)
    goals = fields.List(fields.String(validate=validate.OneOf(list(GOALS))), validate=validate.Length(min=1, max=7))
    data = fields.Dict(allow_none=True, metadata={
        "description": "The fields of the case's data to change, by the schema of the case's own workflow. "
                       "Partial: a field left out stays as it is, a null field is cleared, and an object merges "
                       "into the stored one (JSON Merge Patch, RFC 7396: a null inside it removes that entry)."})
    version = fields.Integer(required=True, strict=True)


class TransitionArgs(Schema):
    trigger = fields.String(required=True, validate=validate.Length(min=1, max=60))
    version = fields.Integer(required=True, strict=True)
    comment = Text(5000, allow_none=True)
    data = fields.Dict(load_default=dict, allow_none=True, metadata={  # (null: none, as when left out)
        "description": "What the step takes, by the schema the case's workflow gives the trigger "
                       "(x-accord-payloads maps \"workflow.trigger\" to it); a step that takes nothing is sent "
                       "nothing (data left out, null or {})."})


class CommentArgs(Schema):
    comment = Text(5000, min_length=1, required=True)


class EventSchema(Schema):
    seq = fields.Integer(required=True)
    at = fields.String(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    from_state = fields.String(allow_none=True, required=True)
    to_state = fields.String(allow_none=True, required=True)
    comment = fields.String(allow_none=True, required=True)
    # None for a review the reader may not read yet (and the link to it): see presenters.history.
    payload = fields.Dict(allow_none=True)
    prev_hash = fields.String(allow_none=True, required=True)
    hash = fields.String(allow_none=True, required=True)


class HistorySchema(Schema):
    events = fields.List(fields.Nested(EventSchema), required=True)
    chain_valid = fields.Boolean(required=True)


class TransitionInfoSchema(Schema):
    trigger = fields.String(required=True)
    source = fields.List(fields.String(), required=True)
    dest = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    comment_required = fields.Boolean()


class WorkflowSchema(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    initial = fields.String(required=True)
    states = fields.List(fields.String(), required=True)
    transitions = fields.List(fields.Nested(TransitionInfoSchema), required=True)


class HealthSchema(Schema):
    status = fields.String(required=True)
    database = fields.String(required=True)


# Registered in this order (leaves first), so nested schemas become references.
OPENAPI_SCHEMAS = (
    ErrorSchema, TokenArgs, TokenSchema, UserRefSchema, CaseSchema, CaseListSchema, CaseListArgs, WaitingArgs,
    WaitingListSchema, CaseCreateArgs, CasePatchArgs,
    TransitionArgs, CommentArgs, EventSchema, HistorySchema, TransitionInfoSchema, WorkflowSchema, HealthSchema,
)
