"""The audit trail: the one writer of audit events, and the checks of their hash chains."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.orm import Session, scoped_session

from models import AuditEvent, Case, User
from models.types import utcnow

GENESIS = "0" * 64


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
            from_state: str | None, to_state: str | None, comment: str | None, payload: Any, prev: str) -> str:
    fields = {"chain": chain, "seq": seq, "at": at.isoformat(timespec="microseconds"), "actor_id": actor_id,
              "actor": actor, "roles": list(roles), "action": action, "from": from_state, "to": to_state,
              "comment": comment, "payload": payload, "prev": prev}
    return hashlib.sha256(canonical(fields).encode()).hexdigest()


def event_hash(e: AuditEvent) -> str:
    """Return the SHA-256 of an event's canonical serialisation (its prev_hash included)."""
    return _hashed(e.chain, e.seq, e.at, e.actor_id, e.actor_username, e.actor_roles, e.action, e.from_state,
                   e.to_state, e.comment, e.payload, e.prev_hash)


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
) -> dict[str, Any]:
    """Append one event to the chain of a case (or of another subject) and return its row.

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
           "actor_roles": sorted(actor.role_names) if actor else [], "action": action,
           "from_state": from_state, "to_state": to_state, "comment": comment or None,
           "payload": jsonable(payload or {}), "prev_hash": prev}
    row["hash"] = _hashed(chain, seq, row["at"], row["actor_id"], row["actor_username"], row["actor_roles"],
                          action, from_state, to_state, row["comment"], row["payload"], prev)
    # A Core INSERT on the transaction's connection: the event is written once and never changed,
    # so the unit of work has nothing to track (and would cost more than the INSERT itself).
    session.connection().execute(_INSERT, row)
    if case is not None:
        case.last_event_seq, case.last_event_hash = seq, row["hash"]
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
                head_seq: int | None = None, state: str | None = None) -> Fault | None:
    """Return the first fault of one chain's events (in seq order), or None.

    expected_head (and head_seq) are the chain's head as its case's row records it: the last
    event must be that one. Given head_seq, events after it are accepted if they chain on from it:
    a page reads the case and its events in two statements, and a step that commits between the
    two appends one (a trail cut short or rewritten still fails: its head is gone or differs).
    Given the case's state, it must be the to-state of that last event (product.md: the state and
    its event commit together), or the state was changed outside Accord.
    """
    prev, expected_seq, chain, last, at_head = GENESIS, 1, None, None, None
    for e in events:
        chain = e.chain
        if e.case_id != _case_of(e.chain):
            return Fault(e.id, e.chain, e.seq, "the event names another case than its chain's: it was moved")
        if e.seq != expected_seq:
            return Fault(e.id, e.chain, e.seq, f"expected seq {expected_seq}: an event was removed or reordered")
        if e.prev_hash != prev:
            return Fault(e.id, e.chain, e.seq, "prev_hash does not match the previous event: removed or reordered")
        if event_hash(e) != e.hash:
            return Fault(e.id, e.chain, e.seq, "hash does not match the content: the event was edited")
        prev, expected_seq, last = e.hash, expected_seq + 1, e
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
    return None


def _subject(chain: str | None) -> str:
    """Return what a chain is the trail of, as a fault names it: "case", or the inventory's "entry"."""
    return "entry" if (chain or "").startswith("partnership:") else "case"


def _case_of(chain: str) -> int | None:
    """Return the id of the case whose chain this is ("case:12"), or None for another subject's."""
    kind, _, ident = chain.partition(":")
    return int(ident) if kind == "case" and ident.isdigit() else None


def verify_all(session: Session, batch: int = 5000) -> tuple[int, int, list[Fault]]:
    """Check every chain; return (chains, events, faults) with the first fault of each bad chain."""
    # One snapshot for the heads and the events: on PostgreSQL each statement of a READ COMMITTED
    # transaction sees what committed before it began, so a step committed between the two read
    # as a trail cut short. (Only where the transaction has not begun: the first statement sets it.)
    session = session() if isinstance(session, scoped_session) else session
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    # Each chain's head and the state it left, by chain: the cases', and the inventory entries'.
    from models import Partnership

    heads = {f"case:{case_id}": (head, state) for case_id, head, state in
             session.execute(select(Case.id, Case.last_event_hash, Case.state))}
    heads.update({f"partnership:{pid}": (head, status) for pid, head, status in
                  session.execute(select(Partnership.id, Partnership.last_event_hash, Partnership.status))})
    faults: list[Fault] = []
    chains = events = 0
    current: list[AuditEvent] = []

    def finish() -> None:
        nonlocal chains
        if not current:
            return
        chains += 1
        first = current[0]
        # The case is named by the chain, which its hashes cover, not by the event's case_id column.
        expected, state = heads.get(first.chain, (None, None))
        fault = check_chain(current, expected, state=state)
        if fault:
            faults.append(fault)
        current.clear()

    stmt = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq).execution_options(yield_per=batch)
    for event in session.scalars(stmt):
        events += 1
        if current and current[0].chain != event.chain:
            finish()
        current.append(event)
    finish()
    with_events = set(session.scalars(select(AuditEvent.chain).distinct()))
    for chain, (head, _state) in heads.items():
        if head is not None and chain not in with_events:
            faults.append(Fault(None, chain, None, "every event of the chain is missing"))
    return chains, events, faults


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


def check_head(session: Session, recorded: str) -> bool:
    """Return whether a digest printed earlier by head_digest still matches the trail."""
    upto, _, _ = recorded.partition(":")
    if not upto.isdigit() or int(upto) > 2**63 - 1:
        raise ValueError("a head digest looks like N:HEX, as `flask audit head` prints it")
    return head_digest(session, int(upto)) == recorded
