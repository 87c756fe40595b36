"""gunicorn's settings for Accord; gunicorn reads this file from the directory it starts in.

Elsewhere, name it: `gunicorn -c /path/to/accord/gunicorn.conf.py 'app:create_app()'`.
"""
import gc
import os

# gunicorn is how Accord is served in production: a server started without ACCORD_ENV is taken as
# one (HTTPS only, secure cookies, a SECRET_KEY required), not as a developer's machine, where the
# session key is a published one and `flask seed-demo` makes accounts with a published password.
# Set ACCORD_ENV=development to serve a development machine through gunicorn.
os.environ.setdefault("ACCORD_ENV", "production")


def default_workers() -> int:
    """Return two workers per core this process may run on, at most 16.

    A request spends most of its time in Python, so more workers only queue for the CPU. The
    cores are those the process may use (a container's cpuset), not the whole host's; a CPU quota
    is not seen, so set WEB_CONCURRENCY in a container limited that way.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(2 * cores, 16)


def workers_wanted() -> int:
    """Return WEB_CONCURRENCY, a whole number from 1 to 64, or the default; stop, saying why, on
    anything else (0 started a server with no worker, which never answered)."""
    given = os.environ.get("WEB_CONCURRENCY", "").strip()
    if not given:
        return default_workers()
    if not (given.isascii() and given.isdigit()) or not 1 <= int(given) <= 64:  # (gunicorn refuses "-2" and "abc")
        raise SystemExit(f"Accord cannot start: WEB_CONCURRENCY must be a whole number from 1 to 64, not {given!r}.")
    return int(given)


workers = workers_wanted()
# gunicorn's control socket is one path for every server of the user (~/.gunicorn/gunicorn.ctl):
# a second server took it over, and removed it when it stopped, from under the first. Accord's
# servers are run by signals (HUP, TERM) and the process manager, and need none.
control_socket_disable = True
timeout = 30
# The application, with its criteria sets, is loaded once, in the master, and every worker is a
# copy of it. Each worker loaded its own before: a worker started again later (after a timeout or
# a crash) read the criteria files as they were then, so workers scored against different
# versions; and if an edit had broken a file, that worker could not start and gunicorn stopped
# the whole server. Criteria edits take effect when the server is restarted (after
# `flask criteria check`).
preload_app = True


def post_fork(server, worker) -> None:
    """Give the new worker database pools of its own: a connection the master opened must not be
    shared by two processes (SQLAlchemy's advice for forking: dispose with close=False)."""
    app = getattr(server.app, "callable", None)
    if app is not None and hasattr(app, "app_context"):
        from extensions import db

        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)


def when_ready(server) -> None:
    """In the master, once the application is loaded (preload_app): settle it (see _settle) before
    any worker is forked, so that every worker shares it. Settled in each worker instead, the
    collection touched every object inherited, and each worker copied the master's memory: measured
    idle after start, 40 MB of each worker's was its own, against 5 MB when the master settled it."""
    _settle(getattr(server.app, "callable", None))


def post_worker_init(worker) -> None:
    """Settle the application in a worker that loaded it itself (preload_app turned off)."""
    if gc.get_freeze_count() == 0:
        _settle(getattr(worker, "wsgi", None))


def _settle(app) -> None:
    """Compile the app's templates, then freeze the loaded application (gc.freeze).

    The templates first (app.compile_templates): otherwise each new worker's first pages compile
    them while the requests behind wait, and they too live as long as the worker.

    Python's full collection walks every object that has lived long: in a worker that is the
    whole application (SQLAlchemy's mappers, the schemas, the workflows, the libraries), about
    130,000 objects, and it paused the request that triggered it for about 90 ms, about once per
    2,000 requests. Those objects live as long as the worker, so the collector need never look
    at them again. What the first requests add (cached statements) stays in sight; with the
    rest frozen, a full collection paused for at most 5 ms. Garbage is
    collected first, so that none of it is frozen for good.
    """
    if app is not None and hasattr(app, "jinja_env"):
        from app import compile_templates

        compile_templates(app)
    gc.collect()
    gc.freeze()
