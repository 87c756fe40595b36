"""Append-only audit events, hash-chained per case."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.types import JSONType


#: The SQL condition that an event moved its case into a state (creation included); the report's
#: queries spell it the same way (reports.annual.state_change), so that the partial index serves them.
STATE_CHANGE = "from_state IS NULL OR from_state <> to_state"


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The hash chain an event belongs to: "case:12", "partnership:3" for reference data, "user:7" for an account.
    chain: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_username: Mapped[str] = mapped_column(String(80))
    actor_roles: Mapped[list[str]] = mapped_column(JSONType)
    action: Mapped[str] = mapped_column(String(60))
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # A case's event: the SHA-256 of the case's row as the step left it (workflows.audit.row_digest),
    # covered by the hash; none for other chains' events, nor for a case's before migration 0019.
    row_digest: Mapped[str | None] = mapped_column(String(64))
    # ... and of the row as the step found it when it locked the case (none for a creation): it must
    # be the event before's row_digest, or the row was changed outside Accord in between.
    found_digest: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("chain", "seq", name="uq_audit_events_chain_seq"),
        Index("ix_audit_events_at_action", "at", "action"),
        # The annual report reads a year of events of some actions, each with its case, chain, seq and
        # states: covering them all, the index answers without visiting the (large) rows.
        Index("ix_audit_events_action_at_covering", "action", "at", "case_id", "chain", "seq", "to_state",
              "from_state"),
        # "Is this its chain's first event of this action?" (a request counts once, when first
        # submitted) is one probe into this index.
        Index("ix_audit_events_chain_action_seq", "chain", "action", "seq"),
        # Each chain's state changes in order, with what the report needs of them: the cycle time of a
        # step runs from the previous state change of its chain.
        Index("ix_audit_events_state_changes", "chain", "seq", "at", "action", "from_state", "to_state", "case_id",
              sqlite_where=text(STATE_CHANGE), postgresql_where=text(STATE_CHANGE)),
    )
