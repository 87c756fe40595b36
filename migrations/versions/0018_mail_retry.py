"""a step's message keeps its words and the time its sending failed (notifications)

Revision ID: 0018_mail_retry
Revises: 0017_derived_at_decision
Create Date: 2026-12-01

An "awaits you" or outcome message whose sending failed after its step committed was recorded as
sent and never sent: the approver it was for never heard of the request, and a later hand-over
counted them as told. Its row now keeps its subject and body and, when sending fails, the time
(failed_at); `flask reminders send` sends it again. Rows made before this revision have no words
kept and are not sent again. Downgrading drops the three columns.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0018_mail_retry'
down_revision = '0017_derived_at_decision'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('notifications', sa.Column('subject', sa.Text(), nullable=True))
    op.add_column('notifications', sa.Column('body', sa.Text(), nullable=True))
    op.add_column('notifications', sa.Column('failed_at', sa.DateTime(), nullable=True))


def downgrade():
    # (ALTER TABLE ... DROP COLUMN, on SQLite 3.35 and later too: nothing refers to these.)
    op.drop_column('notifications', 'failed_at')
    op.drop_column('notifications', 'body')
    op.drop_column('notifications', 'subject')
