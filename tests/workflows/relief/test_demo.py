"""The relief demo data: every state of the workflow, built through the engine, added once."""
from __future__ import annotations

from sqlalchemy import select

from demo import users
from extensions import db
from models import AuditEvent, Case
from workflows.audit import check_chain
from workflows.presenters import case_flags
from workflows.relief import demo
from workflows.relief.definition import STATES


def test_demo_covers_every_state_once_and_is_idempotent(app):
    people = users(db.session)
    assert demo.seed(db.session, people) == 12
    cases = db.session.scalars(select(Case).where(Case.workflow == "relief")).all()
    assert {c.state for c in cases} == set(STATES)
    assert demo.seed(db.session, people) == 0
    assert len(db.session.scalars(select(Case).where(Case.workflow == "relief")).all()) == 12
    late = [c for c in cases if "triage_late" in case_flags(c)]
    assert [c.title for c in late] == ["Hurricane relief for Soyapango, El Salvador"]
    soyapango = next(c for c in cases if c.title == late[0].title)
    assert soyapango.data["partnership_id"] and soyapango.owner.username == "cllr.chen"
    for c in cases:
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"case:{c.id}")
                                    .order_by(AuditEvent.seq)).all()
        assert check_chain(events, c.last_event_hash) is None
