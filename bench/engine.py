"""Benchmark 1: transitions through workflows.engine.fire against the same writes in plain Core.

Both sides commit each transition on its own, with the durable settings Accord ships (SQLite WAL
with synchronous=FULL; PostgreSQL's synchronous_commit=on), so the raw rate is the floor the
database sets and the ratio is what the engine costs on top of it.
"""
from __future__ import annotations

import hashlib
import time

from marshmallow import Schema
from sqlalchemy import bindparam, insert, update

from bench.common import databases, make_app, make_people, print_table
from workflows.definition import OWNER, Transition, Workflow

CASES = 100
# The smallest real workflow: a case opened and closed again by its owner, one audit event each time.
TOGGLE = Workflow(
    name="bench_toggle", title="Benchmark toggle", states=("open", "closed"), initial="open",
    data_schema=Schema, editable_states=(),
    transitions=(Transition("close", ("open",), "closed", (OWNER,), "Close"),
                 Transition("reopen", ("closed",), "open", (OWNER,), "Reopen")),
)


def _engine_run(session, actor, case_ids: list[int], n: int, versions: dict, states: dict) -> float:
    from workflows import engine

    began = time.perf_counter()
    for i in range(n):
        cid = case_ids[i % len(case_ids)]
        trigger = "close" if states[cid] == "open" else "reopen"
        case = engine.fire(session, actor, cid, trigger, versions[cid])
        versions[cid], states[cid] = case.version, case.state
    return time.perf_counter() - began


def _raw_run(db_engine, actor, case_ids: list[int], n: int, versions: dict, states: dict) -> float:
    """Do the engine's writes by hand: UPDATE with the version check, INSERT the event, COMMIT."""
    from models import AuditEvent, Case
    from models.types import utcnow

    cases, events = Case.__table__, AuditEvent.__table__
    move = (update(cases).where(cases.c.id == bindparam("cid"), cases.c.version == bindparam("old"))
            .values(state=bindparam("state"), version=bindparam("new"), updated_at=bindparam("at"),
                    state_entered_at=bindparam("at"), last_event_seq=bindparam("seq"),
                    last_event_hash=bindparam("hash")))
    append = insert(events)
    seqs = {cid: versions[cid] for cid in case_ids}  # one event per version so far
    heads = {cid: "0" * 64 for cid in case_ids}
    roles = sorted(actor.role_names)
    began = time.perf_counter()
    with db_engine.connect() as conn:
        for i in range(n):
            cid = case_ids[i % len(case_ids)]
            old, at = versions[cid], utcnow()
            new_state = "closed" if states[cid] == "open" else "open"
            seqs[cid] += 1
            digest = hashlib.sha256(f"{heads[cid]}:{cid}:{old + 1}:{new_state}:{at.isoformat()}".encode()).hexdigest()
            if conn.execute(move, {"cid": cid, "old": old, "state": new_state, "new": old + 1, "at": at,
                                   "seq": seqs[cid], "hash": digest}).rowcount != 1:
                raise RuntimeError("lost update in the raw run")
            conn.execute(append, {"chain": f"case:{cid}", "case_id": cid, "seq": seqs[cid], "at": at,
                                  "actor_id": actor.id, "actor_username": actor.username, "actor_roles": roles,
                                  "action": "raw", "from_state": states[cid], "to_state": new_state,
                                  "comment": None, "payload": {}, "prev_hash": heads[cid], "hash": digest})
            conn.commit()
            versions[cid], states[cid], heads[cid] = old + 1, new_state, digest
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
            case_ids = [engine.create_case(db.session, actor, TOGGLE.name, f"Toggle {i}", ["democracy"], {}).id
                        for i in range(CASES)]
            versions, states = dict.fromkeys(case_ids, 1), dict.fromkeys(case_ids, "open")
            _engine_run(db.session, actor, case_ids, max(100, n // 20), versions, states)  # warm up
            engine_time = _engine_run(db.session, actor, case_ids, n, versions, states)
            db.session.rollback()
            raw_time = _raw_run(db.engine, actor, case_ids, n, versions, states)
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
