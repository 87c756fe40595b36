"""refuse REPLACE of audit events on SQLite and TRUNCATE on PostgreSQL

Revision ID: 0013_no_replace_truncate
Revises: 0012_sqlite_append_only
Create Date: 2026-11-30

The triggers of 0001 (PostgreSQL) and 0012 (SQLite) refuse UPDATE and DELETE of audit events,
but two statements went around them. On SQLite, INSERT OR REPLACE (or REPLACE INTO) with an
existing id or (chain, seq) deletes the old row without firing delete triggers (unless
recursive_triggers is on) and writes another in its place: an event rewritten. On PostgreSQL,
TRUNCATE fires no row trigger: the whole trail gone. Each is now refused in the statement itself.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_no_replace_truncate'
down_revision = '0012_sqlite_append_only'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
                   "FOR EACH STATEMENT EXECUTE FUNCTION accord_audit_append_only()")
        return
    # An INSERT that would take an existing event's place. (A plain INSERT of such a row failed
    # already, on the primary key or the unique (chain, seq): it fails here first, as refused.)
    op.execute("CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events "
               "WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id) "
               "OR EXISTS (SELECT 1 FROM audit_events WHERE chain = NEW.chain AND seq = NEW.seq) "
               "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: REPLACE refused'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_replace")
