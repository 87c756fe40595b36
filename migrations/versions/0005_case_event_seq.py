"""the head of each case's audit chain on the case row

Revision ID: 0005_case_event_seq
Revises: 0004_wider_case_figures
Create Date: 2026-11-28

The engine locks the case row before it appends an event; keeping the chain's last seq there (its
hash was already there) saves the query for the chain's last event on every transition.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0005_case_event_seq'
down_revision = '0004_wider_case_figures'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_event_seq', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE cases SET last_event_seq = COALESCE("
               "(SELECT MAX(seq) FROM audit_events WHERE audit_events.case_id = cases.id), 0)")


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('last_event_seq')
