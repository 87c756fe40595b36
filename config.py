"""Configuration read from the environment, with safe defaults for a local run."""
from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent


class SettingError(RuntimeError):
    """A setting that cannot work, named with what it must be: the app does not start."""


def _decimal(name: str, default: str) -> Decimal:
    value = os.environ.get(name, default)
    try:
        return Decimal(value.strip())
    except ArithmeticError:  # (decimal.InvalidOperation)
        raise SettingError(f"{name} must be an amount such as {default}, not {value!r}.") from None


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise SettingError(f"{name} must be a whole number, not {value!r}.") from None


def _flag(name: str, default: bool) -> bool:
    """Read a yes/no setting (1/0, true/false, yes/no, on/off); refuse anything else."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingError(f"{name} must be 1 or 0 (or true/false, yes/no, on/off), not {value!r}")


def from_environment() -> dict:
    """Return the settings taken from the process environment."""
    instance = ROOT / "instance"
    return {
        "ACCORD_ENV": os.environ.get("ACCORD_ENV", "development"),
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance / 'accord.sqlite3'}"
        ),
        "ACCORD_TIMEZONE": os.environ.get("ACCORD_TIMEZONE", "America/Toronto"),
        "ACCORD_TRAVEL_CAO_THRESHOLD": _decimal("ACCORD_TRAVEL_CAO_THRESHOLD", "5000.00"),
        "ACCORD_TRAVEL_REPORT_DUE_DAYS": _int("ACCORD_TRAVEL_REPORT_DUE_DAYS", 30),
        "ACCORD_RELIEF_CAO_LIMIT": _decimal("ACCORD_RELIEF_CAO_LIMIT", "25000.00"),
        "ACCORD_RELIEF_TRIAGE_SLA_HOURS": _int("ACCORD_RELIEF_TRIAGE_SLA_HOURS", 48),
        "ACCORD_CRITERIA_DIR": os.environ.get("ACCORD_CRITERIA_DIR", str(ROOT / "criteria")),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER"),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS", False),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "accord@toronto.example"),
        "ACCORD_BASE_URL": os.environ.get("ACCORD_BASE_URL", "http://localhost:5000"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "ACCORD_LOGIN_RATE_LIMIT": os.environ.get("ACCORD_LOGIN_RATE_LIMIT", "10 per minute"),
        "ACCORD_LOGIN_USER_RATE_LIMIT": os.environ.get("ACCORD_LOGIN_USER_RATE_LIMIT", "20 per hour"),
        "ACCORD_LOGIN_BURST_LIMIT": os.environ.get("ACCORD_LOGIN_BURST_LIMIT", "60 per minute"),
        "ACCORD_LOGIN_USER_BURST_LIMIT": os.environ.get("ACCORD_LOGIN_USER_BURST_LIMIT", "10 per minute"),
        # How many proxies in front of the app set X-Forwarded-For and X-Forwarded-Proto (nginx: 1).
        # Behind a proxy every request comes from its address, so the sign-in limit would count
        # the whole office as one client; with none trusted, a client's own header is ignored.
        "ACCORD_PROXIES": _int("ACCORD_PROXIES", 0),
        # A web sign-in ends this many hours after it began, and an API token this many days after
        # it was issued (0: at sign-out or revocation only). More than 20 hours, so that no one is
        # signed out in the middle of a form without warning (WCAG 2.2.1, Timing Adjustable).
        "ACCORD_SESSION_HOURS": _int("ACCORD_SESSION_HOURS", 24),
        "ACCORD_TOKEN_DAYS": _int("ACCORD_TOKEN_DAYS", 90),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 1024 * 1024),
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(),
        # psycopg prepares a statement run five times on a connection; a pooler that hands each
        # transaction to another server connection (PgBouncer in transaction mode, unless 1.22 or
        # later with max_prepared_statements set) would not find it there: 0 turns that off.
        "ACCORD_DB_PREPARE": _flag("ACCORD_DB_PREPARE", True),
    }


_POOL_SETTINGS = {"ACCORD_DB_POOL_SIZE": "pool_size", "ACCORD_DB_MAX_OVERFLOW": "max_overflow"}


def _engine_options() -> dict:
    """Return the connection pool settings given in the environment (SQLAlchemy's defaults else).

    No pool_pre_ping unless asked: a PostgreSQL connection that failed in the pool is found
    without a round trip when it is checked out, and replaced (models/liveness.py).
    """
    options = {key: _int(name, 0) for name, key in _POOL_SETTINGS.items() if name in os.environ}
    # JSON columns (a case's data and goals, events' payloads) read with orjson, several times
    # faster than the standard library's parser: every page of cases reads dozens of them.
    options["json_deserializer"] = orjson.loads
    if _flag("ACCORD_DB_PRE_PING", False):
        options["pool_pre_ping"] = True
    return options


DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "accord_session",
    "REMEMBER_COOKIE_DURATION": 0,
    "WTF_CSRF_TIME_LIMIT": None,
    "JSON_SORT_KEYS": False,
}


def token_lifetime(config) -> timedelta | None:
    """Return how long an API token lasts (None: until revoked)."""
    return timedelta(days=config["ACCORD_TOKEN_DAYS"]) if config["ACCORD_TOKEN_DAYS"] > 0 else None


def session_lifetime(config) -> timedelta | None:
    """Return how long a web sign-in lasts at most, however active (None: until sign-out)."""
    return timedelta(hours=config["ACCORD_SESSION_HOURS"]) if config["ACCORD_SESSION_HOURS"] > 0 else None
