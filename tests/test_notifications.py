"""When a case awaits someone, the people who can act get one message, sent after the commit;
a refused transition sends nothing."""
from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import Notification
from workflows import engine
from workflows.errors import WorkflowError


def _trip() -> dict:
    start = date.today() + timedelta(days=40)
    return {"event_name": "IULA World Congress", "event_organizer": "IULA", "event_city": "Rio de Janeiro",
            "event_country": "Brazil", "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat(),
            "purpose": "Local democracy exchange.", "role_at_event": "attendee", "funding": "city",
            "estimated_cost": {"transport": "1800.00"}}


def test_approver_is_mailed_once_when_a_trip_is_submitted(app, make_user, caplog):
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    make_user("eli", "dept_head", department="Finance")  # another department's head: not mailed
    case = engine.create_case(db.session, sam, "travel", "IULA congress", ["democracy"], _trip())
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, sam, case.id, "submit", case.version)
    mails = [m for m in caplog.messages if m.startswith("mail to")]
    assert len(mails) == 1 and "dana@toronto.example" in mails[0] and "awaits you" in mails[0]
    rows = db.session.scalars(select(Notification)).all()
    assert [(r.user_id, r.kind) for r in rows] == [(dana.id, "awaits")]


def test_refused_transition_sends_nothing(app, make_user, caplog):
    sam = make_user("sam", "staff")
    make_user("dana", "dept_head")
    case = engine.create_case(db.session, sam, "travel", "Half a request", ["democracy"], {"event_name": "X"})
    with caplog.at_level(logging.INFO, logger="accord.mail"), pytest.raises(WorkflowError):
        engine.fire(db.session, sam, case.id, "submit", case.version)
    assert not [m for m in caplog.messages if m.startswith("mail to")]
    assert db.session.scalars(select(Notification)).all() == []
