"""Reference data a new database needs: the partnership inventory of the framework."""
from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from criteria.loader import SAFE_LOADER
from models import AuditEvent, Partnership

INVENTORY = Path(__file__).with_name("partnerships.yaml")


def inventory_rows() -> list[dict]:
    """Return the reference inventory as the framework gives it."""
    return yaml.load(INVENTORY.read_text(encoding="utf-8"), Loader=SAFE_LOADER)  # noqa: S506 - a safe loader


def load_reference_data(session: Session) -> int:
    """Load the inventory into an empty partnerships table; return how many rows were added.

    Each entry's chain begins with its creation, by "system", as an administrator's new entry's
    does: its row then records a head, and `flask audit verify` finds a status changed outside
    Accord. Entries loaded before that got a creation event when this runs again (init-db)."""
    if session.scalar(select(func.count(Partnership.id))):
        _seal_unsealed(session)
        return 0
    rows = inventory_rows()
    session.add_all(Partnership(**row) for row in rows)
    session.flush()
    _seal_unsealed(session)
    return len(rows)


def _seal_unsealed(session: Session) -> None:
    """Record the creation of each entry whose chain has no event yet (its row no head)."""
    from workflows.audit import record_event
    from workflows.partnership.inventory import FIELDS, chain

    for p in session.scalars(select(Partnership).where(Partnership.last_event_hash.is_(None))
                             .order_by(Partnership.id)):
        if session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.chain == chain(p))):
            continue  # (a chain with events and no head is a fault verify names: not papered over)
        p.last_event_hash = record_event(session, actor=None, chain=chain(p), action="inventory_create",
                                         to_state=p.status, payload={k: getattr(p, k) for k in FIELDS})["hash"]
    session.flush()
