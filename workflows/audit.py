"""The audit trail: the one writer of audit events, and the checks of their hash chains."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import Text, bindparam, cast, func, insert, select, text
from sqlalchemy.orm import Session, joinedload, scoped_session, selectinload

from models import AuditEvent, Case, User
from models.types import utcnow

GENESIS = "0" * 64
#: A chain's head as its subject's row records it: the last event's hash, its seq (a case's row
#: only) and the state (or inventory status) it left.
Head = tuple[str | None, int | None, str | None]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not serialisable: {type(value).__name__}")


def canonical(value: Any) -> str:
    """Serialise a value the same way every time: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def jsonable(value: Any) -> Any:
    """Return a value as it will read back from a JSON column."""
    return json.loads(canonical(value))


def settled(value: Any) -> Any:
    """Return a value with its empty (None) entries left out, at every depth of its objects, and
    its text's line breaks as LF: a field sent empty and a field not sent mean the same to a
    request, when telling what changed, and so do a text saved with CR LF line breaks (as pages
    sent them before they were read as LF) and the same text with LF."""
    if isinstance(value, dict):
        return {key: settled(item) for key, item in value.items() if item is not None}
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    return value


def _hashed(chain: str, seq: int, at: datetime, actor_id: int | None, actor: str, roles: list, action: str,
            from_state: str | None, to_state: str | None, comment: str | None, payload: Any, prev: str,
            row: str | None = None, found: str | None = None) -> str:
    fields = {"chain": chain, "seq": seq, "at": at.isoformat(timespec="microseconds"), "actor_id": actor_id,
              "actor": actor, "roles": list(roles), "action": action, "from": from_state, "to": to_state,
              "comment": comment, "payload": payload, "prev": prev}
    if row is not None:  # (events before migration 0019 have none, and hash as they did)
        fields["row"] = row
    if found is not None:
        fields["found"] = found
    return hashlib.sha256(canonical(fields).encode()).hexdigest()


def event_hash(e: AuditEvent) -> str:
    """Return the SHA-256 of an event's canonical serialisation (its prev_hash included)."""
    return _hashed(e.chain, e.seq, e.at, e.actor_id, e.actor_username, e.actor_roles, e.action, e.from_state,
                   e.to_state, e.comment, e.payload, e.prev_hash, e.row_digest, e.found_digest)


#: What a case's row holds that the report, the lists and the rules read: each event of the case
#: records a digest of it as the step left it, so that the row changed outside Accord is noticed.
ROW_FIELDS = ("workflow", "title", "state", "owner_id", "department_id", "assignee_id", "goals", "data",
              "created_at", "updated_at", "submitted_at", "state_entered_at", "category", "country",
              "amount_requested", "amount_granted", "amount_paid", "due_on", "derived_at_decision")
#: Fields added to the row after ROW_FIELDS: in the digest only when they hold something, so that
#: the digests events recorded before them still match a row that holds nothing there.
LATER_ROW_FIELDS = ("score_at_decision", "requested_as")
#: The columns of a case's row that SQLite stores as text the report reads in SQL: JSON and moments.
_CASE_MOMENTS = ("created_at", "updated_at", "submitted_at", "state_entered_at", "due_on")
_CASE_TEXTS = frozenset(("goals", "data", "derived_at_decision", "score_at_decision", *_CASE_MOMENTS))
#: The attribute on a locked Case that holds the digest of its row as the step found it.
FOUND = "_accord_found_digest"


def row_digest(case: Any) -> str:
    """Return the SHA-256 of a case's ROW_FIELDS (a Case, or a row read with those columns).

    An amount is written with its cents: a Money column reads back 1250 as 1250.00."""
    values = {name: getattr(case, name) for name in ROW_FIELDS}
    values.update({name: value for name in LATER_ROW_FIELDS if (value := getattr(case, name, None)) is not None})
    values.update({name: f"{value:.2f}" for name, value in values.items() if isinstance(value, Decimal)})
    return hashlib.sha256(canonical(values).encode()).hexdigest()


def account_status(active: bool) -> str:
    """Return the state an account's chain records: "active" or "deactivated"."""
    return "active" if active else "deactivated"


def record_event(
    session: Session,
    *,
    actor: User | None,
    action: str,
    case: Case | None = None,
    chain: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    payload: dict | None = None,
    actor_roles: list[str] | None = None,
) -> dict[str, Any]:
    """Append one event to the chain of a case (or of another subject) and return its row
    (`actor_roles`: the roles the actor acted with, when the change being recorded changed them).

    The caller holds the lock on the subject (the case row), so appends to one chain are
    serialised; the unique (chain, seq) constraint catches any writer that did not. A case's
    chain head (seq and hash) is read from and written to the locked case row; other chains
    look up their last event.
    """
    if case is not None and chain is None:
        chain = f"case:{case.id}"
        seq, prev = (case.last_event_seq or 0) + 1, case.last_event_hash or GENESIS
    else:
        last = session.execute(_LAST, {"chain": chain}).first()
        seq, prev = ((last.seq + 1), last.hash) if last else (1, GENESIS)
    row = {"chain": chain, "case_id": case.id if case is not None else None, "seq": seq, "at": utcnow(),
           "actor_id": actor.id if actor else None, "actor_username": actor.username if actor else "system",
           "actor_roles": actor_roles if actor_roles is not None else sorted(actor.role_names) if actor else [],
           "action": action,
           "from_state": from_state, "to_state": to_state, "comment": comment or None,
           "payload": jsonable(payload or {}), "prev_hash": prev,
           "row_digest": None, "found_digest": None}
    if case is not None and chain == f"case:{case.id}":
        # The row as the step left it, and as the step found it when it locked the case: a row
        # changed outside Accord and then stepped on is told by the second differing from the
        # event before's first (which a later event's own digest would otherwise have made good).
        row["row_digest"], row["found_digest"] = row_digest(case), getattr(case, FOUND, None)
    row["hash"] = _hashed(chain, seq, row["at"], row["actor_id"], row["actor_username"], row["actor_roles"],
                          action, from_state, to_state, row["comment"], row["payload"], prev, row["row_digest"],
                          row["found_digest"])
    # A Core INSERT on the transaction's connection: the event is written once and never changed,
    # so the unit of work has nothing to track (and would cost more than the INSERT itself).
    session.connection().execute(_INSERT, row)
    if case is not None:
        case.last_event_seq, case.last_event_hash = seq, row["hash"]
        if row["row_digest"] is not None:
            setattr(case, FOUND, row["row_digest"])  # (another event in this transaction finds it so)
    return row


def case_events(session: Session, case_id: int) -> list[AuditEvent]:
    """Return a case's events in order (its chain)."""
    return list(session.scalars(_CASE_EVENTS, {"chain": f"case:{case_id}"}))


_CASE_EVENTS = select(AuditEvent).where(AuditEvent.chain == bindparam("chain")).order_by(AuditEvent.seq)
_LAST = (select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.chain == bindparam("chain"))
         .order_by(AuditEvent.seq.desc()).limit(1))
_INSERT = insert(AuditEvent.__table__)


@dataclass
class Fault:
    event_id: int | None
    chain: str
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"event {self.event_id} (chain {self.chain}, seq {self.seq})" if self.event_id else f"chain {self.chain}"
        return f"{where}: {self.reason}"


def check_chain(events: Iterable[AuditEvent], expected_head: str | None = None,
                head_seq: int | None = None, state: str | None = None, row: str | None = None) -> Fault | None:
    """Return the first fault of one chain's events (in seq order), or None.

    expected_head (and head_seq) are the chain's head as its case's row records it: the last
    event must be that one. Given head_seq, events after it are accepted if they chain on from it:
    a page reads the case and its events in two statements, and a step that commits between the
    two appends one (a trail cut short or rewritten still fails: its head is gone or differs).
    Given the case's state, it must be the to-state of that last event (product.md: the state and
    its event commit together), or the state was changed outside Accord; given the digest of the
    case's row as read (row_digest), it must be the one the head recorded.
    """
    prev, expected_seq, chain, last, at_head = GENESIS, 1, None, None, None
    left = None  # the row digest the event before recorded
    for e in events:
        chain = e.chain
        if _chain_subject(e.chain) is None:
            return _name_fault(e)
        if e.case_id != _case_of(e.chain):
            return Fault(e.id, e.chain, e.seq, "the event names another case than its chain's: it was moved")
        if e.seq != expected_seq:
            return Fault(e.id, e.chain, e.seq, f"expected seq {expected_seq}: an event was removed or reordered")
        if e.prev_hash != prev:
            return Fault(e.id, e.chain, e.seq, "prev_hash does not match the previous event: removed or reordered")
        if event_hash(e) != e.hash:
            return Fault(e.id, e.chain, e.seq, "hash does not match the content: the event was edited")
        if e.seq == 1 and _case_of(e.chain) is not None and e.action != "create":
            return Fault(e.id, e.chain, e.seq, f"a case's chain begins with its creation, this one with "
                                               f"'{e.action}': its beginning was forged")
        if e.found_digest is not None and left is not None and e.found_digest != left:
            return Fault(e.id, e.chain, e.seq, "the step found the case's row other than the event before left it: "
                                               "the row was changed outside Accord")
        prev, expected_seq, last, left = e.hash, expected_seq + 1, e, e.row_digest
        if e.seq == head_seq:
            at_head = e
    if expected_head is not None and last is not None:
        head = at_head if head_seq is not None and last.seq > head_seq else last
        if head is None or head.hash != expected_head:
            return Fault(None, chain or "?", None, f"the {_subject(chain)}'s last event hash differs: events were "
                                                   "cut off")
        if state is not None and head.to_state != state:
            return Fault(head.id, head.chain, head.seq, f"the {_subject(chain)} is '{state}' but its last event left it "
                                                        f"'{head.to_state}': the state was changed outside Accord")
        if row is not None and head is last and head.row_digest is not None and head.row_digest != row:
            return Fault(None, chain or "?", None, "the case's row differs from what its last event recorded of it "
                                                   "(its data, amounts, dates or fields): it was changed outside Accord")
    return None


def _subject(chain: str | None) -> str:
    """Return what a chain is the trail of, as a fault names it: "case", the inventory's "entry", or
    an "account"."""
    kind = (chain or "").partition(":")[0]
    return {"partnership": "entry", "user": "account"}.get(kind, "case")


#: The names Accord gives chains, exactly: "case:12", "partnership:3", "user:7" (no sign, no leading zero).
_CHAIN_NAME = re.compile(r"(case|partnership|user):([1-9][0-9]*)")


def _chain_subject(chain: str) -> tuple[str, int] | None:
    """Return the kind and id of the subject whose chain this is, or None for a name that is not
    exactly the one Accord gives it ("case:016" and "case:+16" are not case 16's chain)."""
    match = _CHAIN_NAME.fullmatch(chain)
    return (match[1], int(match[2])) if match else None


def _case_of(chain: str) -> int | None:
    """Return the id of the case whose chain this is ("case:12"), or None for another subject's."""
    subject = _chain_subject(chain)
    return subject[1] if subject is not None and subject[0] == "case" else None


def _duplicate_key(stored: str) -> str | None:
    """Return a key that an object of a JSON text repeats, at any depth, or None (ValueError: not JSON).

    orjson keeps the last of two equal keys and SQLite's JSON functions (the report's) read the
    first, so such a payload hashes as one value and is counted as another.
    """
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        if not found and len(set(keys)) < len(keys):
            found.append(next(key for key in keys if keys.count(key) > 1))
        return dict(items)

    json.loads(stored, object_pairs_hook=pairs)
    return found[0] if found else None


#: A moment as SQLAlchemy writes it to SQLite. Python reads other forms too (an ISO week date,
#: the basic format "20250616T130000"), which the report's SQL compares as text or cannot read.
_STORED_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")


def _misstored(stored: dict[str, str | None], moments: Iterable[str]) -> str | None:
    """Return a column of a row read from SQLite whose text is not what Accord writes, or None.

    The hashes and row digests cover the values as Python reads them back; the report reads the
    text in SQL. JSON other than the serializer's own (an escaped letter, spaces, a key given
    twice) or a moment in another form hashes as one value and is counted as another.
    """
    for column, value in stored.items():
        if value is None:
            continue
        if column in moments:
            if _STORED_MOMENT.fullmatch(value) is None:
                return column
        elif json.dumps(json.loads(value)) != value:
            return column
    return None


def _stored_json_fault(e: AuditEvent, stored: list[str | None]) -> Fault | None:
    """Return the fault of an event whose stored text (payload, actor roles, time) is not as Accord
    writes it: a JSON key repeated, or any other form (read on SQLite alone: elsewhere stored is empty)."""
    if not stored:
        return None
    texts = dict(zip(("payload", "actor_roles", "at"), stored))
    for column in ("payload", "actor_roles"):
        try:
            key = _duplicate_key(texts[column]) if texts[column] is not None else None
        except ValueError:
            return Fault(e.id, e.chain, e.seq, f"the stored {column} is not JSON text")
        if key is not None:
            return Fault(e.id, e.chain, e.seq, f"the stored {column} repeats the key {key!r}: it reads as one "
                                               "value to the hash and as another to the report")
    if (column := _misstored(texts, ("at",))) is not None:
        return Fault(e.id, e.chain, e.seq, f"the stored {column} is not in the form Accord writes: it reads as one "
                                           "value to the hash and as another to the report")
    return None


def _name_fault(first: AuditEvent) -> Fault:
    """Return the fault of a chain that is no subject's: a name Accord does not write, or its
    case or entry does not exist."""
    subject = _chain_subject(first.chain)
    if subject is None:
        return Fault(first.id, first.chain, first.seq, "the chain's name is not one Accord writes (case:N, "
                                                       "partnership:N, user:N): the event was forged under another "
                                                       "name")
    kind = {"case": "case", "partnership": "inventory entry", "user": "account"}[subject[0]]
    return Fault(first.id, first.chain, first.seq, f"the chain's {kind} {subject[1]} does not exist")


def _replay_fault(events: list[AuditEvent], row: dict[str, Any]) -> Fault | None:
    """Return the fault of an inventory entry or account whose row differs from what its chain
    recorded: its creation recorded every detail, each change a detail's value from and to.

    A case's events record a digest of its row; these chains record the details themselves, and
    the state alone was compared: a role granted in the database (who approves a grant) or an
    entry renamed verified. An account made before its chain began (migration 0016) is compared
    on the details changed since.
    """
    recorded: dict[str, Any] = {}
    for e in events:
        payload = e.payload if isinstance(e.payload, dict) else {}
        if e.action in ("account_create", "inventory_create"):
            recorded.update({name: value for name, value in payload.items() if name in row})
        else:
            recorded.update({name: change["to"] for name, change in payload.items()
                             if name in row and isinstance(change, dict) and "to" in change})
    if differs := [name for name, value in row.items() if name in recorded and recorded[name] != value]:
        last = events[-1]
        return Fault(None, last.chain, None, f"the {_subject(last.chain)}'s {', '.join(differs)} differ from what its "
                                             "chain recorded: changed outside Accord")
    return None


def _chain_fault(events: list[AuditEvent], heads: dict[str, Head], rows: dict[str, str]) -> Fault | None:
    """Return the first fault of one chain read by verify_all, its subject's head and state known.

    The chain must be exactly its subject's (heads is keyed by those names), and that subject's
    row must record a head: a NULL one would switch off the checks of a cut trail and of the state.
    A case's row also records the seq of its head, which must be the last event's.
    """
    first, last = events[0], events[-1]
    if first.chain not in heads:
        return _name_fault(first)
    head, head_seq, state = heads[first.chain]
    if head is None:
        return check_chain(events) or Fault(None, first.chain, None, f"the {_subject(first.chain)}'s row records "
                                                                      "no head, yet its chain has events: the head "
                                                                      "was erased")
    fault = check_chain(events, head, state=state, row=rows.get(first.chain))
    if fault is None and head_seq is not None and head_seq != last.seq:
        return Fault(None, first.chain, None, f"the {_subject(first.chain)}'s row records seq {head_seq} as its "
                                              f"head, its chain ends at seq {last.seq}: the head was altered")
    return fault


def verify_all(session: Session, batch: int = 5000) -> tuple[int, int, list[Fault]]:
    """Check every chain; return (chains, events, faults) with the first fault of each bad chain."""
    # One snapshot for the heads and the events: on PostgreSQL each statement of a READ COMMITTED
    # transaction sees what committed before it began, so a step committed between the two read
    # as a trail cut short. (Only where the transaction has not begun: the first statement sets it.)
    session = session() if isinstance(session, scoped_session) else session
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    # Each chain's head (hash and, for a case, seq) and the state it left, by the chain's name: the
    # cases', the inventory entries' and the accounts' (active or deactivated).
    from models import Partnership
    from workflows.partnership.inventory import FIELDS  # (what an entry's chain records of it)

    # On SQLite a JSON or time column is the text as stored, read alongside (see _misstored).
    raw = session.get_bind().dialect.name == "sqlite"
    stored_columns = [name for name in ROW_FIELDS + LATER_ROW_FIELDS if name in _CASE_TEXTS] if raw else []
    heads: dict[str, Head] = {}
    rows: dict[str, str] = {}  # each case's row digest, as the row stands
    misstored: list[Fault] = []  # cases whose row stores a column in another form than Accord's
    for case in session.execute(select(Case.id, Case.last_event_hash, Case.last_event_seq,
                                       *(getattr(Case, name) for name in ROW_FIELDS + LATER_ROW_FIELDS),
                                       *(cast(getattr(Case, name), Text).label(f"stored_{name}") for name in stored_columns))
                                .execution_options(yield_per=batch)):
        chain = f"case:{case.id}"
        heads[chain] = (case.last_event_hash, case.last_event_seq, case.state)
        rows[chain] = row_digest(case)
        texts = {name: getattr(case, f"stored_{name}") for name in stored_columns}
        if stored_columns and (column := _misstored(texts, _CASE_MOMENTS)) is not None:
            misstored.append(Fault(None, chain, None, f"the case's row stores its {column} in another form than Accord "
                                                      "writes: it reads as one value to the digest and as another to "
                                                      "the report (it was changed outside Accord)"))
    # And the details the inventory's and the accounts' chains record (see _replay_fault).
    details: dict[str, dict[str, Any]] = {}
    for entry in session.scalars(select(Partnership)):
        heads[f"partnership:{entry.id}"] = (entry.last_event_hash, None, entry.status)
        details[f"partnership:{entry.id}"] = {name: getattr(entry, name) for name in FIELDS}
    for user in session.scalars(select(User).options(selectinload(User.roles), joinedload(User.department))):
        heads[f"user:{user.id}"] = (user.last_event_hash, None, account_status(user.active))
        details[f"user:{user.id}"] = {"username": user.username, "full_name": user.full_name, "email": user.email,
                                      "department": user.department.name, "roles": sorted(user.role_names)}
    # On SQLite a JSON column is the text as stored, and a payload may repeat a key: orjson (the
    # hash) keeps the last value, SQLite's JSON functions (the report) read the first. The stored
    # text is read alongside and refused if it repeats one, or is in any other form than Accord's.
    # PostgreSQL's JSONB and timestamps keep one form whoever wrote them: no check is needed there.
    faults: list[Fault] = []
    seen: set[str] = set()
    chains = events = 0
    current: list[AuditEvent] = []
    duplicate: Fault | None = None  # the current chain's first event whose stored JSON repeats a key

    def finish() -> None:
        nonlocal chains, duplicate
        if not current:
            return
        chains += 1
        seen.add(current[0].chain)
        # The case is named by the chain, which its hashes cover, not by the event's case_id column.
        fault = _chain_fault(current, heads, rows)
        if fault is None and current[0].chain in details:
            fault = _replay_fault(current, details[current[0].chain])
        if duplicate is not None and (fault is None or fault.seq is None or duplicate.seq < fault.seq):
            fault = duplicate
        if fault:
            faults.append(fault)
        current.clear()
        duplicate = None

    stmt = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq).execution_options(yield_per=batch)
    if raw:
        stmt = stmt.add_columns(cast(AuditEvent.payload, Text).label("stored_payload"),
                                cast(AuditEvent.actor_roles, Text).label("stored_roles"),
                                cast(AuditEvent.at, Text).label("stored_at"))
    for event, *stored in session.execute(stmt):
        events += 1
        if current and current[0].chain != event.chain:
            finish()
        current.append(event)
        if duplicate is None:
            duplicate = _stored_json_fault(event, stored)
    finish()
    # Faults of what lies beside the chains, for chains sound in themselves: one fault a chain.
    bad = {fault.chain for fault in faults}
    for fault in (*misstored, *_score_faults(session)):
        if fault.chain not in bad:
            faults.append(fault)
            bad.add(fault.chain)
    for chain, (head, _seq, _state) in heads.items():
        if chain in seen:
            continue
        if _case_of(chain) is not None:
            faults.append(Fault(None, chain, None, "the case has no events, not even its creation: its whole "
                                                   "chain is missing"))
        elif head is not None:
            faults.append(Fault(None, chain, None, "every event of the chain is missing"))
        elif chain.startswith("partnership:"):
            # Every entry's chain begins at its loading or creation (`flask init-db` seals one
            # loaded before chains): one with none was added outside Accord, and the report counts it.
            faults.append(Fault(None, chain, None, "the inventory entry has no events, not even its creation: it "
                                                   "was added outside Accord (or before `flask init-db` sealed the "
                                                   "inventory: run it)"))
    return chains, events, faults


#: What a score event's payload records of its row in `scores` (its reviewer is the event's actor,
#: its comment the event's comment): what the aggregate, the recommend guard and the score kept at
#: a decision read.
_SCORE_RECORDED = ("conflict", "ratings", "percent", "recommendation", "criteria_version", "criteria_hash")


def _score_faults(session: Session) -> list[Fault]:
    """Return the first fault of each case whose scores differ from what their events recorded.

    The scores are rows apart from the case's, which its events' digests do not cover: a rating
    changed in the database would change the aggregate, the recommendation and the score a
    decision keeps, yet every chain would verify. Each score event names its row; the row must
    hold what the event recorded, and be current exactly when it is its reviewer's latest score of
    the case. A row no event records was added outside Accord; an event whose row is gone, deleted.
    """
    from models import Score

    recorded: dict[int, AuditEvent] = {}
    latest: dict[tuple[str, int | None], int] = {}  # (chain, reviewer) -> their latest score's id
    for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "score")
                             .order_by(AuditEvent.chain, AuditEvent.seq)):
        if isinstance(score_id := (e.payload or {}).get("score_id"), int):
            recorded[score_id] = e
            latest[(e.chain, e.actor_id)] = score_id
    faults: dict[str, Fault] = {}

    def fault(chain: str, e: AuditEvent | None, reason: str) -> None:
        if chain not in faults or (e is not None and faults[chain].seq is not None and e.seq < faults[chain].seq):
            faults[chain] = Fault(e.id if e else None, chain, e.seq if e else None, reason)

    for score in session.scalars(select(Score).order_by(Score.id)):
        chain = f"case:{score.case_id}"
        e = recorded.pop(score.id, None)
        if e is None or e.chain != chain or e.actor_id != score.reviewer_id:
            fault(chain, None, f"score {score.id} is recorded by no event of the case by its reviewer: it was "
                               "added or moved outside Accord")
            continue
        stored = {"conflict": score.conflict, "ratings": score.ratings, "percent": score.percent,
                  "recommendation": score.recommendation, "criteria_version": score.criteria_version,
                  "criteria_hash": score.criteria_hash}
        differs = [name for name in _SCORE_RECORDED if jsonable(stored[name]) != e.payload.get(name)]
        if (score.comment or None) != e.comment:
            differs.append("comment")
        if score.current != (latest[(e.chain, e.actor_id)] == score.id):
            differs.append("current")
        if differs:
            fault(chain, e, f"score {score.id} differs from what this event recorded of it ({', '.join(differs)}): "
                            "it was changed outside Accord")
    for score_id, e in recorded.items():
        fault(e.chain, e, f"the score this event recorded (score {score_id}) is gone: it was deleted outside Accord")
    return list(faults.values())


def head_digest(session: Session, upto: int | None = None) -> str:
    """Return "N:SHA256" over every chain's last hash among events 1..N (N: the newest by default).

    Kept outside the database, it later proves that nothing up to event N was rewritten, even
    a chain cut short and re-hashed, while events appended since do not change it.
    """
    if upto is None:
        if session.get_bind().dialect.name == "postgresql":
            # Ids are taken when an event is inserted, but transactions commit in any order: while
            # one that took id 5 is still open, id 6 may be committed, and a digest "up to 6" made
            # then would not match once 5 commits. Wait for the open appends, and hold new ones
            # back until this transaction ends (a SHARE lock conflicts with every INSERT's).
            session.execute(text("LOCK TABLE audit_events IN SHARE MODE"))
        upto = session.scalar(select(func.max(AuditEvent.id))) or 0
    last_seq = (
        select(AuditEvent.chain, func.max(AuditEvent.seq).label("seq"))
        .where(AuditEvent.id <= upto)
        .group_by(AuditEvent.chain)
        .subquery()
    )
    rows = session.execute(
        select(AuditEvent.chain, AuditEvent.seq, AuditEvent.hash)
        .join(last_seq, (AuditEvent.chain == last_seq.c.chain) & (AuditEvent.seq == last_seq.c.seq))
        .order_by(AuditEvent.chain)
    ).all()
    digest = hashlib.sha256()
    for chain, seq, h in rows:
        digest.update(f"{chain}:{seq}:{h}\n".encode())
    return f"{upto}:{digest.hexdigest()}"


#: A digest exactly as head_digest prints it: an event id (no sign, no leading zero), a colon and a
#: SHA-256 in 64 lower-case hex digits. Anything else was never printed by it, and compared with
#: the trail would read as a rewritten trail: a false alarm.
_HEAD_DIGEST = re.compile(r"(0|[1-9][0-9]*):[0-9a-f]{64}")


def parse_head(recorded: str) -> int:
    """Return the event id N of a digest printed by head_digest; ValueError if it is not one."""
    if _HEAD_DIGEST.fullmatch(recorded) is None or int(recorded.partition(":")[0]) > 2**63 - 1:
        raise ValueError("a head digest is N:SHA256 as `flask audit head` prints it: an event id, a colon and "
                         "64 lower-case hex digits")
    return int(recorded.partition(":")[0])


#: How much earlier than the head's own event an event appended after it may be dated: two steps
#: of different processes take their times and their ids in either order, a moment apart.
BACKDATING_SLACK = timedelta(minutes=10)


def check_head(session: Session, recorded: str) -> str | None:
    """Return what is wrong with the trail against a digest printed earlier by head_digest, or None
    (ValueError if it is not such a digest).

    Events up to the head must be as they were; events appended since are accepted, but none may
    be dated before the head was taken: anyone who may write to the database could otherwise add
    a request to a year whose report was published with its head, and its chain would verify.
    """
    upto = parse_head(recorded)
    if head_digest(session, upto) != recorded:
        return "the trail up to that point was rewritten since it was recorded."
    taken = session.scalar(select(func.max(AuditEvent.at)).where(AuditEvent.id <= upto))
    if taken is None:
        return None
    early = session.execute(select(AuditEvent.id, AuditEvent.chain, AuditEvent.seq, AuditEvent.at)
                            .where(AuditEvent.id > upto, AuditEvent.at < taken - BACKDATING_SLACK)
                            .order_by(AuditEvent.id).limit(1)).first()
    if early is not None:
        return (f"event {early.id} (chain {early.chain}, seq {early.seq}) was appended after the head was taken "
                f"but is dated {early.at:%Y-%m-%d %H:%M} UTC, before it: it was back-dated.")
    return None
