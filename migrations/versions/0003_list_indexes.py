"""indexes for the case lists

Revision ID: 0003_list_indexes
Revises: 0002_report_indexes
Create Date: 2026-11-28

The case list (API and pages) shows the newest first: (created_at, id) lets it read one page of the
index instead of sorting every visible case, which matters at 100,000 cases.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003_list_indexes'
down_revision = '0002_report_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_created_at', ['created_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_created_at')
