"""What the API offers: the workflows, and the OpenAPI document."""
from __future__ import annotations


from api import bp
from api.auth import token_required
from workflows import registry
from workflows.definition import Workflow
from workflows.errors import NotFound


def workflow_dict(wf: Workflow) -> dict:
    """Return a workflow's states and transitions as the API lists them."""
    return {
        "name": wf.name,
        "title": wf.title,
        "initial": wf.initial,
        "states": list(wf.states),
        "transitions": [
            {"trigger": t.trigger, "source": list(t.source), "dest": t.dest, "roles": list(t.roles),
             "comment_required": t.comment_required}
            for t in wf.transitions
        ],
    }


@bp.get("/workflows")
@token_required
def list_workflows():
    """List the workflows with their states and transitions.
    ---
    get:
      summary: List workflows
      responses:
        200:
          description: Every workflow
          content:
            application/json:
              schema:
                type: array
                items: WorkflowSchema
        401: {$ref: '#/components/responses/Error'}
    """
    return [workflow_dict(wf) for wf in registry.all_workflows()]


@bp.get("/workflows/<name>")
@token_required
def get_workflow(name: str):
    """Read one workflow.
    ---
    get:
      summary: Read a workflow
      parameters:
      - {in: path, name: name, required: true, schema: {type: string}}
      responses:
        200:
          description: The workflow
          content:
            application/json:
              schema: WorkflowSchema
        401: {$ref: '#/components/responses/Error'}
        404: {$ref: '#/components/responses/Error'}
    """
    wf = registry.get(name)
    if wf is None:
        raise NotFound(f"No workflow named '{name}'.")
    return workflow_dict(wf)
