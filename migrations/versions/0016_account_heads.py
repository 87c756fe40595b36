"""the head of each account's audit chain on its user row

Revision ID: 0016_account_heads
Revises: 0015_relief_triage_due
Create Date: 2026-11-30

Who gave whom which role decides who may approve a trip or a grant: an account's changes (its
creation, its name, email address, department and roles, its closing and reopening, a password set
for it) are now appended to the audit trail, on a chain of its own ("user:N"). As for a case and an
inventory entry, the row keeps the hash of its chain's last event, so that `flask audit verify`
notices a chain cut short. Accounts made before this revision have no chain until their first change.

Downgrading is refused once an account's event exists: the trail is append-only, and the code
before this revision would name those chains as forged (and this one, upgraded again, as chains
whose heads were erased). Restore a backup taken before the upgrade instead.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0016_account_heads'
down_revision = '0015_relief_triage_due'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('last_event_hash', sa.String(length=64), nullable=True))


def downgrade():
    events = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_events WHERE chain LIKE 'user:%'")).scalar()
    if events:
        raise RuntimeError(f"Cannot downgrade below 0016_account_heads: the audit trail holds {events} event(s) of "
                           "accounts (chains user:N), which are never deleted and which the code before it would "
                           "name as forged. Restore a backup taken before the upgrade instead.")
    # A plain ALTER TABLE on both databases (SQLite 3.35 and later): a batch operation would copy
    # the users table, and dropping the old one is refused while foreign keys point at it.
    op.execute("ALTER TABLE users DROP COLUMN last_event_hash")
