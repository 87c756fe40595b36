"""The application factory."""
from __future__ import annotations

import logging
import os
import sys
from decimal import Decimal

from flask import Flask

import config as settings


#: The exit status when the application cannot start (gunicorn's WORKER_BOOT_ERROR).
CANNOT_START = 3


def create_app(config: dict | None = None) -> Flask:
    """Create and configure an Accord application."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(settings.DEFAULTS)
    try:
        app.config.update(settings.from_environment())
        if config:
            app.config.update(config)
        _check_secret(app)
        _check_settings(app)
    except settings.SettingError as err:
        # A setting that cannot work is said in one line naming it, as a broken criteria file is,
        # not at the foot of a traceback; exit status 3 stops gunicorn (see CANNOT_START).
        print(f"Accord cannot start: {err}", file=sys.stderr)
        raise SystemExit(CANNOT_START) from None
    if str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        from models.liveness import with_keepalives

        options = with_keepalives(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        if not app.config["ACCORD_DB_PREPARE"]:
            options["connect_args"] = {**options["connect_args"], "prepare_threshold": None}
        # The engine's locking relies on READ COMMITTED (a writer that waited on a case's lock reads
        # the case as committed since), whatever default_transaction_isolation the server or role
        # sets. A request's reads before its first write run in autocommit, one statement each,
        # which reads the same at any level (workflows/transaction.py).
        options["isolation_level"] = "READ COMMITTED"
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    os.makedirs(app.instance_path, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The transitions library logs two lines at INFO for every transition ("Finished processing
    # state ... callbacks"); the engine's own line says what happened, to whom and by whom.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    # Alembic announces each of its plugins at INFO whenever the app is created: in every command.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    _warn_of_settings(app)
    # WeasyPrint logs each stage of drawing a PDF at INFO (about 115 lines per annual report), and
    # fontTools each font it subsets.
    for name in ("weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.WARNING)

    import clock
    from api.json import DecimalJSONProvider
    from extensions import csrf, db, limiter, login_manager, migrate

    clock.configure(app.config["ACCORD_TIMEZONE"])
    app.json_provider_class = DecimalJSONProvider
    app.json = DecimalJSONProvider(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(settings.ROOT, "migrations"), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)

    import notifications
    import reports
    import workflows.setup
    import workflows.transaction
    from criteria import CriteriaError

    workflows.transaction.init_app(app)

    try:
        workflows.setup.register_all(app)
    except CriteriaError as err:
        # The office's own file is wrong, not the code: say which, where and why, a line per fault
        # of every file (`flask criteria check` included), rather than at the foot of a traceback.
        # Exit status 3 is gunicorn's "worker failed to boot": it stops, where another status would
        # have it start a new worker, fail again, forever.
        print("\n".join(f"Accord cannot start: {fault}" for fault in err.errors), file=sys.stderr)
        raise SystemExit(CANNOT_START) from None
    notifications.init_app(app)
    reports.init_app(app)

    from api import bp as api_bp, scores as api_scores
    from web import bp as web_bp, forms as web_forms, security

    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp)
    api_scores.init_app(app)
    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, never cookies
    security.init_app(app)
    web_forms.init_app(app)

    from cli import database_faults_in_one_line, register_commands

    register_commands(app)
    database_faults_in_one_line(app)
    if app.config["ACCORD_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address and scheme as the trusted proxies saw them, for the sign-in limits,
        # the security log and the links the app builds; the nearest proxies' entries only.
        proxies = app.config["ACCORD_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    return app


def _warn_of_settings(app: Flask) -> None:
    """Warn, at start, of a production setting that works but not as a production server needs."""
    if app.config["ACCORD_ENV"] == "production" and str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://"):
        logging.getLogger("accord.security").warning(
            "RATELIMIT_STORAGE_URI is memory://: each worker process counts sign-in attempts apart, so "
            "the limits are as many times higher as there are workers; set it to a shared store "
            "(redis://...) when serving with several workers")


#: What ACCORD_ENV may be: "prod" or "Production" ran without HTTPS, HSTS or secure cookies, silently.
ENVIRONMENTS = ("development", "test", "production")
#: The shortest SECRET_KEY production takes (32 random bytes, as hex, are 64 characters).
SHORTEST_SECRET = 32


def _check_secret(app: Flask) -> None:
    if app.config["ACCORD_ENV"] not in ENVIRONMENTS:
        raise settings.SettingError(f"ACCORD_ENV must be {', '.join(ENVIRONMENTS[:-1])} or {ENVIRONMENTS[-1]}, "
                                    f"not {app.config['ACCORD_ENV']!r}.")
    if app.config.get("SECRET_KEY"):
        if app.config["ACCORD_ENV"] == "production" and len(app.config["SECRET_KEY"]) < SHORTEST_SECRET:
            raise settings.SettingError(
                f"SECRET_KEY must be at least {SHORTEST_SECRET} characters in production; make one with "
                "python3 -c 'import secrets; print(secrets.token_hex(32))'.")
        return
    if app.config["ACCORD_ENV"] in ("development", "test") or app.testing:
        app.config["SECRET_KEY"] = "development-only-secret-key"
        return
    raise settings.SettingError("SECRET_KEY must be set outside development (ACCORD_ENV=%s)." % app.config["ACCORD_ENV"])


#: The whole-number settings and the range each must lie in. The longest a web sign-in (hours)
#: and an API token (days) may last is a year and ten years (0: no limit): beyond, the moment it
#: began could not be written and every request would fail; a negative one would read as forever.
WHOLE_NUMBER_RANGES = {
    "ACCORD_SESSION_HOURS": (0, 366 * 24, " (no limit)"),
    "ACCORD_TOKEN_DAYS": (0, 3660, " (no limit)"),
    "ACCORD_TRAVEL_REPORT_DUE_DAYS": (0, 366, ""),
    "ACCORD_RELIEF_TRIAGE_SLA_HOURS": (1, 366 * 24, ""),
    "ACCORD_PROXIES": (0, 10, ""),  # a negative count would trust the client's own X-Forwarded-For
    "MAIL_PORT": (1, 65535, ""),
    "MAX_CONTENT_LENGTH": (1024, 1024**3, ""),
}
#: The pool settings, when given (SQLAlchemy's own defaults otherwise: 5 and 10).
POOL_RANGES = {"pool_size": ("ACCORD_DB_POOL_SIZE", 1, 1000), "max_overflow": ("ACCORD_DB_MAX_OVERFLOW", 0, 1000)}
#: The amounts set in configuration: the delegated authorities of the CAO.
AMOUNTS = ("ACCORD_TRAVEL_CAO_THRESHOLD", "ACCORD_RELIEF_CAO_LIMIT")
RATE_LIMITS = ("ACCORD_LOGIN_RATE_LIMIT", "ACCORD_LOGIN_USER_RATE_LIMIT", "ACCORD_LOGIN_BURST_LIMIT",
               "ACCORD_LOGIN_USER_BURST_LIMIT")


def _check_settings(app: Flask) -> None:
    """Refuse to start with a setting that would break something later, or quietly do harm:
    a number out of its range, an amount that is not one, a rate limit Flask-Limiter cannot
    read (it would log it and limit nothing), a time zone that does not exist."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from limits import parse_many

    from workflows.fields import MAX_MONEY

    for name, (low, high, meaning) in WHOLE_NUMBER_RANGES.items():
        value = app.config[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise settings.SettingError(f"{name} must be a whole number from {low}{meaning} to {high}, not {value!r}.")
    options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
    for key, (name, low, high) in POOL_RANGES.items():
        if key in options and not (isinstance(options[key], int) and low <= options[key] <= high):
            raise settings.SettingError(f"{name} must be a whole number from {low} to {high}, not {options[key]!r}.")
    for name in AMOUNTS:
        value = app.config[name]
        if (not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= MAX_MONEY
                or value != value.quantize(Decimal("0.01"))):
            raise settings.SettingError(f"{name} must be an amount from 0 to {MAX_MONEY} with at most two "
                                        f"decimals, not {value!r}.")
    for name in RATE_LIMITS:
        try:
            parse_many(app.config[name])
        except (ValueError, TypeError):
            raise settings.SettingError(f"{name} must be a rate such as '10 per minute', not {app.config[name]!r}.") from None
    try:
        ZoneInfo(app.config["ACCORD_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise settings.SettingError(f"ACCORD_TIMEZONE must be a time zone such as 'America/Toronto', "
                                    f"not {app.config['ACCORD_TIMEZONE']!r}.") from None


def compile_templates(app: Flask) -> int:
    """Compile every template of the app now, and return how many.

    Jinja compiles a template the first time it is rendered, and keeps it. In a fresh gunicorn
    worker that made the first case page take 58 ms instead of 13 (in-process), and while each of
    four new workers did so, the requests queued behind them: that start-up reached the 99th
    percentile of a 6-second benchmark run. gunicorn.conf.py calls this once, in the master before
    it forks a worker (or in each worker when preload_app is off); it takes about 0.2 s.

    Only the HTML templates, leaving out hidden files (an editor's swap file) and backups; one
    that does not compile is logged and left for its page to fail on, as before, rather than
    stopping every worker from starting.
    """
    from jinja2 import TemplateError

    env, compiled = app.jinja_env, 0
    for name in env.list_templates(filter_func=_is_page_template):
        try:
            env.get_template(name)
            compiled += 1
        except (TemplateError, UnicodeDecodeError) as err:
            logging.getLogger("accord").error("template %s does not compile: %s", name, err)
    return compiled


def _is_page_template(name: str) -> bool:
    return name.endswith(".html") and not name.rpartition("/")[2].startswith(".")
