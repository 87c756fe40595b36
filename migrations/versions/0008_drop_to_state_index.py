"""drop the (to_state, at) index of audit events

Revision ID: 0008_drop_to_state_index
Revises: 0007_page_indexes
Create Date: 2026-11-28

No query reads it since the annual report moved to its covering indexes (0006), and every
transition paid for it: one fewer index to update per audit event.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008_drop_to_state_index'
down_revision = '0007_page_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_audit_events_to_state_at', table_name='audit_events')


def downgrade():
    op.create_index('ix_audit_events_to_state_at', 'audit_events', ['to_state', 'at'], unique=False)
