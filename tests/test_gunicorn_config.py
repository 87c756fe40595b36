"""gunicorn's settings (gunicorn.conf.py): found from the project's folder, and each worker takes the
loaded application out of the garbage collector's sight, so that no full collection walks it."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _settings(**env: str) -> dict[str, str]:
    """Return the settings gunicorn prints, started in the project's folder with only these variables of its own."""
    env = {**{k: v for k, v in os.environ.items() if k not in ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS")},
           "ACCORD_ENV": "development", **env}
    out = subprocess.run([str(GUNICORN), "--print-config", "app:create_app()"], cwd=ROOT, capture_output=True,
                         text=True, env=env, timeout=60, check=True).stdout
    return {name.strip(): value.strip() for name, _, value in (line.partition("=") for line in out.splitlines())}


def test_gunicorn_started_in_the_project_folder_reads_its_settings():
    settings = _settings()
    assert settings["config"] == "./gunicorn.conf.py"
    assert settings["post_worker_init"] == "<post_worker_init()>" and settings["when_ready"] == "<when_ready()>"
    assert settings["preload_app"] == "True"
    assert settings["timeout"] == "30"
    # Two workers per core this process may use (gunicorn's own default is one worker), at most 16.
    assert settings["workers"] == str(min(2 * len(os.sched_getaffinity(0)), 16))
    assert _settings(WEB_CONCURRENCY="3")["workers"] == "3"
    # No control socket: its one path per user was taken over by a second server, and removed under the first.
    assert settings["control_socket_disable"] == "True"


@pytest.mark.parametrize("given", ["0", "65"])
def test_a_number_of_workers_that_cannot_serve_stops_gunicorn_saying_why(given):
    # 0 started a server with no worker, which never answered. (gunicorn itself refuses a negative
    # number, and one that is no number at all before it reads this file.)
    env = {**os.environ, "ACCORD_ENV": "development", "WEB_CONCURRENCY": given}
    out = subprocess.run([str(GUNICORN), "--print-config", "app:create_app()"], cwd=ROOT, capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode != 0
    assert f"Accord cannot start: WEB_CONCURRENCY must be a whole number from 1 to 64, not '{given}'." in out.stderr
    assert "Traceback" not in out.stderr


def _as_a_worker(tmp_path, then: str, hook: bool = True) -> str:
    """Run a script in a fresh interpreter as a gunicorn worker: load the app, run the hook gunicorn
    runs after that (with a worker holding the app, as gunicorn's does), then `then`; return its output."""
    script = f"""
import gc, runpy, types
from app import create_app
app = create_app({{"SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path}/g.sqlite3", "SECRET_KEY": "x"}})
tracked = len(gc.get_objects())
{'runpy.run_path("gunicorn.conf.py")["post_worker_init"](types.SimpleNamespace(wsgi=app))' if hook else ''}
{then}
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "ACCORD_ENV": "development"})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_worker_freezes_the_loaded_application_out_of_the_collectors_sight(tmp_path):
    out = _as_a_worker(tmp_path, "print(tracked, len(gc.get_objects()), gc.get_freeze_count())")
    before, after, frozen = map(int, out.split())
    assert before > 50_000  # the application, as a full collection would have walked it
    assert after < 1_000 and frozen > 50_000  # now none of it is walked by a collection


def test_the_master_settles_the_preloaded_application_and_its_workers_inherit_it(tmp_path):
    # Settled in each worker, the collection touched every inherited object, and each worker copied
    # the master's memory; the master settles it once, and a worker forked from it does no more.
    out = _as_a_worker(tmp_path, """
hooks = runpy.run_path("gunicorn.conf.py")
print(gc.get_freeze_count())
hooks["when_ready"](types.SimpleNamespace(app=types.SimpleNamespace(callable=app)))
frozen = gc.get_freeze_count()
compiled = len({name for _loader, name in app.jinja_env.cache.keys()})
hooks["post_worker_init"](types.SimpleNamespace(wsgi=app))
print(frozen, compiled, gc.get_freeze_count())
""", hook=False)
    first, second = out.strip().splitlines()[-2:]
    frozen, compiled, after = map(int, second.split())
    assert int(first) == 0 and frozen > 50_000 and compiled > 20 and after == frozen


def test_a_worker_compiles_every_template_before_its_first_request(tmp_path):
    # Otherwise a new worker's first case page compiled a dozen templates while the requests behind it waited.
    out = _as_a_worker(tmp_path, """
compiled = {name for _loader, name in app.jinja_env.cache.keys()}
print(len(app.jinja_env.list_templates()), len(compiled), sorted(set(app.jinja_env.list_templates()) - compiled))
""")
    templates, compiled, missing = out.split(maxsplit=2)
    assert int(templates) > 20 and compiled == templates and missing.strip() == "[]"


def test_a_template_that_does_not_compile_is_logged_not_fatal(tmp_path):
    # A worker that failed to boot would stop gunicorn altogether; the page that uses it fails, as before.
    out = _as_a_worker(tmp_path, """
from jinja2 import ChoiceLoader, DictLoader
from app import compile_templates
app.jinja_env.loader = ChoiceLoader([app.jinja_env.loader, DictLoader(
    {"broken.html": "{% if %}", ".broken.html.swp": "{% if %}", "notes.txt~": "{% if %}"})])
print(compile_templates(app), len(app.jinja_env.list_templates()))
""")
    compiled, listed = map(int, out.split()[-2:])
    assert listed == compiled + 3  # the broken one, the swap file and the backup are left


def test_the_hook_leaves_a_worker_that_serves_another_application(tmp_path):
    # gunicorn's own "failed to boot" application is a plain function: nothing to compile, still frozen.
    script = "import gc, runpy; runpy.run_path('gunicorn.conf.py')['post_worker_init'](" \
             "__import__('types').SimpleNamespace(wsgi=lambda environ, start: None)); print(gc.get_freeze_count())"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 0


def _answers(url: str) -> bool:
    import urllib.request

    try:
        return urllib.request.urlopen(url, timeout=2).status == 200
    except OSError:
        return False


def _workers(master: int) -> set[int]:
    return {int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()}


def test_a_criteria_file_broken_while_the_server_runs_takes_effect_only_on_restart(tmp_path):
    # Each worker loaded the criteria itself: one started again later (after a timeout or a crash)
    # read the files as they were then, so workers scored against different sets, and a broken
    # edit stopped the whole server ("Worker failed to boot"). Now the master loads them once.
    import shutil
    import signal
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tmp_path / "criteria"
    shutil.copytree(ROOT / "criteria", folder, ignore=shutil.ignore_patterns("*.py"))
    env = {**os.environ, "ACCORD_CRITERIA_DIR": str(folder), "SECRET_KEY": "x", "ACCORD_ENV": "development",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'accord.sqlite3'}"}
    # (Migrated first: /healthz answers 200 only for a database with the tables this code needs.)
    subprocess.run([str(GUNICORN.with_name("flask")), "init-db"], cwd=ROOT, env={**env, "FLASK_APP": "app.py"},
                   check=True, capture_output=True, timeout=120)
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        server = subprocess.Popen([str(GUNICORN), "-w", "2", "-b", f"127.0.0.1:{port}", "app:create_app()"], cwd=ROOT,
                                  env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        deadline = time.monotonic() + 60
        while not (_answers(url) and len(_workers(server.pid)) == 2) and time.monotonic() < deadline:
            time.sleep(0.2)
        first = _workers(server.pid)
        assert len(first) == 2
        broken = re.sub(r"^version: \d+$", "version: two", (folder / "relief.yaml").read_text(), count=1, flags=re.M)
        assert "version: two" in broken
        (folder / "relief.yaml").write_text(broken)
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not (len(_workers(server.pid) - first) == 2 and _answers(url)) and time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()
            time.sleep(0.2)
        assert server.poll() is None and len(_workers(server.pid) - first) == 2 and _answers(url)
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Started afresh, it reads the files as they are now, and refuses the broken one.
    restarted = subprocess.run([str(GUNICORN), "-w", "1", "-b", "127.0.0.1:0", "app:create_app()"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
    assert restarted.returncode == 3 and "criteria/relief.yaml: version" in restarted.stderr


def test_gunicorn_started_without_accord_env_serves_as_production(tmp_path):
    # Started without ACCORD_ENV, the server was a development one: a published session key when
    # none was set, cookies sent over plain HTTP. It is production now, and wants its key.
    env = {k: v for k, v in os.environ.items() if k not in ("ACCORD_ENV", "SECRET_KEY", "WEB_CONCURRENCY")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'accord.sqlite3'}"
    out = subprocess.run([str(GUNICORN), "-w", "1", "-b", "127.0.0.1:0", "app:create_app()"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 3
    assert "Accord cannot start: SECRET_KEY must be set outside development (ACCORD_ENV=production)." in out.stderr
