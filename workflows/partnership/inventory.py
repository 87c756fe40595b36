"""The partnership inventory: reading it, editing it as an administrator, and the changes
a Council adoption makes to it. Every change appends an event to the entry's own chain."""
from __future__ import annotations

from typing import Any

from anyascii import anyascii
from marshmallow import ValidationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session, scoped_session

import clock
from models import AuditEvent, Case, Partnership, User
from models.types import utcnow
from workflows.access import visible
from workflows.audit import record_event
from workflows.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from workflows.presenters import change_lines as presented_changes
from workflows.partnership.schemas import InventoryArgs
from workflows.transaction import write_transaction

FIELDS = ("city", "country", "established", "municipality", "focus", "sponsor", "program", "status")
#: The entry's fields as its form (InventoryForm) and its history name them.
FIELD_LABELS = {"city": "City", "country": "Country", "established": "Year established",
                "municipality": "Originating municipality", "focus": "Focus", "sponsor": "Sponsoring organization",
                "program": "Program", "status": "Status"}
#: Inventory statuses a revival may start from.
REVIVABLE = ("dormant", "completed")
#: How the inventory writes a proposal's sponsoring organisation.
SPONSOR_TEXT = {"none": "N/A", "other": None}


def chain(p: Partnership) -> str:
    """Return the name of an entry's audit chain."""
    return f"partnership:{p.id}"


def entry_dict(p: Partnership) -> dict[str, Any]:
    """Return an entry as the API shows it."""
    return {"id": p.id, "city": p.city, "country": p.country, "established": p.established,
            "municipality": p.municipality, "focus": p.focus, "sponsor": p.sponsor, "program": p.program,
            "status": p.status}


def change_lines(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """Return what an event of an entry's chain set, as its page lists it: each field as the form
    names it, a status as the inventory list shows it ("Active"); the proposal whose adoption made
    the change (case_id) is named apart."""
    return presented_changes(payload, FIELD_LABELS,
                             lambda name, value: str(value).capitalize() if name == "status" else str(value))


def event_dict(e: AuditEvent) -> dict[str, Any]:
    """Return an event of an entry's chain as the API shows it."""
    return {"seq": e.seq, "at": e.at.isoformat(timespec="seconds") + "Z", "actor": e.actor_username,
            "action": e.action, "payload": e.payload}


def entries(session: Session, status: str | None = None, country: str | None = None) -> list[Partnership]:
    """Return the inventory, optionally one status or one country (as same_place compares them),
    in the order of their cities' names.

    The few entries are compared and sorted here: in SQL, the order is the bytes' on SQLite
    ("durban" and "Ávila" after "Zagreb") and the collation's on PostgreSQL, and lower() is not
    the casefold same_place compares by.
    """
    stmt = select(Partnership)
    if status:
        stmt = stmt.where(Partnership.status == status)
    rows = session.scalars(stmt)
    if country:
        rows = (p for p in rows if same_place(p.country, country))
    return sorted(rows, key=lambda p: (place_key(p.city), p.id))


def countries(session: Session) -> list[str]:
    """Return every country of the inventory, in the order of their names (as entries sorts)."""
    return sorted(session.scalars(select(Partnership.country).distinct()), key=lambda c: (place_key(c), c))


def get_entry(session: Session, pid: Any) -> Partnership:
    """Return an entry or refuse with 404."""
    p = session.get(Partnership, pid) if isinstance(pid, int) and not isinstance(pid, bool) else None
    if p is None:
        raise NotFound("No such partnership.")
    return p


def entry_label(session: Session, pid: Any) -> str:
    """Return "City, Country (status)" for an inventory entry a request names, or "" for none."""
    try:
        p = get_entry(session, pid)
    except NotFound:
        return ""
    return f"{p.city}, {p.country} ({p.status})"


def lock_inventory(session: Session) -> None:
    """Make changes of the inventory wait for one another until this transaction ends.

    Two adoptions at once (two revivals of one entry, two new partnerships with one city) would
    each check the inventory before the other committed, and both pass. On PostgreSQL a lock of
    the table that conflicts with itself (and with writes of entries) makes the second wait and
    then read what the first committed; on SQLite a write transaction holds the database's only
    write lock already.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE partnerships IN SHARE ROW EXCLUSIVE MODE"))


def lock_entry(session: Session, pid: int) -> Partnership | None:
    """Return an entry locked for update (re-read from the database), or None."""
    return session.scalars(select(Partnership).where(Partnership.id == pid).with_for_update()
                           .execution_options(populate_existing=True)).first()


def place_key(name: str) -> str:
    """Return a typed place name as names are compared and sorted: in Latin letters, letter case
    and spacing aside ("São Paulo" is the inventory's "Sao Paulo"; "Łódź" sorts among the L's)."""
    return " ".join(anyascii(name).split()).casefold()


def same_place(a: str, b: str) -> bool:
    """Return whether two typed names are the same place (see place_key)."""
    return place_key(a) == place_key(b)


class Snapshot:
    """Inventory entries (rows or objects with id, city, country and status), and the rules that
    find an entry a proposal would stand beside. Read once in a transaction (`snapshot`), it is
    what the offer of Council's adoption checks in a list of proposals, without a query per
    proposal; `Live` applies the same rules to the database as it is now, which the step itself
    asks, under lock, when taken."""

    def __init__(self, rows: list) -> None:
        self.rows = rows

    def get(self, pid: int | None):
        return next((row for row in self.rows if row.id == pid), None)

    def active_with_city(self, city: str, exclude: int | None = None):
        """Return an active entry with this city (as same_place compares names), if there is one.

        The city alone: the country is free text, and matched too, "Durban, Republic of South
        Africa" passed beside an active "Durban, South Africa". A city of the same name elsewhere
        is rare; the refusal names the country, and an administrator can add such an entry.
        """
        return next((row for row in self.rows if row.status == "active" and same_place(row.city, city)
                     and row.id != exclude), None)

    def dormant_with_city(self, city: str):
        """Return a dormant entry with this city, if there is one: the partnership a proposal for
        that city revives, rather than opening one beside it. The city alone, as for an active
        entry: an active "Sao Paulo, Brasil" beside the dormant "Sao Paulo, Brazil" would make
        that one's revival a duplicate for ever."""
        return next((row for row in self.rows if row.status == "dormant" and same_place(row.city, city)), None)

    def prospective_for(self, city: str, country: str):
        """Return a prospective entry named as this city or as its country ("Botswana": a dialogue
        with a country), if there is one: the dialogue a new partnership there comes from."""
        return next((row for row in self.rows if row.status == "prospective"
                     and (same_place(row.city, city) or same_place(row.city, country))), None)


class Live:
    """The inventory as the database holds it now, asked question by question: what a step's own
    checks read (under the adoption's lock). The few entries of a status are compared in Python
    by the Snapshot's rules (SQLite's own lower() folded ASCII letters only: "ŁÓDŹ" passed beside
    an active "Łódź")."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def active_with_city(self, city: str, exclude: int | None = None) -> Partnership | None:
        return self._of("active").active_with_city(city, exclude)

    def dormant_with_city(self, city: str) -> Partnership | None:
        return self._of("dormant").dormant_with_city(city)

    def prospective_for(self, city: str, country: str) -> Partnership | None:
        return self._of("prospective").prospective_for(city, country)

    def _of(self, status: str) -> Snapshot:
        return Snapshot(list(self.session.scalars(select(Partnership).where(Partnership.status == status)
                                                  .order_by(Partnership.id))))


_SNAPSHOT = "accord_inventory_snapshot"


def snapshot(session: Session) -> Snapshot:
    """Return the inventory as this transaction reads it, read once per transaction."""
    session = session() if isinstance(session, scoped_session) else session
    transaction = session.get_transaction()
    held = session.info.get(_SNAPSHOT)
    if held is None or transaction is None or held[0] is not transaction:
        rows = session.execute(select(Partnership.id, Partnership.city, Partnership.country, Partnership.status)
                               .order_by(Partnership.id)).all()
        held = session.info[_SNAPSHOT] = (transaction, Snapshot(rows))
    return held[1]


def proposals_for(session: Session, user: User, p: Partnership) -> list[Case]:
    """Return the partnership cases the user may see that name this entry, newest first."""
    cases = session.scalars(select(Case).where(Case.workflow == "partnership", visible(user))
                            .order_by(Case.created_at.desc(), Case.id.desc()))
    # The few partnership cases are filtered here rather than through dialect-specific JSON SQL.
    return [c for c in cases if c.data.get("partnership_id") == p.id]


def events_for(session: Session, p: Partnership) -> list[AuditEvent]:
    """Return the entry's own audit events, oldest first."""
    return list(session.scalars(select(AuditEvent).where(AuditEvent.chain == chain(p)).order_by(AuditEvent.seq)))


def _load(values: Any, partial: bool) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ValidationFailed("The entry must be an object.", {"_schema": ["Must be an object."]})
    try:
        loaded = InventoryArgs().load(values, partial=partial)
    except ValidationError as err:
        raise ValidationFailed("Some fields are not valid.", err.messages) from None
    # An empty optional text means "not known", stored as NULL as the reference data does.
    return {k: (None if v == "" and k != "focus" else v) for k, v in loaded.items()}


def require_admin(actor: User) -> None:
    """Refuse with 403 anyone but an administrator: only they change the inventory."""
    if not actor.has_role("admin"):
        raise Forbidden("Only an administrator may change the partnership inventory.")


def create_entry(session: Session, actor: User, values: Any) -> Partnership:
    """Add an entry to the inventory as an administrator, and audit it."""
    require_admin(actor)
    loaded = _load(values, partial=False)
    with write_transaction(session):
        actor = session.merge(actor)
        lock_inventory(session)  # as an adoption does: the two wait for each other
        p = Partnership(**loaded, updated_at=utcnow())
        session.add(p)
        session.flush()
        p.last_event_hash = record_event(session, actor=actor, chain=chain(p), action="inventory_create",
                                         to_state=p.status, payload={k: getattr(p, k) for k in FIELDS})["hash"]
    return p


def edit_entry(session: Session, actor: User, pid: int, values: Any, seen: str | None = None) -> Partnership:
    """Change an entry's fields as an administrator; audit what changed, from and to.

    `seen` is the entry's chain head as the editor loaded it (the edit page sends every field):
    if the entry changed since, by Council's adoption or another administrator, the edit is
    refused rather than put back what was there when the page was opened.
    """
    require_admin(actor)
    loaded = _load(values, partial=True)
    if not loaded:
        raise ValidationFailed("Nothing to change.", {"_schema": ["Give at least one field to change."]})
    with write_transaction(session):
        actor = session.merge(actor)
        # The inventory's lock before the entry's, in the order an adoption takes them: taken the
        # other way round, an edit and an adoption of one entry waited for each other (PostgreSQL
        # then failed one of them as a deadlock).
        lock_inventory(session)
        p = lock_entry(session, pid)
        if p is None:
            raise NotFound("No such partnership.")
        if seen is not None and seen != (p.last_event_hash or ""):
            raise StaleVersion(f"The {p.city} entry was changed by someone else while you were editing it "
                               f"(it is now {p.status}); it is shown as it is now: make your change again.")
        changes = {k: {"from": getattr(p, k), "to": v} for k, v in loaded.items() if getattr(p, k) != v}
        if not changes:
            # Nothing differs (a form saved again, a request repeated): nothing happened, nothing
            # is recorded, as for a case's edit; the answer is the entry as it is.
            return p
        from_status = p.status
        for name, change in changes.items():
            setattr(p, name, change["to"])
        p.updated_at = utcnow()
        session.flush()
        p.last_event_hash = record_event(session, actor=actor, chain=chain(p), action="inventory_edit",
                                         from_state=from_status, to_state=p.status, payload=changes)["hash"]
    return p


def adopt(session: Session, actor: User, case: Case) -> Partnership:
    """Make the adopted proposal's entry active, or create it active; audit it on the entry's chain.

    Runs inside the transaction of the Council's transition, so both commit or neither does.
    """
    data = case.data
    p = lock_entry(session, data["partnership_id"]) if data.get("partnership_id") else None
    before = {k: getattr(p, k) for k in FIELDS} if p is not None else None
    if p is None:
        p = Partnership(city=data["partner_city"], country=data["partner_country"], focus="")
        session.add(p)
    if data.get("proposal_type") == "new":
        # A new partnership takes its particulars from the proposal Council adopted: a prospective
        # entry may name the country alone ("Botswana"), and the partner is a city of it.
        p.city, p.country = data["partner_city"].strip(), data["partner_country"].strip()
        p.established = p.established or str(clock.today().year)
        p.municipality = p.municipality or "Toronto"
        p.focus = "; ".join(data.get("focus_areas") or []) or p.focus
        p.sponsor = SPONSOR_TEXT.get(data.get("sponsor_organization"), data.get("sponsor_organization"))
    p.status = "active"
    p.updated_at = utcnow()
    session.flush()
    if before is None:
        action, from_status, payload = "inventory_create", None, {k: getattr(p, k) for k in FIELDS}
    else:
        action, from_status = "inventory_edit", before["status"]
        payload = {k: {"from": before[k], "to": getattr(p, k)} for k in FIELDS if getattr(p, k) != before[k]}
    p.last_event_hash = record_event(session, actor=actor, chain=chain(p), action=action, from_state=from_status,
                                     to_state="active", payload={**payload, "case_id": case.id})["hash"]
    return p
