"""The shape in which a case is shown to a person or a script."""
from __future__ import annotations

from typing import Any

from models import Case, User
from workflows import registry
from workflows.access import allowed_triggers


def _iso(dt) -> str:
    return dt.isoformat(timespec="seconds") + "Z"


def case_flags(case: Case) -> list[str]:
    """Return the conditions the case carries now (report_overdue, triage_late, ...)."""
    wf = registry.get(case.workflow)
    return list(wf.flags(case)) if wf and wf.flags else []


def case_score(case: Case) -> dict | None:
    """Return the case's aggregate score, or None when no one has scored it."""
    from workflows.scoring import aggregate_for

    return aggregate_for(case)


def case_dict(case: Case, user: User, *, score: dict | None | bool = False) -> dict[str, Any]:
    """Return a case as the API shows it to this user."""
    return {
        "id": case.id,
        "workflow": case.workflow,
        "title": case.title,
        "state": case.state,
        "goals": list(case.goals or []),
        "data": case.data,
        "owner": {"id": case.owner.id, "username": case.owner.username},
        "department": case.department.name,
        "assignee": {"id": case.assignee.id, "username": case.assignee.username} if case.assignee else None,
        "version": case.version,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "allowed_transitions": allowed_triggers(user, case),
        "score": case_score(case) if score is False else score,
        "flags": case_flags(case),
    }


def event_dict(e) -> dict[str, Any]:
    """Return an audit event as the history API shows it."""
    return {
        "seq": e.seq, "at": _iso(e.at), "actor": e.actor_username, "action": e.action,
        "from_state": e.from_state, "to_state": e.to_state, "comment": e.comment,
        "payload": e.payload, "prev_hash": e.prev_hash, "hash": e.hash,
    }
