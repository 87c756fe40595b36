"""the score of a request as it stood at its decision (cases.score_at_decision)

Revision ID: 0020_score_at_decision
Revises: 0019_event_row_digest
Create Date: 2026-12-01

A decided request's score was worked out again under the criteria in force whenever it was shown:
a relief request approved at 77% (approve) read "ineligible", under a knock-out rule the office
added after the approval, and its figure vanished once its scores were of an earlier version. The
engine now keeps the aggregate score on the row when a request is decided, under the criteria it
was decided by, and the pages and the API show that one.

Requests decided before this revision have none kept, and are shown as before. The column is in
the row digest each event records (when it holds a score), so a downgrade with kept scores is
refused: the code before would name those requests' rows as changed outside Accord.
"""
import os

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0020_score_at_decision'
down_revision = '0019_event_row_digest'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('cases', sa.Column('score_at_decision',
                                     sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                     nullable=True))


def downgrade():
    kept = op.get_bind().execute(sa.text("SELECT count(*) FROM cases WHERE score_at_decision IS NOT NULL")).scalar()
    if kept and os.environ.get("ACCORD_DOWNGRADE_DISCARDING_DECISION_SCORES") != "1":
        raise RuntimeError(f"Cannot downgrade below 0020_score_at_decision: {kept} decided request(s) keep the score "
                           "they were decided with, which their audit events' row digests cover. Restore a backup "
                           "taken before the upgrade instead.")
    # ALTER TABLE ... DROP COLUMN on both databases, as 0017 does (a batch copy would drop the
    # table the audit events and scores refer to).
    op.drop_column('cases', 'score_at_decision')
