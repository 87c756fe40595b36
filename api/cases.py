"""Cases: create, list, read, edit, fire transitions, read the history."""
from __future__ import annotations

from flask import g

from api import bp
from api.auth import token_required
from api.parse import parse, parse_query
from api.schemas import CaseCreateArgs, CaseListArgs, CasePatchArgs, CommentArgs, TransitionArgs, WaitingArgs
from extensions import db
from workflows import engine
from workflows.audit import case_events, check_chain, row_digest
from workflows.presenters import case_dict, history
from workflows.queries import load_visible, page_of_cases, waiting_for
from workflows.scoring import aggregates_for, hidden_reviews


@bp.post("/cases")
@token_required
def create_case():
    """Create a case in its initial state, owned by the caller.
    ---
    post:
      summary: Create a case
      requestBody:
        required: true
        content:
          application/json:
            schema: CaseCreateArgs
      responses:
        201:
          description: The new case
          content:
            application/json:
              schema: CaseSchema
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    args = parse(CaseCreateArgs)
    case = engine.create_case(db.session, g.api_user, args["workflow"], args["title"], args["goals"], args["data"])
    return case_dict(case, g.api_user), 201


@bp.get("/cases")
@token_required
def list_cases():
    """List the cases the caller may see, newest first.
    ---
    get:
      summary: List cases
      parameters:
      - in: query
        schema: CaseListArgs
      responses:
        200:
          description: A page of cases
          content:
            application/json:
              schema: CaseListSchema
        401: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    args = parse_query(CaseListArgs)
    user = g.api_user
    page, per_page = args["page"], args["per_page"]
    cases, total = page_of_cases(db.session, user, workflow=args.get("workflow") or None,
                                 state=args.get("state") or None, mine=bool(args.get("mine")),
                                 page=page, per_page=per_page)
    scores = aggregates_for(cases, user)
    return {"items": [case_dict(c, user, score=scores.get(c.id)) for c in cases],
            "page": page, "per_page": per_page, "total": total}


@bp.get("/cases/waiting")
@token_required
def waiting_cases():
    """List the cases on which the caller may act now, the one waiting longest first, fifty a page.
    ---
    get:
      summary: List the cases waiting for the caller
      description: >
        A page holds at most fifty cases; give its "next" as "after" for the page that follows,
        until "next" is null. A page may hold fewer, or none, and still give a "next": the
        cases the caller may see but not act on are passed over, and a page reads a bounded number.
      parameters:
      - in: query
        schema: WaitingArgs
      responses:
        200:
          description: A page of cases
          content:
            application/json:
              schema: WaitingListSchema
        401: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    args = parse_query(WaitingArgs)
    user = g.api_user
    found = waiting_for(db.session, user, after=args.get("after"))
    scores = aggregates_for(found.cases, user)
    return {"items": [case_dict(c, user, score=scores.get(c.id)) for c in found.cases],
            "next": str(found.next) if found.next else None}


@bp.get("/cases/<int:case_id>")
@token_required
def get_case(case_id: int):
    """Read one case.
    ---
    get:
      summary: Read a case
      parameters:
      - {in: path, name: case_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: The case
          content:
            application/json:
              schema: CaseSchema
        401: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
    """
    return case_dict(load_visible(db.session, g.api_user, case_id), g.api_user)


@bp.patch("/cases/<int:case_id>")
@token_required
def patch_case(case_id: int):
    """Edit a case's title, goals or data, as its owner while it is editable.
    ---
    patch:
      summary: Edit a case
      parameters:
      - {in: path, name: case_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content:
          application/json:
            schema: CasePatchArgs
      responses:
        200:
          description: The case after the edit
          content:
            application/json:
              schema: CaseSchema
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    args = parse(CasePatchArgs)
    case = engine.update_case(db.session, g.api_user, case_id, args["version"], title=args.get("title"),
                              goals=args.get("goals"), data=args.get("data"))
    return case_dict(case, g.api_user)


@bp.post("/cases/<int:case_id>/transitions")
@token_required
def fire_transition(case_id: int):
    """Fire a trigger on a case.
    ---
    post:
      summary: Fire a transition
      parameters:
      - {in: path, name: case_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content:
          application/json:
            schema: TransitionArgs
      responses:
        200:
          description: The case after the transition
          content:
            application/json:
              schema: CaseSchema
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        403: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        409: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    args = parse(TransitionArgs)
    case = engine.fire(db.session, g.api_user, case_id, args["trigger"], args["version"],
                       comment=args.get("comment"), payload=args["data"])
    return case_dict(case, g.api_user)


@bp.post("/cases/<int:case_id>/comments")
@token_required
def add_comment(case_id: int):
    """Add a comment to a case's record (anyone who may see the case; its state stays).
    ---
    post:
      summary: Comment on a case
      parameters:
      - {in: path, name: case_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content:
          application/json:
            schema: CommentArgs
      responses:
        201:
          description: The case with its new version; the comment is the last event of its history
          content:
            application/json:
              schema: CaseSchema
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    args = parse(CommentArgs)
    case = engine.add_comment(db.session, g.api_user, case_id, args["comment"])
    return case_dict(case, g.api_user), 201


@bp.get("/cases/<int:case_id>/history")
@token_required
def case_history(case_id: int):
    """Read a case's audit events and whether its hash chain verifies.
    ---
    get:
      summary: A case's history
      parameters:
      - {in: path, name: case_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: The events, oldest first
          content:
            application/json:
              schema: HistorySchema
        401: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
    """
    case = load_visible(db.session, g.api_user, case_id)
    events = case_events(db.session, case.id)
    valid = check_chain(events, case.last_event_hash, case.last_event_seq, case.state, row_digest(case)) is None
    hidden = hidden_reviews(g.api_user, case, events)
    return {"events": history(events, hidden), "chain_valid": valid}
