"""The partnership inventory: reference data the partnership workflow reads and updates."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.types import utcnow

STATUSES = ("active", "dormant", "completed", "prospective")


class Partnership(db.Model):
    __tablename__ = "partnerships"

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(120), index=True)
    established: Mapped[str | None] = mapped_column(String(20))
    municipality: Mapped[str | None] = mapped_column(String(120))
    focus: Mapped[str] = mapped_column(Text, default="")
    sponsor: Mapped[str | None] = mapped_column(String(120))
    program: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The hash of the last event of the entry's audit chain, as a case row keeps its own: without
    # it, the chain's last events could be deleted (and the row edited to match) unnoticed.
    last_event_hash: Mapped[str | None] = mapped_column(String(64))
