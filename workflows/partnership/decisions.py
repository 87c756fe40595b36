"""The decisions of the Committee and Council on partnership proposals, read from the audit trail."""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from models import AuditEvent, Case, User
from workflows.access import visible

DECISIONS = ("approve", "decline", "defer")
#: Which body decides in each state a decision is taken from.
BODIES = {"committee_review": "Policy and Finance Committee", "council_review": "Council"}
OUTCOMES = {"council_review": "Referred to Council", "adopted": "Adopted", "declined": "Declined",
            "deferred": "Deferred"}
SEARCH_LIMIT = 200


def decision_dict(e: AuditEvent, case: Case) -> dict[str, Any]:
    """Return a decision event as people and scripts read it."""
    p = e.payload or {}
    return {
        "case_id": case.id, "case_title": case.title, "action": e.action,
        "body": BODIES.get(e.from_state, e.from_state), "outcome": OUTCOMES.get(e.to_state, e.to_state),
        "at": e.at.isoformat(timespec="seconds") + "Z", "actor": e.actor_username, "comment": e.comment,
        "meeting_reference": p.get("meeting_reference"), "motion": p.get("motion"),
        "votes_for": p.get("votes_for"), "votes_against": p.get("votes_against"),
        "interests_declared": list(p.get("interests_declared") or []),
    }


_NAMES = select(User.username, User.full_name).where(User.username.in_(bindparam("names", expanding=True)))


def named(session: Session, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return decisions with the full name of who recorded each (actor_name), for the pages: the
    timeline beside them names people so, not by username (the API keeps its fields)."""
    usernames = sorted({d["actor"] for d in items})
    names = dict(session.execute(_NAMES, {"names": usernames}).all()) if usernames else {}
    return [{**d, "actor_name": names.get(d["actor"]) or d["actor"]} for d in items]


def _decision_events(user: User):
    return (select(AuditEvent, Case).join(Case, AuditEvent.case_id == Case.id)
            .where(Case.workflow == "partnership", AuditEvent.action.in_(DECISIONS),
                   AuditEvent.from_state.in_(tuple(BODIES)), visible(user)))


def decisions_for(session: Session, user: User, case: Case) -> list[dict[str, Any]]:
    """Return the decisions taken on one case, oldest first."""
    rows = session.execute(_decision_events(user).where(Case.id == case.id).order_by(AuditEvent.seq))
    return [decision_dict(e, c) for e, c in rows]


def search(session: Session, user: User, q: str | None) -> list[dict[str, Any]]:
    """Return the decisions the user may see whose meeting reference or motion contains q, newest first."""
    needle = (q or "").strip().lower()
    rows = session.execute(_decision_events(user).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    found = []
    # Payloads are JSON of either dialect; the few decisions are matched here, not in SQL.
    for e, case in rows:
        p = e.payload or {}
        text = f"{p.get('meeting_reference') or ''}\n{p.get('motion') or ''}".lower()
        if not needle or needle in text:
            found.append(decision_dict(e, case))
            if len(found) == SEARCH_LIMIT:
                break
    return found
