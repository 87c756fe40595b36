"""Benchmark 4: one gunicorn worker's resident memory after many mixed requests.

A single worker serves every request (list, dashboard, case pages, case JSON), so its resident set
after the first batch and after five times as many shows whether anything accumulates.
"""
from __future__ import annotations

import os
import shutil
import tempfile

from bench.common import databases, print_table
from bench.http import Server, prepare, session_cookie, wrk

MIXED = "/api/v1/cases,/,/cases/{id},/api/v1/cases/{id},/api/v1/cases?state=submitted"


def _rss_mb(server: Server) -> float:
    import psutil

    workers = psutil.Process(server.proc.pid).children()
    if len(workers) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {len(workers)}")
    return workers[0].memory_info().rss / 2**20


def run(full: bool = False) -> list[list]:
    """Run benchmark 4 on PostgreSQL when it answers, else SQLite, and print its table."""
    if shutil.which("wrk") is None:
        print("\n4. Memory: skipped, wrk is not installed (apt-get install wrk)")
        return []
    first, second = (10_000, 50_000) if full else (2_000, 10_000)
    rows = []
    with databases("memory") as found:
        label, url = found[-1]
        folder = tempfile.mkdtemp(prefix="accord-memory-")
        setup = prepare(url, 5_000)
        ids_file = os.path.join(folder, "ids.txt")
        with open(ids_file, "w") as f:
            f.write("\n".join(map(str, setup["ids"])))
        with Server(url, 1, os.path.join(folder, "gunicorn.log")) as server:
            env = {"ACCORD_TOKEN": setup["token"], "ACCORD_IDS": ids_file, "ACCORD_PATH": MIXED,
                   "ACCORD_COOKIE": session_cookie(server.base, setup["username"])}
            start = _rss_mb(server)
            done = 0
            for target in (first, second):
                r = wrk(server.base, "pages.lua", 600, {**env, "ACCORD_LIMIT": str(target - done)})
                done += r["requests"]
                rows.append([label, f"{done:,}", f"{_rss_mb(server):.1f}", f"{start:.1f}", r["errors"]])
        shutil.rmtree(folder, ignore_errors=True)
    print_table("4. Memory of one gunicorn worker after mixed requests (list, dashboard, case page, case JSON)",
                ["database", "requests served", "RSS MB", "RSS at start MB", "errors"], rows)
    return rows
