"""indexes for the case page and the dashboard

Revision ID: 0007_page_indexes
Revises: 0006_report_speed
Create Date: 2026-11-28

The travel case page lists the traveller's twenty latest other trips; with only the owner index
the database sorted every trip of that traveller on each view. The dashboard lists the cases
waiting in the states a person acts on, oldest arrival first: the (workflow, state) index grows
the arrival time, so those few cases are found without reading the years of closed ones. The
case list counts the cases a person may see: an index holding every column of that condition
(and of the list's filters) is counted instead of the case rows, data and all.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_page_indexes'
down_revision = '0006_report_speed'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_cases_owner_created', 'cases', ['owner_id', 'created_at'], unique=False)
    op.create_index('ix_cases_workflow_state_entered', 'cases', ['workflow', 'state', 'state_entered_at'],
                    unique=False)
    op.drop_index('ix_cases_workflow_state', table_name='cases')
    op.create_index('ix_cases_visibility', 'cases', ['department_id', 'workflow', 'state', 'owner_id', 'assignee_id'],
                    unique=False)
    op.drop_index('ix_cases_department_workflow', table_name='cases')


def downgrade():
    op.create_index('ix_cases_department_workflow', 'cases', ['department_id', 'workflow'], unique=False)
    op.drop_index('ix_cases_visibility', table_name='cases')
    op.create_index('ix_cases_workflow_state', 'cases', ['workflow', 'state'], unique=False)
    op.drop_index('ix_cases_workflow_state_entered', table_name='cases')
    op.drop_index('ix_cases_owner_created', table_name='cases')
