"""the triage deadline of each submitted relief request kept on its row (cases.due_on)

Revision ID: 0015_relief_triage_due
Revises: 0014_partnership_heads
Create Date: 2026-11-30

A relief request's triage deadline was computed from its submission; it is now kept in due_on,
moved on by the hours the request waits for its owner's answer (provide_info). Requests already
submitted get the deadline the old rule gave them: submission plus ACCORD_RELIEF_TRIAGE_SLA_HOURS
(48 unless the environment sets it), so that the triage queue can be read in deadline order.
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


def upgrade():
    hours = int(os.environ.get("ACCORD_RELIEF_TRIAGE_SLA_HOURS", "48"))
    conn = op.get_bind()
    rows = conn.execute(sa.select(_cases.c.id, _cases.c.submitted_at).where(
        _cases.c.workflow == "relief", _cases.c.submitted_at.is_not(None), _cases.c.due_on.is_(None))).all()
    for case_id, submitted_at in rows:
        conn.execute(sa.update(_cases).where(_cases.c.id == case_id)
                     .values(due_on=submitted_at + timedelta(hours=hours)))


def downgrade():
    op.execute(sa.update(_cases).where(_cases.c.workflow == "relief").values(due_on=None))
