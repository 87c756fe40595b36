"""The partnership inventory and the decisions on proposals, in the JSON API."""
from __future__ import annotations

from flask import Flask, g, request
from marshmallow import ValidationError

from api import bp
from api.auth import token_required
from api.parse import json_body
from extensions import db
from workflows.errors import ValidationFailed
from workflows.partnership import decisions, inventory
from workflows.partnership.schemas import OPENAPI_SCHEMAS, PartnershipDecisionSearchArgs, PartnershipListArgs


def _args(schema) -> dict:
    try:
        return schema().load(request.args.to_dict())
    except ValidationError as err:
        raise ValidationFailed("Some parameters are not valid.", err.messages) from None


@bp.get("/partnerships")
@token_required
def list_partnerships():
    """List the partnership inventory, optionally of one status or one country.
    ---
    get:
      summary: List the partnership inventory
      parameters:
      - in: query
        schema: PartnershipListArgs
      responses:
        200:
          description: The inventory, by city
          content:
            application/json:
              schema: PartnershipListSchema
        401: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    args = _args(PartnershipListArgs)
    rows = inventory.entries(db.session, args.get("status"), args.get("country"))
    return {"items": [inventory.entry_dict(p) for p in rows]}


@bp.post("/partnerships")
@token_required
def create_partnership():
    """Add an entry to the inventory, as an administrator; its creation is audited on its own chain.
    ---
    post:
      summary: Add a partnership to the inventory
      requestBody:
        required: true
        content:
          application/json:
            schema: InventoryArgs
      responses:
        201:
          description: The new entry
          content:
            application/json:
              schema: PartnershipSchema
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    inventory.require_admin(g.api_user)  # before reading the body: a refusal says only that
    return inventory.entry_dict(inventory.create_entry(db.session, g.api_user, json_body())), 201


@bp.patch("/partnerships/<int:pid>")
@token_required
def edit_partnership(pid: int):
    """Change some fields of an entry, as an administrator; what changed, from and to, is audited.
    ---
    patch:
      summary: Edit a partnership of the inventory
      parameters:
      - {in: path, name: pid, required: true, schema: {type: integer}}
      requestBody:
        required: true
        description: Only the fields given change; at least one.
        content:
          application/json:
            schema: InventoryPatch
      responses:
        200:
          description: The entry as it now is
          content:
            application/json:
              schema: PartnershipSchema
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    inventory.require_admin(g.api_user)
    return inventory.entry_dict(inventory.edit_entry(db.session, g.api_user, pid, json_body()))


@bp.get("/partnerships/<int:pid>")
@token_required
def get_partnership(pid: int):
    """Read one inventory entry with the proposals naming it and its own audit events.
    ---
    get:
      summary: Read a partnership
      parameters:
      - {in: path, name: pid, required: true, schema: {type: integer}}
      responses:
        200:
          description: The entry
          content:
            application/json:
              schema: PartnershipDetailSchema
        401: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
    """
    p = inventory.get_entry(db.session, pid)
    proposals = inventory.proposals_for(db.session, g.api_user, p)
    events = inventory.events_for(db.session, p)
    return {
        **inventory.entry_dict(p),
        "proposals": [{"id": c.id, "title": c.title, "state": c.state, "proposal_type": c.data.get("proposal_type")}
                      for c in proposals],
        "events": [inventory.event_dict(e) for e in events],
    }


@bp.get("/partnerships/decisions")
@token_required
def search_decisions():
    """Search the Committee's and Council's decisions on proposals by meeting reference or motion.
    ---
    get:
      summary: Search partnership decisions
      parameters:
      - in: query
        schema: PartnershipDecisionSearchArgs
      responses:
        200:
          description: The matching decisions the caller may see, newest first
          content:
            application/json:
              schema: PartnershipDecisionListSchema
        401: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    args = _args(PartnershipDecisionSearchArgs)
    return {"items": decisions.search(db.session, g.api_user, args.get("q"))}


def init_app(app: Flask) -> None:
    """Describe the partnership schemas in the OpenAPI document."""
    app.extensions.setdefault("accord_openapi_schemas", []).extend(OPENAPI_SCHEMAS)
