"""Many processes, real database: gunicorn workers on PostgreSQL under a storm of concurrent
approvals — exactly one winner per case, every loser 409, nothing lost — and then a worker
killed with SIGKILL in the middle of a storm, after which the trail verifies and every case
agrees with its trail."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import clock
from tests.conftest import empty_pg_database

ROOT = Path(__file__).resolve().parents[1]
DB = "accord_storm_test"
CASES, CLIENTS = 30, 8

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _trip(i: int) -> dict:
    start = clock.today() + timedelta(days=60 + i)
    return {"event_name": f"ICLEI World Congress {i}", "event_organizer": "ICLEI", "event_city": "Freiburg",
            "event_country": "Germany", "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=3)).isoformat(), "purpose": "Climate adaptation exchange.",
            "role_at_event": "panelist", "funding": "city",
            "estimated_cost": {"registration": "500.00", "transport": "1200.00"}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving create_app() with several workers on a local port."""

    def __init__(self, url: str, workers: int = 4):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "storm-test", "ACCORD_ENV": "development",
               "ACCORD_LOGIN_RATE_LIMIT": "10000 per minute"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "2", "--log-level", "warning", "app:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")
    # A worker killed under us resets the connection, or cuts an answer off mid-body.
    except (OSError, http.client.HTTPException) as err:
        return "lost", str(err)


@pytest.fixture(scope="module")
def storm_db():
    url = empty_pg_database(DB)
    if url is None:
        pytest.skip("no PostgreSQL server answers (CI starts one)")
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "app.py"}
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    for name, role, dept in (("sam", "staff", "Public Health"), ("dana", "dept_head", "Public Health")):
        subprocess.run([*flask, "users", "create", name, "--password", "storm password 1", "--role", role,
                        "--department", dept], cwd=ROOT, env=env, check=True, capture_output=True)
    return url


def _token(base: str, user: str) -> str:
    return _call(base, "POST", "/api/v1/auth/token", body={"username": user, "password": "storm password 1"})[1]["token"]


def _submitted_cases(base: str, sam: str, n: int) -> list[tuple[int, int]]:
    cases = []
    for i in range(n):
        status, case = _call(base, "POST", "/api/v1/cases", sam,
                             {"workflow": "travel", "title": f"Trip {i}", "goals": ["research"], "data": _trip(i)})
        assert status == 201, case
        status, case = _call(base, "POST", f"/api/v1/cases/{case['id']}/transitions", sam,
                             {"trigger": "submit", "version": case["version"]})
        assert status == 200, case
        cases.append((case["id"], case["version"]))
    return cases


def _storm(base: str, token: str, cases: list[tuple[int, int]], during=None) -> dict[int, Counter]:
    """Every client fires approve on every case (in a different order), all at once."""
    results: dict[int, Counter] = {cid: Counter() for cid, _ in cases}
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def client(k: int) -> None:
        order = cases[k:] + cases[:k]
        barrier.wait()
        for cid, version in order:
            status, _ = _call(base, "POST", f"/api/v1/cases/{cid}/transitions", token,
                              {"trigger": "approve", "version": version})
            with lock:
                results[cid][status] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    if during:
        during()
    for t in threads:
        t.join(120)
    return results


def _check_database(url: str, acknowledged: set[int]) -> None:
    """Every chain verifies; every case's state is its last transition's to-state; every
    approval answered 200 is in the database."""
    from app import create_app
    from extensions import db
    from models import AuditEvent, Case, CaseCount
    from workflows.audit import verify_all

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        assert verify_all(db.session)[2] == []
        last = (select(AuditEvent.case_id, func.max(AuditEvent.seq).label("seq"))
                .where(AuditEvent.to_state.is_not(None)).group_by(AuditEvent.case_id).subquery())
        rows = db.session.execute(
            select(Case.id, Case.state, AuditEvent.to_state)
            .join(last, last.c.case_id == Case.id)
            .join(AuditEvent, (AuditEvent.case_id == Case.id) & (AuditEvent.seq == last.c.seq))).all()
        assert rows and all(state == to_state for _, state, to_state in rows)
        states = dict(db.session.execute(select(Case.id, Case.state)).all())
        assert all(states[cid] == "approved" for cid in acknowledged)
        approvals = Counter(db.session.scalars(select(AuditEvent.case_id).where(AuditEvent.action == "approve")))
        assert all(n == 1 for n in approvals.values())
        # The list's totals come from counters the triggers keep: concurrent moves lost none.
        counted = dict(db.session.execute(select(Case.state, func.count()).group_by(Case.state)).all())
        kept = dict(db.session.execute(select(CaseCount.state, func.sum(CaseCount.n)).group_by(CaseCount.state)).all())
        assert {k: v for k, v in kept.items() if v} == counted
        db.session.remove()
        db.engine.dispose()


def test_storm_of_concurrent_approvals_has_one_winner_per_case(storm_db, capsys):
    server = Server(storm_db)
    try:
        sam, dana = _token(server.base, "sam"), _token(server.base, "dana")
        cases = _submitted_cases(server.base, sam, CASES)
        results = _storm(server.base, dana, cases)
    finally:
        server.stop()
    for cid, counts in results.items():
        assert counts[200] == 1 and counts[409] == CLIENTS - 1, (cid, counts)
    _check_database(storm_db, {cid for cid, _ in cases})
    with capsys.disabled():
        print(f"\nstorm: {CASES * CLIENTS} approvals from {CLIENTS} clients on {CASES} cases, 4 gunicorn workers: "
              f"{CASES} winners, {CASES * (CLIENTS - 1)} answered 409, 0 lost")


def test_worker_killed_mid_storm_loses_nothing(storm_db, capsys):
    server = Server(storm_db)
    killed = []
    try:
        sam, dana = _token(server.base, "sam"), _token(server.base, "dana")
        cases = _submitted_cases(server.base, sam, CASES)

        def kill_one():
            time.sleep(0.3)
            pid = server.worker_pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        results = _storm(server.base, dana, cases, during=kill_one)
    finally:
        server.stop()
    assert killed
    acknowledged = {cid for cid, counts in results.items() if counts[200]}
    for cid, counts in results.items():
        assert counts[200] <= 1, (cid, counts)
        assert set(counts) <= {200, 409, "lost", 502}, counts
    # Restart: a new server on the same database answers, and the trail is intact.
    server = Server(storm_db)
    try:
        assert urllib.request.urlopen(server.base + "/healthz", timeout=5).status == 200
    finally:
        server.stop()
    _check_database(storm_db, acknowledged)
    lost = sum(c["lost"] for c in results.values())
    with capsys.disabled():
        print(f"\nkill -9: worker {killed[0]} killed mid-storm; {len(acknowledged)} acknowledged approvals all "
              f"persisted, {lost} requests cut off in flight, audit verify intact, data lost: 0")
