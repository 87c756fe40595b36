"""The workflows this application runs, by name."""
from __future__ import annotations

from workflows.definition import Workflow

_workflows: dict[str, Workflow] = {}
_generation = 0  # changes whenever the set of workflows does, for caches built from it


def register(workflow: Workflow) -> Workflow:
    """Add a workflow, replacing one of the same name."""
    global _generation
    _workflows[workflow.name] = workflow
    _generation += 1
    return workflow


def unregister(name: str) -> None:
    """Remove a workflow (tests use it for their own small workflows)."""
    global _generation
    _workflows.pop(name, None)
    _generation += 1


def get(name: str) -> Workflow | None:
    """Return a workflow by name, or None."""
    return _workflows.get(name)


def all_workflows() -> list[Workflow]:
    """Return every registered workflow."""
    return list(_workflows.values())


def generation() -> int:
    """Return a number that changes whenever a workflow is registered or removed."""
    return _generation
