"""the derived figures of a request as they stood at its decision (cases.derived_at_decision)

Revision ID: 0017_derived_at_decision
Revises: 0016_account_heads
Create Date: 2026-12-01

A travel request's criteria read a figure the workflow derives: how many of the traveller's other
trips have overdue reports. It was read as it is today whatever the trip's state, so a trip approved
as eligible was later scored "ineligible" when another trip fell overdue. The engine now keeps the
derived figures on the row when a request is decided, and its score reads them from there.

Requests decided before this revision have none kept (their trail does not record the figure), and
go on reading today's, as before. Downgrading drops the column.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0017_derived_at_decision'
down_revision = '0016_account_heads'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('cases', sa.Column('derived_at_decision',
                                     sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                     nullable=True))


def downgrade():
    # ALTER TABLE ... DROP COLUMN, on SQLite too (3.35 and later): a batch copy of the table would
    # drop the table the audit events and scores refer to, which its foreign keys refuse.
    op.drop_column('cases', 'derived_at_decision')
