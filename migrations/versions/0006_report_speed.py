"""indexes that let the annual report read a year of events without visiting their rows

Revision ID: 0006_report_speed
Revises: 0005_case_event_seq
Create Date: 2026-11-28

At 100,000 cases (about a million events) the report spent its time fetching event rows scattered
over the table. Three indexes answer its queries from the index alone:

- (action, at, case_id, chain, seq, to_state, from_state) replaces (action, at): the year's events of
  some actions with everything the counts need;
- (chain, action, seq): whether an event is its chain's first of its action, in one probe;
- (chain, seq, at, action, from_state, to_state, case_id) over state changes only: each chain's
  state changes in order, for the time each step took.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0006_report_speed'
down_revision = '0005_case_event_seq'
branch_labels = None
depends_on = None

STATE_CHANGE = "from_state IS NULL OR from_state <> to_state"


def upgrade():
    # Plain CREATE/DROP INDEX (no batch mode): the table, and its append-only triggers, stay as they are.
    op.create_index('ix_audit_events_action_at_covering', 'audit_events',
                    ['action', 'at', 'case_id', 'chain', 'seq', 'to_state', 'from_state'], unique=False)
    op.drop_index('ix_audit_events_action_at', table_name='audit_events')
    op.create_index('ix_audit_events_chain_action_seq', 'audit_events', ['chain', 'action', 'seq'], unique=False)
    op.create_index('ix_audit_events_state_changes', 'audit_events',
                    ['chain', 'seq', 'at', 'action', 'from_state', 'to_state', 'case_id'], unique=False,
                    sqlite_where=sa.text(STATE_CHANGE), postgresql_where=sa.text(STATE_CHANGE))


def downgrade():
    op.drop_index('ix_audit_events_state_changes', table_name='audit_events')
    op.drop_index('ix_audit_events_chain_action_seq', table_name='audit_events')
    op.create_index('ix_audit_events_action_at', 'audit_events', ['action', 'at'], unique=False)
    op.drop_index('ix_audit_events_action_at_covering', table_name='audit_events')
