"""The CAO office's dashboard panel: this year's figures so far and what needs attention."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import and_, or_, select

from extensions import db
from models import Case
from models.types import utcnow
from reports.annual import headlines, sections
from reports.period import Period, current_year
from workflows import registry

WAITING_LIMIT = 10


def waiting_longest(limit: int = WAITING_LIMIT) -> list[dict]:
    """Return the requests waiting longest in a state where an official (not the owner) acts."""
    clauses = []
    for wf in registry.all_workflows():
        states = sorted({s for t in wf.transitions if not t.by_owner for s in t.source})
        if states:
            clauses.append(and_(Case.workflow == wf.name, Case.state.in_(states)))
    if not clauses:
        return []
    now = utcnow()
    cases = db.session.scalars(select(Case).where(or_(*clauses)).order_by(Case.state_entered_at).limit(limit)).all()
    return [{"case": c, "workflow": registry.get(c.workflow).title, "state": registry.get(c.workflow).label(c.state),
             "days": (now - c.state_entered_at).days} for c in cases]


def panel_context(user) -> dict:
    """Return the panel's figures: the sections' headlines of this year, cases needing attention, queues."""
    year, config = current_year(), current_app.config
    period = Period.of(year)
    headline = headlines(db.session, period, config)
    attention = [item for s in sections() if s.attention for item in s.attention(db.session, period, config)]
    return {"report_panel": {"year": year, "as_of": period.as_of.isoformat(), "headline": headline,
                             "attention": attention, "waiting": waiting_longest()}}
