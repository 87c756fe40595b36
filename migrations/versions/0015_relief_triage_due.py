"""the triage deadline of each submitted relief request kept on its row (cases.due_on)

Revision ID: 0015_relief_triage_due
Revises: 0014_partnership_heads
Create Date: 2026-11-30

A relief request's triage deadline was computed from its submission; it is now kept in due_on:
the submission plus ACCORD_RELIEF_TRIAGE_SLA_HOURS (48 unless the environment sets it), moved on
by each wait for the owner's answer (from a request_info to the provide_info after it). Every
submitted request gets it from its audit trail, so that the triage queue reads in deadline order.
Downgrading leaves the column as it is: the code before reads due_on when it is set.
"""
import os
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_relief_triage_due'
down_revision = '0014_partnership_heads'
branch_labels = None
depends_on = None

_cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("workflow", sa.String),
                  sa.column("submitted_at", sa.DateTime), sa.column("due_on", sa.DateTime))
_events = sa.table("audit_events", sa.column("chain", sa.String), sa.column("seq", sa.Integer),
                   sa.column("action", sa.String), sa.column("at", sa.DateTime))


def _deadline(conn, case_id: int, hours: int):
    """Return the deadline the trail gives: the first submission plus the SLA plus every wait."""
    steps = conn.execute(sa.select(_events.c.action, _events.c.at)
                         .where(_events.c.chain == f"case:{case_id}",
                                _events.c.action.in_(("submit", "request_info", "provide_info")))
                         .order_by(_events.c.seq)).all()
    due, asked = None, None
    for action, at in steps:
        if action == "submit" and due is None:
            due = at + timedelta(hours=hours)
        elif action == "request_info":
            asked = at
        elif action == "provide_info" and asked is not None and due is not None:
            due, asked = due + (at - asked), None
    return due


def upgrade():
    hours = int(os.environ.get("ACCORD_RELIEF_TRIAGE_SLA_HOURS", "48"))
    conn = op.get_bind()
    ids = conn.execute(sa.select(_cases.c.id).where(_cases.c.workflow == "relief",
                                                   _cases.c.submitted_at.is_not(None))).scalars().all()
    for case_id in ids:
        due = _deadline(conn, case_id, hours)
        if due is not None:
            conn.execute(sa.update(_cases).where(_cases.c.id == case_id).values(due_on=due))


def downgrade():
    pass
