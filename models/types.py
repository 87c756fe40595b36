"""Column types shared by the models."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import JSON, Numeric
from sqlalchemy.dialects.postgresql import JSONB

# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")
#: A JSON column whose None is SQL NULL, not the JSON null (which IS NOT NULL finds): for a value
#: that is kept or not, such as a request's score at its decision.
NULLABLE_JSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
Money = Numeric(14, 2, asdecimal=True)
CENT = Decimal("0.01")


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime, the form every column stores."""
    from clock import now

    return now().astimezone(timezone.utc).replace(tzinfo=None)
