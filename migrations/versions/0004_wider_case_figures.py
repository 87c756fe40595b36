"""wider country and category columns on cases

Revision ID: 0004_wider_case_figures
Revises: 0003_list_indexes
Create Date: 2026-11-28

The workflows accept a country or an organizer of up to 120 characters; the columns they are
copied into for the report held 80, so PostgreSQL refused a valid request with an error.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0004_wider_case_figures'
down_revision = '0003_list_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        for column in ('category', 'country'):
            batch_op.alter_column(column, existing_type=sa.String(length=80), type_=sa.String(length=120),
                                  existing_nullable=True)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        for column in ('category', 'country'):
            batch_op.alter_column(column, existing_type=sa.String(length=120), type_=sa.String(length=80),
                                  existing_nullable=True)
