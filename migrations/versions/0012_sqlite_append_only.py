"""refuse UPDATE and DELETE of audit events on SQLite too

Revision ID: 0012_sqlite_append_only
Revises: 0011_deferred_case_counts
Create Date: 2026-11-29

The audit trail is append-only (product.md: events are never updated or deleted). PostgreSQL has
refused both since the first migration, with a row trigger; on SQLite an edit was only found
afterwards, by `flask audit verify`. These triggers refuse it there as well, in the statement
itself, whoever sends it.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_sqlite_append_only'
down_revision = '0011_deferred_case_counts'
branch_labels = None
depends_on = None

OPERATIONS = ("UPDATE", "DELETE")


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL: audit_events_append_only, since 0001
    for operation in OPERATIONS:
        op.execute(f"CREATE TRIGGER audit_events_no_{operation.lower()} BEFORE {operation} ON audit_events "
                   f"BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: {operation} refused'); END")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for operation in OPERATIONS:
        op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{operation.lower()}")
