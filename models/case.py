"""A case: one request moving through one workflow."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, joinedload, lazyload, mapped_column, relationship

from extensions import db
from models.types import NULLABLE_JSON, JSONType, Money, utcnow
from models.user import Department, User


class Case(db.Model):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    goals: Mapped[list[str]] = mapped_column(JSONType, default=list)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When the case last entered `submitted`, and its current state: deadlines and queues use them.
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    state_entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Figures copied from `data` by the workflow so that reports aggregate them in SQL.
    category: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(120))
    amount_requested: Mapped[Decimal | None] = mapped_column(Money)
    amount_granted: Mapped[Decimal | None] = mapped_column(Money)
    amount_paid: Mapped[Decimal | None] = mapped_column(Money)
    due_on: Mapped[datetime | None] = mapped_column(DateTime)
    # The role its owner made the request in, where the workflow's approver depends on it (a trip's:
    # "councillor", decided by the committee, or "staff"), fixed when it left its draft: a role
    # taken away or given later (a term of office ended) does not hand it to another approver.
    # None in a draft, and on requests sent on before migration 0021 until their next change (the
    # roles their submit event recorded are read).
    requested_as: Mapped[str | None] = mapped_column(String(40))
    # The figures the workflow derives for its criteria (a traveller's overdue reports), as they
    # stood when the request was decided: its score then reads what its approver read, not what a
    # later day says of the applicant's other requests.
    derived_at_decision: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON)
    # The aggregate score as it stood when the request was decided, with the criteria set it was
    # worked out under (workflows.scoring.decision_score): a later set does not re-judge it.
    score_at_decision: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON)
    # The head of the case's audit chain (its last event's seq and hash), kept on the row the engine
    # locks anyway, so that appending an event needs no query for the chain's last event.
    last_event_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    last_event_hash: Mapped[str | None] = mapped_column(String(64))

    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")

    # The ORM adds "AND version = :old" to every UPDATE and raises StaleDataError when no row
    # matched, so a lost update is impossible even where the database cannot lock the row.
    # The engine raises the version itself, once per change, however many flushes that takes.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    __table_args__ = (
        # Cases of a workflow in a state, oldest arrival first: what the dashboard's "awaiting you" reads.
        Index("ix_cases_workflow_state_entered", "workflow", "state", "state_entered_at"),
        # Who sees a case (visible()) and the list filters, all in one index: counting a page's
        # total reads this index, not the case rows with their data.
        Index("ix_cases_visibility", "department_id", "workflow", "state", "owner_id", "assignee_id"),
        # Only assigned cases (most are not): an index of every case's NULL made SQLite's planner
        # judge it useless and scan the table to find the few cases assigned to someone.
        Index("ix_cases_assignee_id", "assignee_id", sqlite_where=text("assignee_id IS NOT NULL"),
              postgresql_where=text("assignee_id IS NOT NULL")),
        Index("ix_cases_state_due_on", "state", "due_on"),
        Index("ix_cases_created_at", "created_at", "id"),
        # The list filtered by state, newest first: without it, finding the newest submitted cases
        # walked the creation index back through every closed one.
        Index("ix_cases_state_created", "state", "created_at", "id"),
        # A traveller's other trips, newest first, on the case page.
        Index("ix_cases_owner_created", "owner_id", "created_at"),
    )

    def __repr__(self) -> str:
        return f"<Case {self.id} {self.workflow}:{self.state}>"


#: Loader options for the case rows alone, without the joins that load their owner, assignee and
#: department: each then loads when read, from the session's identity map when it is there.
CASE_ALONE = (lazyload(Case.owner), lazyload(Case.assignee), lazyload(Case.department))
#: Loader option for the owner with their roles, in the query of the cases: the rules that decide
#: who may act read the owner's roles, and would otherwise read them in a second query. A query of
#: several cases then repeats a case per role: read its result with .unique().
OWNER_AND_ROLES = joinedload(Case.owner).joinedload(User.roles)
#: Loader options for rows of a table of cases, which show the owner but not the assignee or the
#: department (each loads when read, from the identity map when it is there).
CASE_ROW = (lazyload(Case.assignee), lazyload(Case.department), OWNER_AND_ROLES)


class CaseCount(db.Model):
    """How many cases each (workflow, department, state) holds, kept by triggers on `cases`.

    The case list's total for someone who reads a whole workflow (or a department's share of it)
    is a sum of a few of these rows, instead of a count of every matching case, which grew with
    the years of history: 2.8 ms of PostgreSQL's time per list at 100,000 cases. The triggers
    (migration 0010) follow every INSERT, DELETE and UPDATE of a case, whoever writes it, in the
    writer's transaction; the application never writes this table, except `flask recount-cases`,
    which rebuilds it after what row triggers do not see (TRUNCATE, triggers disabled).
    """

    __tablename__ = "case_counts"

    workflow: Mapped[str] = mapped_column(String(40), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
