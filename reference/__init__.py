"""Reference data a new database needs: the partnership inventory of the framework."""
from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Partnership

INVENTORY = Path(__file__).with_name("partnerships.yaml")


def inventory_rows() -> list[dict]:
    """Return the reference inventory as the framework gives it."""
    return yaml.safe_load(INVENTORY.read_text(encoding="utf-8"))


def load_reference_data(session: Session) -> int:
    """Load the inventory into an empty partnerships table; return how many rows were added."""
    if session.scalar(select(func.count(Partnership.id))):
        return 0
    rows = inventory_rows()
    session.add_all(Partnership(**row) for row in rows)
    session.flush()
    return len(rows)
