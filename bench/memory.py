"""Benchmark 4: one gunicorn worker's resident memory after many mixed requests.

A single gunicorn worker serves every request: the case list (token), the dashboard (web session),
a case page, a case's JSON, the list of submitted cases, and an approval through the API of a case
not approved before (each loads the case and moves it through the workflow's state machine). Its
resident set is read at start, after a first batch and after five times as many requests: it must
not grow between the two readings, and must stay under 150 MB.

The client is a few Python threads with the standard library's http.client, so nothing else needs
installing; together they send exactly the number of requests asked for. The default size runs
on PostgreSQL when it answers, else SQLite; --full runs on both.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import tempfile
import threading
import time
import urllib.parse

from bench.common import databases, print_table
from bench.http import OPEN_SHARE, USER_AGENT, Server, prepare, session_cookie

CLIENTS = 4
LIMIT_MB = 150
#: One round of the mix: five reads and one approval ("{id}" is a case of the head's department).
MIX = (("GET", "/api/v1/cases"), ("GET", "/"), ("GET", "/cases/{id}"), ("GET", "/api/v1/cases/{id}"),
       ("GET", "/cases?state=submitted"), ("POST", "/api/v1/cases/{id}/transitions"))
APPROVE = json.dumps({"trigger": "approve", "version": 2}).encode()


def worker_of(server: Server):
    """Return the psutil process of the gunicorn master's one worker."""
    import psutil

    workers = psutil.Process(server.proc.pid).children()
    if len(workers) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {len(workers)}")
    return workers[0]


def _rss_mb(process) -> float:
    return process.memory_info().rss / 2**20


class Client:
    """Send numbered requests of the mix from a few threads, each on its own connection.

    Request n is MIX[n % len(MIX)]; approval n // len(MIX) approves the case ids[n // len(MIX)], so
    that no case is approved twice; reads go to cases spread over all of them.
    """

    def __init__(self, base: str, setup: dict, cookie: str):
        self.netloc = urllib.parse.urlsplit(base).netloc
        self.ids = setup["ids"]
        self.headers = {"Authorization": f"Bearer {setup['token']}", "Cookie": cookie, "User-Agent": USER_AGENT}
        self.next = 0
        self.lock = threading.Lock()
        self.errors: list[str] = []

    def _take(self, stop: int) -> int | None:
        with self.lock:
            if self.next >= stop:
                return None
            n, self.next = self.next, self.next + 1
            return n

    def _request(self, n: int) -> tuple[str, str, bytes | None]:
        method, path = MIX[n % len(MIX)]
        if method == "POST":
            index = n // len(MIX)
            if index >= len(self.ids):
                raise RuntimeError(f"{index + 1} approvals need more cases than the {len(self.ids)} prepared")
            return method, path.replace("{id}", str(self.ids[index])), APPROVE
        return method, path.replace("{id}", str(self.ids[(n * 7919) % len(self.ids)])), None

    def _loop(self, stop: int) -> None:
        conn = http.client.HTTPConnection(self.netloc, timeout=60)
        try:
            while (n := self._take(stop)) is not None:
                method, path, body = self._request(n)
                headers = dict(self.headers, **({"Content-Type": "application/json"} if body else {}))
                try:
                    # gunicorn's sync worker closes every connection after its answer; http.client
                    # then opens a new one for the next request.
                    conn.request(method, path, body, headers)
                    response = conn.getresponse()
                    response.read()
                    if response.status != 200:
                        self._error(f"{method} {path}: {response.status}")
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    self._error(f"{method} {path}: {exc!r}")
        finally:
            conn.close()

    def _error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)

    def run_until(self, stop: int) -> float:
        """Send requests until `stop` were sent in all (from all threads); return the seconds taken."""
        began = time.perf_counter()
        threads = [threading.Thread(target=self._loop, args=(stop,)) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - began


def measure(label: str, url: str, batches: tuple[int, int], folder: str) -> list[list]:
    """Serve the mix from one worker on a database; return one table row per reading."""
    # One request in six approves a case; prepare() makes one case in OPEN_SHARE submitted, and
    # half of those are in the department of the head who approves.
    approvals = -(-batches[-1] // len(MIX))
    cases = 2 * OPEN_SHARE * (approvals + 500)
    began = time.perf_counter()
    setup = prepare(url, cases)
    print(f"  {label}: {cases:,} cases inserted in {time.perf_counter() - began:.0f} s", flush=True)
    if len(setup["ids"]) < approvals:
        raise RuntimeError(f"{approvals:,} approvals need as many submitted cases; prepare() made {len(setup['ids']):,}")
    rows = []
    with Server(url, 1, os.path.join(folder, f"gunicorn-{label}.log")) as server:
        client = Client(server.base, setup, session_cookie(server.base, setup["username"]))
        worker = worker_of(server)
        start = _rss_mb(worker)
        rows.append([label, 0, "", f"{start:.1f}", "", 0])
        readings = [start]
        for stop in batches:
            done = client.next
            seconds = client.run_until(stop)
            readings.append(_rss_mb(worker))
            rows.append([label, f"{client.next:,}", f"{(client.next - done) / seconds:.0f}", f"{readings[-1]:.1f}",
                         f"{readings[-1] - readings[-2]:+.1f}", len(client.errors)])
            print(f"  {label}: {client.next:,} requests, worker RSS {readings[-1]:.1f} MB", flush=True)
        if worker_of(server).pid != worker.pid:
            raise RuntimeError("the gunicorn worker was replaced during the run; its readings mean nothing")
    for text in client.errors[:5]:
        print(f"  {label} error: {text}")
    growth, peak = readings[-1] - readings[-2], max(readings)
    rows[-1].append(f"{growth:+.1f} MB between {batches[0]:,} and {batches[1]:,} requests; peak {peak:.1f} MB, "
                    f"{'under' if peak < LIMIT_MB else 'OVER'} {LIMIT_MB} MB")
    return rows


def run(full: bool = False) -> list[list]:
    """Run benchmark 4 and print its table: on PostgreSQL when it answers, else SQLite; --full on both."""
    batches = (10_000, 50_000) if full else (2_000, 10_000)
    rows = []
    with databases("memory") as found:
        for label, url in reversed(found if full else found[-1:]):
            folder = tempfile.mkdtemp(prefix="accord-memory-")
            try:
                rows += measure(label, url, batches, folder)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    for row in rows:
        row.extend([""] * (7 - len(row)))
    mix = ", ".join(f"{m} {p}" for m, p in MIX)
    print_table(f"4. Memory of one gunicorn worker (sync) serving {CLIENTS} client connections, requests in turn: "
                f"{mix} (approve: each a different case)",
                ["database", "requests served", "req/s of batch", "worker RSS MB", "change MB", "errors (so far)",
                 f"verdict (must not grow, < {LIMIT_MB} MB)"], rows)
    return rows
