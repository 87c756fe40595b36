"""count cases per (workflow, department, state) with triggers, for the case list's total

Revision ID: 0010_case_counts
Revises: 0009_state_created_index
Create Date: 2026-11-28

The list's total counted every case a person may see. For a department head that meant half the
travel cases of the city (50,000 index entries at 100,000 cases: 2.8 ms of PostgreSQL's time and
about 2 ms of SQLite's per list), growing with every year of history. `case_counts` holds the
number of cases per (workflow, department, state); triggers keep it in the same transaction as
every INSERT, DELETE or UPDATE of a case, whoever makes it (the engine, a bulk load, a restore of
rows). The list sums a few of its rows.

On PostgreSQL, a write holds the row locks of the counters it changes until it commits, so two
transactions that change the same counter (two moves of one department out of `submitted`, or a
submit and an approval there) wait for each other's commit. A move locks its two counters in key
order before changing them, so that two opposite moves cannot deadlock. (The first case ever to
reach a (workflow, department, state) inserts that counter's row first; only then could two
such first moves wait on each other, and PostgreSQL would refuse one of them.)
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_case_counts'
down_revision = '0009_state_created_index'
branch_labels = None
depends_on = None

KEY = "workflow = {r}.workflow AND department_id = {r}.department_id AND state = {r}.state"
CHANGED = ("OLD.workflow IS DISTINCT FROM NEW.workflow OR OLD.department_id IS DISTINCT FROM NEW.department_id "
           "OR OLD.state IS DISTINCT FROM NEW.state")

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION accord_case_counts() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_counts AS c (workflow, department_id, state, n)
        VALUES (NEW.workflow, NEW.department_id, NEW.state, 1)
        ON CONFLICT (workflow, department_id, state) DO UPDATE SET n = c.n + 1;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE case_counts SET n = n - 1 WHERE {KEY.format(r="OLD")};
    ELSE
        INSERT INTO case_counts (workflow, department_id, state, n)
        VALUES (NEW.workflow, NEW.department_id, NEW.state, 0)
        ON CONFLICT (workflow, department_id, state) DO NOTHING;
        -- Lock both counters in key order: an UPDATE alone locks rows in the order it finds them.
        PERFORM 1 FROM case_counts WHERE ({KEY.format(r="NEW")}) OR ({KEY.format(r="OLD")})
        ORDER BY workflow, department_id, state FOR UPDATE;
        UPDATE case_counts SET n = n + CASE WHEN {KEY.format(r="NEW")} THEN 1 ELSE -1 END
        WHERE ({KEY.format(r="NEW")}) OR ({KEY.format(r="OLD")});
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER case_counts_insert AFTER INSERT ON cases BEGIN
        INSERT OR IGNORE INTO case_counts (workflow, department_id, state, n)
        VALUES (NEW.workflow, NEW.department_id, NEW.state, 0);
        UPDATE case_counts SET n = n + 1 WHERE {KEY.format(r="NEW")};
    END""",
    f"""CREATE TRIGGER case_counts_delete AFTER DELETE ON cases BEGIN
        UPDATE case_counts SET n = n - 1 WHERE {KEY.format(r="OLD")};
    END""",
    f"""CREATE TRIGGER case_counts_update AFTER UPDATE OF workflow, department_id, state ON cases
    WHEN {CHANGED.replace("IS DISTINCT FROM", "IS NOT")} BEGIN
        UPDATE case_counts SET n = n - 1 WHERE {KEY.format(r="OLD")};
        INSERT OR IGNORE INTO case_counts (workflow, department_id, state, n)
        VALUES (NEW.workflow, NEW.department_id, NEW.state, 0);
        UPDATE case_counts SET n = n + 1 WHERE {KEY.format(r="NEW")};
    END""",
)


def upgrade():
    op.create_table(
        'case_counts',
        sa.Column('workflow', sa.String(length=40), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=40), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_case_counts_department_id_departments')),
        sa.PrimaryKeyConstraint('workflow', 'department_id', 'state', name=op.f('pk_case_counts')),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute("CREATE TRIGGER case_counts_insert_delete AFTER INSERT OR DELETE ON cases "
                   "FOR EACH ROW EXECUTE FUNCTION accord_case_counts()")
        op.execute("CREATE TRIGGER case_counts_update AFTER UPDATE OF workflow, department_id, state ON cases "
                   f"FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION accord_case_counts()")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    # The cases already there (the triggers see only what comes after them; DDL and this INSERT
    # are in the migration's one transaction on PostgreSQL).
    op.execute("INSERT INTO case_counts (workflow, department_id, state, n) "
               "SELECT workflow, department_id, state, count(*) FROM cases GROUP BY workflow, department_id, state")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_counts_update ON cases")
        op.execute("DROP TRIGGER IF EXISTS case_counts_insert_delete ON cases")
        op.execute("DROP FUNCTION IF EXISTS accord_case_counts()")
    else:
        for name in ("case_counts_update", "case_counts_delete", "case_counts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('case_counts')
