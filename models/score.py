"""A reviewer's ratings of a case against the criteria set in force."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.types import JSONType, utcnow
from models.user import User


class Score(db.Model):
    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    conflict: Mapped[str] = mapped_column(String(20), default="none")
    ratings: Mapped[dict[str, Any]] = mapped_column(JSONType)
    computed: Mapped[dict[str, Any]] = mapped_column(JSONType)
    percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    recommendation: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    criteria_version: Mapped[int] = mapped_column(Integer)
    criteria_hash: Mapped[str] = mapped_column(String(64))
    # A reviewer who scores again replaces their own rating; the old row stays, superseded.
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    reviewer: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (Index("ix_scores_case_id_current", "case_id", "current"),)
