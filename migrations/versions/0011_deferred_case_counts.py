"""change the case counters at commit, not at each write (PostgreSQL)

Revision ID: 0011_deferred_case_counts
Revises: 0010_case_counts
Create Date: 2026-11-29

On PostgreSQL a write holds the row locks of the counters it changes until it commits. With the
counters changed by the case's UPDATE, a transition held its department's two counters from
that UPDATE on: through the audit event's INSERT, the notifications, the app's own Python between
those statements, and the commit. Every other transition of the department out of or into the
same states waited all that time, and longer when the worker holding the locks was descheduled
(four workers on two cores): the approvals' 99th percentile over HTTP reached 246 and 436 ms
with a median near 60 ms (bench/http.py, 100,000 cases).

The triggers are now constraint triggers, DEFERRABLE INITIALLY DEFERRED: PostgreSQL runs them
as the transaction commits, so the counters are locked for the commit alone. They count the same
row changes with the same row images (OLD and NEW as each write saw them), so a transaction that
moves a case twice still moves its counts twice. A transaction no longer sees its own changes
in the counters before it commits; only the case list's total reads them, in a request of its
own. SQLite is unchanged: it has one writer at a time, and no deferred triggers.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011_deferred_case_counts'
down_revision = '0010_case_counts'
branch_labels = None
depends_on = None

CHANGED = ("OLD.workflow IS DISTINCT FROM NEW.workflow OR OLD.department_id IS DISTINCT FROM NEW.department_id "
           "OR OLD.state IS DISTINCT FROM NEW.state")


def _create(kind: str) -> None:
    # kind is "CONSTRAINT TRIGGER" (deferred to the commit) or "TRIGGER" (at each write).
    timing = " DEFERRABLE INITIALLY DEFERRED" if kind.startswith("CONSTRAINT") else ""
    op.execute(f"CREATE {kind} case_counts_insert_delete AFTER INSERT OR DELETE ON cases{timing} "
               "FOR EACH ROW EXECUTE FUNCTION accord_case_counts()")
    op.execute(f"CREATE {kind} case_counts_update AFTER UPDATE OF workflow, department_id, state ON cases{timing} "
               f"FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION accord_case_counts()")


def _drop() -> None:
    op.execute("DROP TRIGGER IF EXISTS case_counts_update ON cases")
    op.execute("DROP TRIGGER IF EXISTS case_counts_insert_delete ON cases")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _drop()
        _create("CONSTRAINT TRIGGER")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _drop()
        _create("TRIGGER")
