"""the head of each partnership entry's audit chain on its row

Revision ID: 0014_partnership_heads
Revises: 0013_no_replace_truncate
Create Date: 2026-11-30

A case row keeps the hash of its chain's last event, so that `flask audit verify` notices a chain
cut short; an inventory entry's chain (an administrator's changes, an adoption) had no such head,
and its last events could be deleted, the row edited to match, unnoticed.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014_partnership_heads'
down_revision = '0013_no_replace_truncate'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('partnerships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_event_hash', sa.String(length=64), nullable=True))
    op.execute("UPDATE partnerships SET last_event_hash = (SELECT hash FROM audit_events "
               "WHERE audit_events.chain = 'partnership:' || partnerships.id ORDER BY seq DESC LIMIT 1)")


def downgrade():
    with op.batch_alter_table('partnerships', schema=None) as batch_op:
        batch_op.drop_column('last_event_hash')
