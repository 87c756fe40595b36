"""Criteria sets and the scores of a case."""
from __future__ import annotations

from flask import g
from marshmallow import Schema, fields, validate

from api import bp
from api.auth import token_required
from api.parse import parse
from criteria.schemas import ID_LENGTH
from extensions import db
from models import Case
from workflows.errors import NotFound
from workflows.fields import Text
from workflows.queries import load_visible
from workflows.scoring import (aggregate_for, criteria_for, current_scores, score_dict, submit_score,
                               unscored_aggregate, visible_scores)


class ScoreArgs(Schema):
    # The values are checked by the criteria set (criteria.scorer.validate_ratings), which answers
    # with its own messages ("must be an integer", "Rate it from 0 to 5, ..."): they load raw.
    ratings = fields.Dict(
        keys=fields.String(validate=validate.Length(max=ID_LENGTH)),  # (the longest a criterion's id may be)
        values=fields.Raw(allow_none=True, metadata={
            "type": "integer", "nullable": False,
            "description": "A whole number on the criteria set's scale (GET /api/v1/criteria/{workflow}). A null, "
                           "a string, a boolean or a fraction is refused with 422, as is a missing rating."}),
        load_default=dict, metadata={
            "description": "Each rated criterion's id to its rating; every rated criterion is rated unless "
                           "conflict is recused (the ratings are then ignored)."})
    comment = Text(5000, allow_none=True)
    conflict = fields.String(load_default="none", validate=validate.OneOf(["none", "recused"]))


class ScoreSchema(Schema):
    id = fields.Integer(required=True)
    reviewer = fields.String(required=True)
    conflict = fields.String(required=True)
    ratings = fields.Dict(required=True)
    computed = fields.Dict(required=True)
    percent = fields.String(allow_none=True, required=True)
    recommendation = fields.String(allow_none=True, required=True)
    criteria_version = fields.Integer(required=True)
    comment = fields.String(allow_none=True)
    created_at = fields.String()
    case_version = fields.Integer(metadata={
        "description": "The case's version after this score (in the answer to POST only): a score is a change of "
                       "the case, so the next step is sent with this version."})


class AggregateSchema(Schema):
    percent = fields.String(allow_none=True, required=True)
    recommendation = fields.String(allow_none=True, required=True)
    eligible = fields.Boolean(required=True)
    reasons = fields.List(fields.String(), required=True)
    complete = fields.Boolean()
    disagreement = fields.List(fields.String())
    breakdown = fields.List(fields.Dict())
    reviewers = fields.Integer()
    criteria_version = fields.Integer()
    outdated = fields.List(fields.Integer())


class ScoreListSchema(Schema):
    items = fields.List(fields.Nested(ScoreSchema), required=True)
    aggregate = fields.Nested(AggregateSchema, allow_none=True, required=True)


class CriteriaSetSchema(Schema):
    workflow = fields.String(required=True)
    version = fields.Integer(required=True)
    scale = fields.Dict(required=True)
    criteria = fields.List(fields.Dict(), required=True)
    eligibility = fields.List(fields.Dict(), required=True)
    thresholds = fields.Dict(required=True)


SCHEMAS = (ScoreArgs, ScoreSchema, AggregateSchema, ScoreListSchema, CriteriaSetSchema)


@bp.get("/criteria/<workflow>")
@token_required
def get_criteria(workflow: str):
    """Read the criteria set in force for a workflow.
    ---
    get:
      summary: The active criteria set
      parameters:
      - {in: path, name: workflow, required: true, schema: {type: string}}
      responses:
        200:
          description: The criteria set
          content:
            application/json:
              schema: CriteriaSetSchema
        401: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
    """
    cset = criteria_for(workflow)
    if cset is None:
        raise NotFound(f"No criteria for '{workflow}'.")
    return cset.to_dict()


@bp.post("/cases/<int:case_id>/scores")
@token_required
def post_score(case_id: int):
    """Score a case (a reviewer's new score replaces their earlier one).
    ---
    post:
      summary: Score a case
      parameters:
      - {in: path, name: case_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content:
          application/json:
            schema: ScoreArgs
      responses:
        201:
          description: The stored score
          content:
            application/json:
              schema: ScoreSchema
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    args = parse(ScoreArgs)
    score = submit_score(db.session, g.api_user, case_id, args["ratings"], args["conflict"], args.get("comment"))
    return {**score_dict(score), "case_version": db.session.get(Case, case_id).version}, 201


@bp.get("/cases/<int:case_id>/scores")
@token_required
def get_scores(case_id: int):
    """Read a case's current scores and their aggregate.
    ---
    get:
      summary: A case's scores
      parameters:
      - {in: path, name: case_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: The scores the caller may see, and the aggregate
          content:
            application/json:
              schema: ScoreListSchema
        401: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
    """
    case = load_visible(db.session, g.api_user, case_id)
    scores = visible_scores(g.api_user, case, current_scores(db.session, [case.id]).get(case.id, []))
    # Always the object api.md gives, before any score too: its knock-outs read the request alone
    # (percent and recommendation are null until a reviewer scores).
    cset = criteria_for(case.workflow)
    aggregate = aggregate_for(case, scores) if scores or cset is None else unscored_aggregate(cset, case)
    return {"items": [score_dict(s) for s in scores], "aggregate": aggregate}


def init_app(app) -> None:
    """Document the scoring schemas in the OpenAPI document."""
    app.extensions.setdefault("accord_openapi_schemas", []).extend(SCHEMAS)
