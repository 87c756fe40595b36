"""the role a request was made in (cases.requested_as)

Revision ID: 0021_requested_as
Revises: 0020_score_at_decision
Create Date: 2026-12-02

Who decides a trip was worked out from the traveller's roles of the day: a councillor whose term
ended (their role taken away, the account kept) while the committee was to accept their post-trip
report left it to the head of City Council, whom there is none, so no one could accept or return
it, and the administrator was told that City Council's staff trips had no head. The travel
workflow now keeps the role the trip was requested in when it leaves its draft.

Requests made before this revision keep none: the roles their submit event recorded are read,
until their next change keeps the role on the row (a backfill here would have changed rows whose
events' digests do not cover the column). The column is in the row digest each event records (when it holds
a role), so a downgrade once one is recorded is refused: the code before would name those
requests' rows as changed outside Accord.
"""
import os

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0021_requested_as'
down_revision = '0020_score_at_decision'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('cases', sa.Column('requested_as', sa.String(length=40), nullable=True))


def downgrade():
    kept = op.get_bind().execute(sa.text("SELECT count(*) FROM cases WHERE requested_as IS NOT NULL")).scalar()
    if kept and os.environ.get("ACCORD_DOWNGRADE_DISCARDING_REQUESTED_AS") != "1":
        raise RuntimeError(f"Cannot downgrade below 0021_requested_as: {kept} request(s) keep the role they were made "
                           "in, which their audit events' row digests cover. Restore a backup taken before the "
                           "upgrade instead.")
    # ALTER TABLE ... DROP COLUMN on both databases, as 0017 and 0020 do.
    op.drop_column('cases', 'requested_as')
