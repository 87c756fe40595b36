"""Benchmark 1: transitions through workflows.engine.fire against the same writes in plain Core.

Both sides commit each transition on its own, with the durable settings Accord ships (SQLite WAL
with synchronous=FULL; PostgreSQL's synchronous_commit=on), so the raw rate is the floor the
database sets and the ratio is what the engine costs on top of it. The two run in alternating
blocks on the same cases, so that load from elsewhere on the machine falls on both alike.
"""
from __future__ import annotations

import hashlib
import time

from marshmallow import Schema
from sqlalchemy import bindparam, insert, update

from bench.common import databases, make_app, make_people, print_table
from workflows.definition import OWNER, Transition, Workflow

CASES = 100
BLOCK = 250  # transitions per alternating block
# The smallest real workflow: a case opened and closed again by its owner, one audit event each time.
TOGGLE = Workflow(
    name="bench_toggle", title="Benchmark toggle", states=("open", "closed"), initial="open",
    data_schema=Schema, editable_states=(),
    transitions=(Transition("close", ("open",), "closed", (OWNER,), "Close"),
                 Transition("reopen", ("closed",), "open", (OWNER,), "Reopen")),
)


class Cases:
    """What both runs know of the benchmark's cases between transitions: version, state, chain head."""

    def __init__(self, cases: list):
        self.ids = [c.id for c in cases]
        self.version = {c.id: c.version for c in cases}
        self.state = {c.id: c.state for c in cases}
        self.seq = {c.id: c.last_event_seq for c in cases}
        self.head = {c.id: c.last_event_hash for c in cases}


def _engine_run(session, actor, cases: Cases, first: int, n: int) -> float:
    from workflows import engine

    began = time.perf_counter()
    for i in range(first, first + n):
        cid = cases.ids[i % len(cases.ids)]
        trigger = "close" if cases.state[cid] == "open" else "reopen"
        case = engine.fire(session, actor, cid, trigger, cases.version[cid])
        cases.version[cid], cases.state[cid] = case.version, case.state
        cases.seq[cid], cases.head[cid] = case.last_event_seq, case.last_event_hash
    return time.perf_counter() - began


def _raw_run(conn, actor, cases: Cases, first: int, n: int) -> float:
    """Do the engine's writes by hand: UPDATE with the version check, INSERT the event, COMMIT."""
    from models import AuditEvent, Case
    from models.types import utcnow

    table, events = Case.__table__, AuditEvent.__table__
    move = (update(table).where(table.c.id == bindparam("cid"), table.c.version == bindparam("old"))
            .values(state=bindparam("state"), version=bindparam("new"), updated_at=bindparam("at"),
                    state_entered_at=bindparam("at"), last_event_seq=bindparam("seq"),
                    last_event_hash=bindparam("hash")))
    append = insert(events)
    roles = sorted(actor.role_names)
    began = time.perf_counter()
    for i in range(first, first + n):
        cid = cases.ids[i % len(cases.ids)]
        old, at, seq = cases.version[cid], utcnow(), cases.seq[cid] + 1
        old_state = cases.state[cid]
        new_state = "closed" if old_state == "open" else "open"
        digest = hashlib.sha256(f"{cases.head[cid]}:{cid}:{seq}:{new_state}:{at.isoformat()}".encode()).hexdigest()
        if conn.execute(move, {"cid": cid, "old": old, "state": new_state, "new": old + 1, "at": at,
                               "seq": seq, "hash": digest}).rowcount != 1:
            raise RuntimeError("lost update in the raw run")
        conn.execute(append, {"chain": f"case:{cid}", "case_id": cid, "seq": seq, "at": at,
                              "actor_id": actor.id, "actor_username": actor.username, "actor_roles": roles,
                              "action": "raw", "from_state": old_state, "to_state": new_state,
                              "comment": None, "payload": {}, "prev_hash": cases.head[cid], "hash": digest})
        conn.commit()
        cases.version[cid], cases.state[cid], cases.seq[cid], cases.head[cid] = old + 1, new_state, seq, digest
    return time.perf_counter() - began


def measure(url: str, n: int) -> dict:
    """Return the engine's and the raw rate of n transitions on one database."""
    from extensions import db
    from workflows import engine, registry

    app = make_app(url)
    with app.app_context():
        registry.register(TOGGLE)
        try:
            actor = make_people(db.session, [("bench.owner", ["staff"], "Toronto Public Health")])["bench.owner"]
            cases = Cases([engine.create_case(db.session, actor, TOGGLE.name, f"Toggle {i}", ["democracy"], {})
                           for i in range(CASES)])
            _engine_run(db.session, actor, cases, 0, max(100, n // 20))  # warm up
            # Alternate blocks of each, so that both meet the same machine (other load, the disk's
            # mood) and the ratio compares like with like.
            engine_time = raw_time = 0.0
            with db.engine.connect() as conn:
                for first in range(0, n, BLOCK):
                    engine_time += _engine_run(db.session, actor, cases, first, min(BLOCK, n - first))
                    raw_time += _raw_run(conn, actor, cases, first, min(BLOCK, n - first))
        finally:
            registry.unregister(TOGGLE.name)
            db.session.remove()
            db.engine.dispose()
    return {"engine": n / engine_time, "raw": n / raw_time}


def run(full: bool = False) -> list[list]:
    """Run benchmark 1 on every database and print its table."""
    n = 10_000 if full else 2_000
    rows = []
    with databases("engine") as found:
        for label, url in found:
            r = measure(url, n)
            rows.append([label, n, r["engine"], r["raw"], f"{r['engine'] / r['raw']:.2f}"])
    print_table(f"1. Engine against the database's limit ({n:,} transitions, one commit each)",
                ["database", "transitions", "engine.fire /s", "raw Core /s", "engine / raw"], rows)
    return rows
