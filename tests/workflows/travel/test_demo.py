"""The demo travel requests: every state of the workflow, one overdue, added once."""
from __future__ import annotations

import clock
from demo import users
from extensions import db
from models import Case
from workflows.presenters import case_flags
from workflows.travel.definition import WORKFLOW
from workflows.travel.demo import seed


def test_demo_trips_cover_every_state_and_are_added_once(app):
    clock.set(None)
    people = users(db.session)
    assert seed(db.session, people) == 9
    assert seed(db.session, people) == 0
    # A demo draft its owner renamed is not seeded again (make run seeds at every start).
    draft = db.session.scalars(db.select(Case).where(Case.workflow == "travel", Case.state == "draft")).first()
    from workflows import engine

    engine.update_case(db.session, draft.owner, draft.id, draft.version, title=draft.title + " (Montreal)")
    assert seed(db.session, people) == 0
    cases = db.session.scalars(db.select(Case).where(Case.workflow == "travel")).all()
    assert {c.state for c in cases} == set(WORKFLOW.states)
    overdue = [c.title for c in cases if "report_overdue" in case_flags(c)]
    assert overdue == ["FCM partnership mission to Soyapango"]
    assert clock._frozen is None
