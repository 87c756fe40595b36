"""Time the annual report (JSON) on a generated trail, on SQLite and on PostgreSQL.

    python -m bench.report            # 5,000 cases (about 50,000 events)
    python -m bench.report --full     # 100,000 cases (about 1,000,000 events)

The data are written with bulk SQLAlchemy Core inserts, not through the engine: the cases follow
the workflows' paths with plausible times, but their hash chains are not valid (the report does
not read them). PostgreSQL runs in its own database (accord_bench_report, created and dropped by
bench.common), so the tests' database is never touched; it is skipped when no server answers.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, text

from bench.common import databases, make_app, print_machine, print_table

YEAR = 2025
BATCH = 20_000
ORGANIZERS = ("Metropolis", "IULA", "ICLEI", "WHO", "FCM", "CIDA")
COUNTRIES = ("El Salvador", "Brazil", "South Africa", "Turkey", "Pakistan", "Philippines", "Haiti", "Nepal")
DISASTERS = ("earthquake", "hurricane", "flood", "drought", "epidemic", "conflict")
GOALS = ("research", "economy", "leadership", "compassion", "culture", "human_rights", "democracy")
# The happy path of each workflow and where a case may leave it: (action, from, to) in order.
PATHS = {
    "travel": [("submit", "draft", "submitted"), ("approve", "submitted", "approved"),
               ("complete_trip", "approved", "travelled"), ("submit_report", "travelled", "report_submitted"),
               ("accept_report", "report_submitted", "closed")],
    "relief": [("submit", "draft", "submitted"), ("start_triage", "submitted", "in_triage"),
               ("recommend", "in_triage", "recommended"), ("approve", "recommended", "approved"),
               ("disburse", "approved", "disbursed"), ("close", "disbursed", "closed")],
    "partnership": [("submit", "draft", "submitted"), ("start_review", "submitted", "under_review"),
                    ("recommend", "under_review", "committee_review"),
                    ("approve", "committee_review", "council_review"), ("approve", "council_review", "adopted")],
}
EXITS = {"travel": ("decline", "declined"), "relief": ("decline", "declined"), "partnership": ("decline", "declined")}


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low * 100, high * 100)) / 100


def generate(cases: int, users: list[tuple[int, int, str]], seed: int = 7):
    """Yield (case row, its event rows) for a number of cases spread over 2023 to 2026."""
    rng = random.Random(seed)
    start, span = datetime(2023, 1, 1), (datetime(2026, 10, 1) - datetime(2023, 1, 1)).total_seconds()
    for case_id in range(1, cases + 1):
        workflow = rng.choices(("travel", "relief", "partnership"), (5, 3, 2))[0]
        user_id, dept_id, username = rng.choice(users)
        at = start + timedelta(seconds=rng.random() * span)
        events = [("create", None, "draft", at)]
        events += [("edit", "draft", "draft", at + timedelta(hours=rng.random() * 12)) for _ in range(rng.randrange(7))]
        at = events[-1][3]
        path = PATHS[workflow]
        stop = len(path) if rng.random() < 0.7 else rng.randrange(1, len(path))
        submitted = None
        for i, (action, source, dest) in enumerate(path[:stop]):
            at += timedelta(hours=1 + rng.random() * 300)
            if i == 2:  # one to three reviewers score before the decision
                events += [("score", source, source, at - timedelta(hours=3 - r)) for r in range(rng.randrange(1, 4))]
            if i == 1 and rng.random() < 0.12:  # declined at the first decision
                action, dest = EXITS[workflow]
                events.append((action, source, dest, at))
                break
            events.append((action, source, dest, at))
            submitted = submitted or (at if action == "submit" else None)
        state = events[-1][2]
        amount = _money(rng, 500, 9000 if workflow == "travel" else 60000)
        data = {}
        row = {"id": case_id, "workflow": workflow, "title": f"{workflow} {case_id}", "state": state,
               "owner_id": user_id, "department_id": dept_id, "goals": rng.sample(GOALS, rng.randrange(1, 3)),
               "version": len(events), "created_at": events[0][3], "updated_at": at, "submitted_at": submitted,
               "state_entered_at": at, "country": rng.choice(COUNTRIES), "amount_requested": amount,
               "amount_granted": None, "amount_paid": None, "due_on": None, "category": None,
               "last_event_hash": "0" * 64}
        if workflow == "travel":
            row["category"] = rng.choice(ORGANIZERS)
            end = events[1][3] + timedelta(days=30)
            data = {"event_name": f"Congress {case_id}", "end_date": end.date().isoformat()}
            if state in ("travelled", "report_submitted", "closed"):
                row["due_on"] = datetime.combine(end.date() + timedelta(days=30), datetime.min.time())
            if state in ("report_submitted", "closed"):
                row["amount_paid"] = amount - _money(rng, 0, 400)
                data["report"] = {"learnings": "What the delegation learned.", "actual_cost": str(row["amount_paid"])}
        elif workflow == "relief":
            row["category"] = rng.choice(DISASTERS)
            if submitted is not None:  # the triage deadline, as the submit step keeps it
                row["due_on"] = submitted + timedelta(hours=48)
            if any(e[0] == "approve" for e in events):
                row["amount_granted"] = (amount / 2).quantize(Decimal("0.01"))
            if any(e[0] == "disburse" for e in events):
                row["amount_paid"] = row["amount_granted"]
        else:
            row["category"] = rng.choice(("revival", "new"))
        row["data"] = data
        event_rows = [{"chain": f"case:{case_id}", "case_id": case_id, "seq": seq, "at": when, "actor_id": user_id,
                       "actor_username": username, "actor_roles": ["staff"], "action": action, "from_state": source,
                       "to_state": dest, "comment": None, "payload": {}, "prev_hash": "0" * 64, "hash": "0" * 64}
                      for seq, (action, source, dest, when) in enumerate(events, start=1)]
        yield row, event_rows


def load(engine, cases: int) -> int:
    """Fill a migrated database with users and generated cases; return the number of events."""
    from models import AuditEvent, Case, Department, User

    with engine.begin() as conn:
        conn.execute(insert(Department.__table__), [{"id": i, "name": f"Department {i}"} for i in range(1, 11)])
        users = [(i, 1 + i % 10, f"user{i}") for i in range(1, 201)]
        conn.execute(insert(User.__table__), [
            {"id": i, "username": name, "full_name": f"User {i}", "email": f"{name}@toronto.example",
             "password_hash": "x", "department_id": dept, "active": True} for i, dept, name in users])
        case_rows, event_rows, events = [], [], 0
        for row, rows in generate(cases, users):
            case_rows.append(row)
            event_rows += rows
            if len(event_rows) >= BATCH:
                conn.execute(insert(Case.__table__), case_rows)
                conn.execute(insert(AuditEvent.__table__), event_rows)
                events += len(event_rows)
                case_rows, event_rows = [], []
        if case_rows:
            conn.execute(insert(Case.__table__), case_rows)
            conn.execute(insert(AuditEvent.__table__), event_rows)
            events += len(event_rows)
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load, before the report is timed: planner statistics, and
        # the visibility map without which PostgreSQL visits the rows behind every covering index.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return events


def run(url: str, cases: int, repeats: int) -> dict:
    """Migrate, fill and time the report on one database."""
    from extensions import db
    from reports.annual import compute_annual

    app = make_app(url)
    with app.app_context():
        began = time.perf_counter()
        events = load(db.engine, cases)
        loaded = time.perf_counter() - began
        timings = []
        for _ in range(repeats):
            began = time.perf_counter()
            body = app.json.dumps(compute_annual(db.session, YEAR, app.config))
            timings.append(time.perf_counter() - began)
            db.session.rollback()
        version = db.session.execute(text(
            "SELECT version()" if url.startswith("postgresql") else "SELECT 'SQLite ' || sqlite_version()")).scalar()
        figures = json.loads(body)
        db.session.remove()
        db.engine.dispose()
    return {"database": version.split(" on ")[0].split(",")[0], "cases": cases, "events": events, "load_s": loaded,
            "best_s": min(timings), "median_s": statistics.median(timings),
            "check": f"{figures['travel']['requests']} travel requests in {YEAR}"}


def main(argv: list[str] | None = None, machine: bool = True) -> None:
    """Run the benchmark and print the tables (the machine's too, unless `python -m bench` has)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="100,000 cases instead of 5,000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    cases = 100_000 if args.full else 5_000
    with databases("report") as found:
        results = [run(url, cases, args.repeats) for _, url in found]
    if machine:
        print_machine()
    print_table(f"Annual report of {YEAR} as JSON (compute_annual + JSON), best and median of {args.repeats}",
                ["database", "cases", "events", "load s", "report s (best)", "report s (median)", "check"],
                [[r["database"], f"{r['cases']:,}", f"{r['events']:,}", r["load_s"], r["best_s"], r["median_s"],
                  r["check"]] for r in results])


if __name__ == "__main__":
    main()
