"""The relief workflow's own API: the Healthy City Office's triage queue."""
from __future__ import annotations

import math

from flask import Flask, current_app, g
from marshmallow import Schema, fields

from api import bp
from api.auth import token_required
from api.schemas import CaseSchema
from extensions import db
from workflows.presenters import case_dict
from workflows.relief.definition import hours_left, triage_deadline
from workflows.relief.queue import check_triager, triage_queue
from workflows.scoring import aggregates_for


class ReliefTriageItemSchema(CaseSchema):
    triage_due_at = fields.String(required=True)
    hours_left = fields.Float(required=True)


class ReliefTriageSchema(Schema):
    sla_hours = fields.Integer(required=True)
    items = fields.List(fields.Nested(ReliefTriageItemSchema), required=True)


@bp.get("/relief/triage")
@token_required
def relief_triage():
    """List the relief requests waiting for triage or in triage, the most urgent first.
    ---
    get:
      summary: The relief triage queue (role hco)
      responses:
        200:
          description: Requests in submitted or in_triage, oldest first, with the hours left before the triage deadline
          content:
            application/json:
              schema: ReliefTriageSchema
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
    """
    user = g.api_user
    check_triager(user)
    cases = triage_queue(db.session)
    scores = aggregates_for(cases, user)
    items = [{**case_dict(c, user, score=scores.get(c.id)),
              "triage_due_at": triage_deadline(c).isoformat(timespec="seconds") + "Z",
              "hours_left": _tenths(hours_left(c))} for c in cases]
    return {"sla_hours": int(current_app.config["ACCORD_RELIEF_TRIAGE_SLA_HOURS"]), "items": items}


def _tenths(hours: float) -> float:
    """Return hours to a tenth, rounded down: never more time left than there is, and a request
    late by a minute reads -0.1, as late as its triage_late flag says, not 0.0."""
    return math.floor(hours * 10) / 10


def init_app(app: Flask) -> None:
    """Add the triage queue's schemas to the OpenAPI document."""
    app.extensions.setdefault("accord_openapi_schemas", []).extend([ReliefTriageItemSchema, ReliefTriageSchema])
