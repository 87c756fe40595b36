"""each case event records a digest of the case's row as the step left it (audit_events.row_digest)

Revision ID: 0019_event_row_digest
Revises: 0018_mail_retry
Create Date: 2026-12-01

The annual report reads a case's amounts, dates and fields from its row, which the engine writes
with each event; `flask audit verify` proved the events untouched, not the rows, so a row edited in
the database changed the report unnoticed. Each case event now records, under its hash, the
SHA-256 of the case's row as the step left it (row_digest) and as the step found it when it
locked the case (found_digest); verify compares the row with its last event's, and each event's
found digest with the event before's (a row changed and then stepped on is named all the same).
Events before this revision have none, and hash as before; a case's row is checked from its first
event after it.

Downgrading is refused once an event records a digest: its hash covers the digest, and the code
before this revision, reading events without it, would name every such event as edited. (Set
ACCORD_DOWNGRADE_DISCARDING_ROW_DIGESTS=1 to downgrade all the same, on a copy to be thrown away:
the project's migration tests do.)
"""
import os

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0019_event_row_digest'
down_revision = '0018_mail_retry'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_events', sa.Column('row_digest', sa.String(length=64), nullable=True))
    op.add_column('audit_events', sa.Column('found_digest', sa.String(length=64), nullable=True))


def downgrade():
    count = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_events WHERE row_digest IS NOT NULL")).scalar()
    if count and os.environ.get("ACCORD_DOWNGRADE_DISCARDING_ROW_DIGESTS") != "1":
        raise RuntimeError(f"Cannot downgrade below 0019_event_row_digest: the audit trail holds {count} event(s) "
                           "whose hash covers a row digest, which the code before would name as edited. Restore a "
                           "backup taken before the upgrade instead.")
    # A plain ALTER TABLE on both databases (SQLite 3.35 and later): a batch operation would copy
    # the table, whose triggers refuse the copy's DELETE.
    op.execute("ALTER TABLE audit_events DROP COLUMN found_digest")
    op.execute("ALTER TABLE audit_events DROP COLUMN row_digest")
