"""The workflows this application runs, by name."""
from __future__ import annotations

from workflows.definition import Workflow

_workflows: dict[str, Workflow] = {}


def register(workflow: Workflow) -> Workflow:
    """Add a workflow, replacing one of the same name."""
    _workflows[workflow.name] = workflow
    return workflow


def unregister(name: str) -> None:
    """Remove a workflow (tests use it for their own small workflows)."""
    _workflows.pop(name, None)


def get(name: str) -> Workflow | None:
    """Return a workflow by name, or None."""
    return _workflows.get(name)


def all_workflows() -> list[Workflow]:
    """Return every registered workflow."""
    return list(_workflows.values())
