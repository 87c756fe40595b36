"""Benchmark 3: the app under gunicorn, driven by wrk at 16 connections, on PostgreSQL and SQLite.

The database holds many travel cases (bulk-inserted with SQLAlchemy Core), as years of use leave
them: nine in ten closed, one in ten submitted and waiting (at the default size, enough more
waiting that the approvals cannot run out: see APPROVALS_PER_SECOND_MAX). The heads of the two departments
approve distinct submitted cases of their own through the API; the first reads the case list, the
dashboard and case pages.
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from bench.common import PASSWORD, ROOT, bulk_travel_cases, databases, make_app, make_people, print_table

WRK = os.path.join(os.path.dirname(__file__), "wrk")
CONNECTIONS, THREADS = 16, 2
OPEN_SHARE = 10  # one case in OPEN_SHARE is submitted, the others closed
# At least this many cases wait per second of the approvals' run, so that they never run out. A wrk
# thread that runs out stops, but leaves its connections open: each gunicorn sync worker that took
# one waits for a request that never comes, until wrk ends. At the default size (1,000 waiting,
# about 250 approvals a second) that stalled every other request for the last 2 s of the 6, and
# the approvals' p99 read 1 to 1.9 s and their rate 164 a second instead of about 246.
APPROVALS_PER_SECOND_MAX = 500
DEPARTMENTS = ("Toronto Public Health", "Economic Development and Culture")


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving the app on 127.0.0.1, stopped on exit.

    It starts in the project's folder, so it runs with gunicorn.conf.py as a deployment would
    (the worker count given here replaces the file's).
    """

    def __init__(self, url: str, workers: int, log_path: str):
        self.port = free_port()
        self.url, self.workers = url, workers
        env = {**os.environ, "DATABASE_URL": url, "ACCORD_ENV": "development", "SECRET_KEY": "bench-secret"}
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-w", str(workers), "-b",
             f"127.0.0.1:{self.port}", "--log-level", "warning", "app:create_app()"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Server":
        for _ in range(100):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=2).read()
                self._until_every_worker_is_up()
                return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("gunicorn did not start; see its log")

    def _until_every_worker_is_up(self, limit: float = 30.0) -> None:
        """Wait until every worker has loaded the app (each is idle: its CPU time stands still).

        The first worker answers while the others still load the app (about a second of CPU each,
        four on two cores): a run started then measured their start-up in its first requests'
        latencies, and at the default size those reached the 99th percentile.
        """
        import psutil

        parent, deadline, before = psutil.Process(self.proc.pid), time.monotonic() + limit, None
        while time.monotonic() < deadline:
            now = _cpu_by_process(parent.children())
            if before is not None and len(now) == self.workers and now.keys() == before.keys() and all(
                    now[pid] - before[pid] < 0.01 for pid in now):
                return
            before = now
            time.sleep(0.3)

    def __exit__(self, *_exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


USER_AGENT = "accord-bench"


def session_cookie(base: str, username: str) -> str:
    """Sign in through the login form and return the Cookie header value.

    The session is bound to the browser that signed in (Flask-Login's strong protection), so
    sign-in and wrk send the same User-Agent; the page is then checked to answer 200, not 302.
    """
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "username": username, "password": PASSWORD}).encode()
    opener.open(base + "/login", body).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    check = urllib.request.Request(base + "/", headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    opened = urllib.request.build_opener(NoRedirect).open(check)
    if opened.status != 200:
        raise RuntimeError(f"the benchmark's web session does not open the dashboard ({opened.status})")
    return cookie


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a redirect (to the sign-in page) instead of following it."""

    def redirect_request(self, *args, **kwargs):
        return None


def prepare(url: str, cases: int, waiting: int | None = None) -> dict:
    """Migrate the database, create the people and bulk-insert the cases, `waiting` of them
    submitted (one in OPEN_SHARE by default) and the rest closed; return what wrk needs.

    Returns the first head's token, username and waiting cases (the pages read them as that
    head), and each head's token and waiting cases for the approvals ("approvers").
    """
    from accounts.sign_in import issue_token
    from extensions import db
    from models import Case

    app = make_app(url)
    with app.app_context():
        head_names = [f"bench.head{n or ''}" for n in range(len(DEPARTMENTS))]
        spec = [(username, ["dept_head"], name) for username, name in zip(head_names, DEPARTMENTS)]
        spec += [("bench.committee", ["committee"], "City Clerk's Office")]
        spec += [(f"bench.staff{n}", ["staff"], DEPARTMENTS[n % 2]) for n in range(20)]
        people = make_people(db.session, spec)
        staff = [people[f"bench.staff{n}"] for n in range(20)]
        # Years of history: most cases are closed, some (one in ten, at full size) wait for a decision.
        waiting = cases // OPEN_SHARE if waiting is None else waiting
        bulk_travel_cases(db.session, staff, cases - waiting, state="closed")
        bulk_travel_cases(db.session, staff, waiting)
        heads = [people[username] for username in head_names]
        approvers = []
        for head in heads:
            approvers.append({"token": issue_token(db.session, head), "ids": list(db.session.scalars(
                db.select(Case.id).where(Case.department_id == head.department_id, Case.state == "submitted")
                .order_by(Case.id.desc())))})
        db.session.commit()
        username = heads[0].username
        db.session.remove()
        db.engine.dispose()
    return {"token": approvers[0]["token"], "ids": approvers[0]["ids"], "username": username, "approvers": approvers}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(base: str, script: str, seconds: int, env: dict) -> dict:
    """Run wrk with a Lua script; return requests/s, p50, p99 (ms) and the count of errors."""
    out = subprocess.run(
        ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "10s", "--latency",
         "-s", os.path.join(WRK, script), base],
        capture_output=True, text=True, env={**os.environ, "ACCORD_THREADS": str(THREADS), **env}, timeout=seconds + 120)
    text = out.stdout
    if out.returncode != 0 or "Requests/sec" not in text:
        raise RuntimeError(f"wrk failed: {out.stderr or text}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
            # Anchored to the line: the thread stats before it may end in "...50%" too ("+/- Stdev").
            "p50": _ms(re.search(r"^\s*50%\s+(\S+)", text, re.M).group(1)),
            "p99": _ms(re.search(r"^\s*99%\s+(\S+)", text, re.M).group(1)),
            "requests": int(re.search(r"(\d+) requests in", text).group(1)), "errors": errors}


def _cpu_by_process(processes) -> dict[int, float]:
    """Return the CPU time (user and system) each process has used, by pid, leaving out any that ended."""
    import psutil

    used = {}
    for p in processes:
        try:
            times = p.cpu_times()
            used[p.pid] = times.user + times.system
        except psutil.Error:
            pass
    return used


def _backends(url: str) -> list:
    """Return the PostgreSQL backends serving this database, if its server runs on this machine.

    A backend names its database in its process title ("postgres: 15/main: user db
    127.0.0.1(port) idle"), so other databases' work on the same server (a test run) is left out.
    """
    import psutil
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.host not in (None, "", "127.0.0.1", "localhost", "::1"):
        return []
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(p.info["cmdline"] or [])
        if (p.info["name"] or "").startswith("postgres") and f" {parsed.database} " in f" {title} ":
            found.append(p)
    return found


def _app_and_db(server: Server) -> tuple[dict[int, float], dict[int, float]]:
    """Return the CPU times of the app's workers and of the database's backends on this machine."""
    import psutil

    return _cpu_by_process(psutil.Process(server.proc.pid).children()), _cpu_by_process(_backends(server.url))


def measured(server: Server, script: str, seconds: int, env: dict) -> dict:
    """Run wrk, adding the CPU time per request of the app's workers and of PostgreSQL's server.

    A latency says how long a client waited; the CPU time says what a request cost, which is what
    a change to the code changes. On a shared host the first moves with the neighbours' load more
    than with any change, the second less. A process started during the run (a backend for a
    worker's first connection) counts whole; one that ended during it is left out.
    """
    app_before, db_before = _app_and_db(server)
    result = wrk(server.base, script, seconds, env)
    app_after, db_after = _app_and_db(server)
    if app_after.keys() != app_before.keys():
        print(f"  note: gunicorn replaced a worker during {script}: its CPU figure includes a start-up", flush=True)
    done = max(result["requests"], 1)
    result["app_cpu"] = sum(t - app_before.get(pid, 0.0) for pid, t in app_after.items()) / done * 1000
    result["db_cpu"] = (sum(t - db_before.get(pid, 0.0) for pid, t in db_after.items()) / done * 1000
                        if db_after else None)
    return result


def endpoints(server: Server, setup: dict, folder: str, seconds: int) -> list[tuple[str, dict]]:
    """Measure each endpoint in turn against a running server."""
    base = server.base
    ids_file = os.path.join(folder, "ids.txt")
    with open(ids_file, "w") as f:
        f.write("\n".join(map(str, setup["ids"])))
    env = {"ACCORD_TOKEN": setup["token"], "ACCORD_IDS": ids_file,
           "ACCORD_COOKIE": session_cookie(base, setup["username"])}
    # Each department's head approves that department's waiting cases: at 250 approvals a second,
    # one head's 5,000 (at 100,000 cases) ran out before the 20 seconds did.
    approve = {"ACCORD_APPROVERS": str(len(setup["approvers"]))}
    for n, approver in enumerate(setup["approvers"]):
        path = os.path.join(folder, f"approve-{n}.txt")
        with open(path, "w") as f:
            f.write("\n".join(map(str, approver["ids"])))
        approve.update({f"ACCORD_TOKEN_{n}": approver["token"], f"ACCORD_IDS_{n}": path})
    approved = measured(server, "approve.lua", seconds, {**env, **approve})
    waiting = sum(len(a["ids"]) for a in setup["approvers"])
    if approved["requests"] >= waiting - CONNECTIONS:
        print(f"  note: the approvals ran out of waiting cases ({waiting:,}) before {seconds} s: the workers "
              "then waited on wrk's idle connections, and their figures are not valid", flush=True)
    results = [("POST approve (distinct cases)", approved)]
    for label, path in (("GET /api/v1/cases (list)", "/api/v1/cases"), ("GET /cases (list page)", "/cases"),
                        ("GET / (dashboard)", "/"),
                        ("GET /cases/<id> (case page)", "/cases/{id}"), ("GET /api/v1/cases/<id>", "/api/v1/cases/{id}")):
        results.append((label, measured(server, "pages.lua", seconds, {**env, "ACCORD_PATH": path})))
    return results


def run(full: bool = False) -> list[list]:
    """Run benchmark 3 on every database and print its table."""
    if shutil.which("wrk") is None:
        print("\n3. Over HTTP: skipped, wrk is not installed (apt-get install wrk)")
        return []
    cases, seconds, workers = (100_000, 20, 4) if full else (10_000, 6, 4)
    rows = []
    with databases("http") as found:
        for label, url in reversed(found):
            folder = tempfile.mkdtemp(prefix="accord-http-")
            began = time.perf_counter()
            setup = prepare(url, cases, max(cases // OPEN_SHARE, APPROVALS_PER_SECOND_MAX * seconds))
            print(f"  {label}: {cases:,} cases inserted in {time.perf_counter() - began:.0f} s", flush=True)
            with Server(url, workers, os.path.join(folder, "gunicorn.log")) as server:
                for name, r in endpoints(server, setup, folder, seconds):
                    rows.append([label, name, r["requests"], r["rps"], f"{r['p50']:.1f}", f"{r['p99']:.1f}", r["errors"],
                                 f"{r['app_cpu']:.2f}", "-" if r["db_cpu"] is None else f"{r['db_cpu']:.2f}"])
            shutil.rmtree(folder, ignore_errors=True)
    print_table(f"3. Over HTTP: gunicorn -w {workers}, wrk {CONNECTIONS} connections, {seconds} s each, "
                f"{cases:,} cases", ["database", "endpoint", "requests", "req/s", "p50 ms", "p99 ms", "errors", "app CPU ms/req",
                 "db CPU ms/req"], rows)
    return rows
