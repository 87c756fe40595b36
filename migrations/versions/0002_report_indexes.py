"""indexes for the annual report

Revision ID: 0002_report_indexes
Revises: 0001
Create Date: 2026-11-28

The report counts the year's events of a few actions (submit, approve, complete_trip...): with
(action, at) each count reads only those events, where (at, action) reads every event of the year.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002_report_indexes'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_action_at', ['action', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_action_at')
