"""Hardening a person notices: headers, sign-in limits, password changes, logged refusals."""
from __future__ import annotations

import logging
import re
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import clock
from app import create_app
from extensions import db
from models import Case
from tests.conftest import _config
from tests.factories import TEST_PASSWORD

TOO_MANY = "Too many sign-in attempts from your address; wait a minute and try again."


def test_security_headers_and_strict_csp(app):
    r = app.test_client().get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_flags(app, make_user):
    make_user("ann", "staff")
    r = app.test_client().post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_web_sign_in_ends_after_its_lifetime_and_says_so(app, make_user):
    # A browser left signed in on a shared computer does not stay signed in for good
    # (ACCORD_SESSION_HOURS, 24 by default: more than WCAG's 20 hours, so no warning is owed).
    make_user("ann", "staff")
    me = app.test_client()
    clock.set(datetime(2026, 3, 2, 13, 0))
    me.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    clock.set(datetime(2026, 3, 3, 12, 59))
    assert me.get("/travel/new").status_code == 200
    clock.set(datetime(2026, 3, 3, 13, 1))
    r = me.get("/travel/new")
    assert r.status_code == 302 and r.location == "/login?next=%2Ftravel%2Fnew"
    assert "Your sign-in has ended; please sign in again." in me.get(r.location).get_data(as_text=True)
    # A form sent after the end is not lost silently: back to the page it came from, told so.
    me.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    clock.set(datetime(2026, 3, 4, 14, 0))
    r = me.post("/travel/new", data={"title": "Metropolis"}, headers={"Referer": "http://localhost/travel/new"})
    assert r.status_code == 302 and r.location == "/login?next=%2Ftravel%2Fnew"
    assert "What you sent was not saved" in me.get(r.location).get_data(as_text=True)
    # Signing out of a sign-in that has ended simply signs out.
    me.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    clock.set(datetime(2026, 3, 5, 15, 0))
    r = me.post("/logout")
    assert r.location == "/login" and "You have signed out." in me.get("/login").get_data(as_text=True)
    # Someone who never signed in is simply asked to.
    stranger = app.test_client()
    page = stranger.get(stranger.get("/travel/new").location).get_data(as_text=True)
    assert "Please sign in to see this page." in page and "has ended" not in page


@pytest.mark.parametrize("name, value, says", [
    # -1 would have read as "forever"; ten million days overflows the date every request computes.
    ("ACCORD_SESSION_HOURS", -1, "a whole number from 0"), ("ACCORD_TOKEN_DAYS", 10**7, "a whole number from 0"),
    # A report due before the trip ends; a due day beyond the calendar (a 500 at every trip's end).
    ("ACCORD_TRAVEL_REPORT_DUE_DAYS", -30, "a whole number from 0"),
    ("ACCORD_TRAVEL_REPORT_DUE_DAYS", 99_999_999, "a whole number from 0"),
    ("ACCORD_RELIEF_TRIAGE_SLA_HOURS", 0, "a whole number from 1"),
    # A negative count of proxies would trust the client's own X-Forwarded-For (no sign-in limit).
    ("ACCORD_PROXIES", -1, "a whole number from 0"),
    # An amount that is not one made every approval fail.
    ("ACCORD_TRAVEL_CAO_THRESHOLD", Decimal("NaN"), "an amount from 0"),
    ("ACCORD_RELIEF_CAO_LIMIT", Decimal("-1"), "an amount from 0"),
    ("ACCORD_RELIEF_CAO_LIMIT", Decimal("Infinity"), "an amount from 0"),
    # A rate Flask-Limiter cannot read limits nothing: it only logs the fact at every request.
    ("ACCORD_LOGIN_RATE_LIMIT", "ten a minute", "a rate such as '10 per minute'"),
    ("ACCORD_LOGIN_USER_RATE_LIMIT", "lots", "a rate such as '10 per minute'"),
    ("ACCORD_LOGIN_BURST_LIMIT", "fast", "a rate such as '10 per minute'"),
    ("ACCORD_LOGIN_USER_BURST_LIMIT", "many", "a rate such as '10 per minute'"),
    ("ACCORD_TIMEZONE", "Mars/Olympus_Mons", "a time zone such as 'America/Toronto'"),
    ("MAX_CONTENT_LENGTH", -5, "a whole number from 1024"),
    ("SQLALCHEMY_ENGINE_OPTIONS", {"pool_size": 0}, None),
])
def test_a_setting_that_cannot_work_stops_the_app_from_starting(name, value, says, capsys):
    # Said in one line naming the setting (it was the foot of a 30-line traceback), exit status 3.
    message = f"{name} must be {says}" if says else "ACCORD_DB_POOL_SIZE must be a whole number from 1"
    with pytest.raises(SystemExit) as stopped:
        create_app({**_config("sqlite://"), name: value})
    assert stopped.value.code == 3
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"Accord cannot start: {message}")


@pytest.mark.parametrize("name, value", [("ACCORD_TRAVEL_CAO_THRESHOLD", "abc"), ("ACCORD_PROXIES", "two"),
                                         ("MAIL_USE_TLS", "perhaps"), ("ACCORD_DB_POOL_SIZE", "abc"),
                                         ("ACCORD_DB_PRE_PING", "sometimes")])
def test_a_setting_the_environment_spells_wrong_is_named(monkeypatch, name, value):
    import config

    monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match=f"{name} must be"):
        config.from_environment()


def test_yes_no_settings_read_yes_as_yes(monkeypatch):
    import config

    monkeypatch.setenv("MAIL_USE_TLS", "yes")
    monkeypatch.setenv("ACCORD_DB_PRE_PING", "true")
    settings = config.from_environment()
    assert settings["MAIL_USE_TLS"] is True and settings["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


def test_failed_sign_ins_are_limited_per_username_from_any_address(app, make_user, make_app):
    # The per-address limit alone let many machines each guess one person's password a little.
    make_user("ann", "staff")
    make_user("bob", "staff")
    limited = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
                        "ACCORD_LOGIN_RATE_LIMIT": "100 per minute", "ACCORD_LOGIN_USER_RATE_LIMIT": "3 per hour"})
    client = limited.test_client()

    def from_(n: int) -> dict:
        return {"environ_base": {"REMOTE_ADDR": f"203.0.113.{n}"}}

    for n in range(4):  # signing in successfully is never held back by it
        assert client.post("/login", data={"username": "ann", "password": TEST_PASSWORD}, **from_(n)).status_code == 302
        client.post("/logout", **from_(n))
    statuses = [client.post("/login", data={"username": "ann", "password": "guess"}, **from_(n)).status_code
                for n in (10, 11)]
    statuses.append(client.post("/api/v1/auth/token", json={"username": "ann", "password": "guess"}, **from_(12))
                    .status_code)
    assert statuses == [401, 401, 401]
    r = client.post("/login", data={"username": "ann", "password": TEST_PASSWORD}, **from_(13))
    assert r.status_code == 429 and "Too many failed sign-ins for this username" in r.get_data(as_text=True)
    r = client.post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD}, **from_(14))
    assert r.status_code == 429
    assert client.post("/login", data={"username": "bob", "password": TEST_PASSWORD}, **from_(15)).status_code == 302


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    app = create_app({"ACCORD_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_sign_in_is_rate_limited_with_a_clear_message(app, make_user, make_app):
    make_user("ann", "staff")
    limited = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
                          "ACCORD_LOGIN_RATE_LIMIT": "3 per minute"})
    client = limited.test_client()
    statuses = [client.post("/login", data={"username": "ann", "password": "wrong"}).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    r = client.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    assert r.status_code == 429
    assert "Too many sign-in attempts" in r.get_data(as_text=True)
    api = limited.test_client()
    for _ in range(3):
        api.post("/api/v1/auth/token", json={"username": "ann", "password": "wrong"})
    r = api.post("/api/v1/auth/token", json={"username": "ann", "password": "wrong"})
    assert r.status_code == 429 and r.get_json()["error"] == "too_many_requests"
    # A sentence for a person, as every API error gives, not the limit's own spelling ("3 per 1 minute").
    assert r.get_json()["message"] == "Too many sign-in attempts from your address; wait a minute and try again."


def test_a_new_password_typed_differently_twice_changes_nothing(app, make_user, browse):
    me = browse(make_user("ann", "staff"))
    r = me.post("/account/password", data={"current": TEST_PASSWORD, "new": "a brand new passphrase",
                                           "again": "a brand new passfrase"})
    assert r.status_code == 422 and "The two new passwords differ: type them again." in r.get_data(as_text=True)
    assert app.test_client().post("/login", data={"username": "ann", "password": TEST_PASSWORD}).status_code == 302


def test_colleagues_signing_in_from_one_address_are_not_held_back(app, make_user, make_app):
    # An office reaches Accord from one address: only refusals count against its limit.
    for name in ("ann", "bob", "cy", "dee", "eve"):
        make_user(name, "staff")
    limited = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
                        "ACCORD_LOGIN_RATE_LIMIT": "3 per minute"})
    for name in ("ann", "bob", "cy", "dee", "eve"):
        assert limited.test_client().post("/login", data={"username": name, "password": TEST_PASSWORD}).status_code == 302
        r = limited.test_client().post("/api/v1/auth/token", json={"username": name, "password": TEST_PASSWORD})
        assert r.status_code == 200, r.get_json()
    client = limited.test_client()
    statuses = [client.post("/login", data={"username": "ann", "password": "wrong"}).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_every_sign_in_from_an_address_counts_against_its_burst_limit(app, make_user, make_app):
    # Refusals are counted once answered: guesses sent at once would all be let in first. Every
    # attempt counts against the burst limit as it arrives, a correct password included.
    make_user("ann", "staff")
    limited = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
                        "ACCORD_LOGIN_BURST_LIMIT": "3 per minute"})
    new = limited.test_client
    statuses = [new().post("/login", data={"username": "ann", "password": TEST_PASSWORD}).status_code,
                new().post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD}).status_code,
                new().post("/login", data={"username": "ann", "password": "wrong"}).status_code]
    assert statuses == [302, 200, 401]
    r = limited.test_client().post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD})
    assert r.status_code == 429 and r.get_json()["message"] == TOO_MANY


def test_every_sign_in_naming_a_username_counts_as_it_arrives(app, make_user, make_app):
    # The failures per username were counted once answered: 8 guesses sent at once from 8 addresses
    # were all checked against a limit of 3. Every attempt naming the username now counts as it
    # arrives (ACCORD_LOGIN_USER_BURST_LIMIT), a correct password included; another name is not held back.
    make_user("ann", "staff")
    make_user("bob", "staff")
    limited = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
                        "ACCORD_LOGIN_USER_BURST_LIMIT": "3 per minute"})

    def post(n: int, path: str, username: str):
        kw = {"environ_base": {"REMOTE_ADDR": f"203.0.113.{n}"}}
        body = {"username": username, "password": TEST_PASSWORD}
        return (limited.test_client().post(path, json=body, **kw) if path.startswith("/api")
                else limited.test_client().post(path, data=body, **kw))

    assert [post(n, path, "ann").status_code for n, path in enumerate(
        ("/login", "/api/v1/auth/token", "/login"))] == [302, 200, 302]
    r = post(9, "/api/v1/auth/token", "ann")
    assert r.status_code == 429 and r.get_json()["message"] == ("Too many sign-ins for this username at once; wait "
                                                                "a minute, and try again.")
    assert post(10, "/login", "bob").status_code == 302


def test_failed_sign_ins_from_an_address_count_on_both_doors_together(app, make_user, make_app):
    # Counted apart, the sign-in page and the token endpoint each allowed the limit: twice the guesses.
    make_user("ann", "staff")
    limited = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
                        "ACCORD_LOGIN_RATE_LIMIT": "3 per minute"})
    client = limited.test_client()
    statuses = [client.post("/login", data={"username": "ann", "password": "wrong"}).status_code for _ in range(2)]
    statuses.append(client.post("/api/v1/auth/token", json={"username": "ann", "password": "wrong"}).status_code)
    assert statuses == [401, 401, 401]
    r = client.post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD})
    assert r.status_code == 429 and r.get_json()["message"] == TOO_MANY
    assert client.post("/login", data={"username": "ann", "password": TEST_PASSWORD}).status_code == 429


def test_a_token_is_answered_for_no_cache_to_keep(app, make_user):
    make_user("ann", "staff")
    r = app.test_client().post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"


def test_a_username_with_a_nul_is_refused_as_such(app, make_user):
    # (PostgreSQL cannot compare text holding NUL: looked up, it failed with a 500.)
    make_user("ann", "staff")
    r = app.test_client().post("/login", data={"username": "ann\x00x", "password": "wrong"})
    assert r.status_code == 400 and "Must not contain NUL characters." in r.get_data(as_text=True)


def test_failed_sign_in_is_logged_with_user_and_address(app, make_user, caplog):
    make_user("ann", "staff")
    with caplog.at_level(logging.WARNING, logger="accord.security"):
        app.test_client().post("/login", data={"username": "ann", "password": "wrong"},
                               environ_base={"REMOTE_ADDR": "203.0.113.7"})
        app.test_client().post("/api/v1/auth/token", json={"username": "ann", "password": "wrong"},
                               environ_base={"REMOTE_ADDR": "203.0.113.7"})
    # Once each, with the name given (a second line, "refused POST /login -> 401", said it again).
    assert caplog.messages == ["failed web sign-in for 'ann' from 203.0.113.7",
                               "failed API sign-in for 'ann' from 203.0.113.7"]


def test_password_change_ends_every_session_and_token(app, make_user, api):
    user = make_user("ann", "staff")
    token_client = api(user)
    other = app.test_client()
    other.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    assert other.get("/").status_code == 200
    me = app.test_client()
    me.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    r = me.post("/account/password", data={"current": TEST_PASSWORD, "new": "a brand new passphrase", "again": "a brand new passphrase"})
    assert r.status_code == 302
    assert other.get("/").status_code == 302  # sent to the sign-in page
    assert token_client.get("/api/v1/workflows").status_code == 401
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "ann", "password": "a brand new passphrase"}).status_code == 302


def test_weak_new_password_is_refused(app, make_user):
    make_user("ann", "staff")
    me = app.test_client()
    me.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    r = me.post("/account/password", data={"current": TEST_PASSWORD, "new": "short", "again": "short"})
    assert r.status_code == 422 and "too weak" in r.get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/", "/%09/evil.example/", "/%0a/evil.example/", "/%5Cevil.example/",
                                    "/%0d%0aSet-Cookie:%20x=1", "https://evil.example/", "/%20/evil.example/"])
def test_open_redirect_after_sign_in_is_refused(app, make_user, target):
    # A tab or line break is dropped by browsers (and by Werkzeug from the Location header): "/\t/x" became "//x".
    make_user("ann", "staff")
    r = app.test_client().post(f"/login?next={target}", data={"username": "ann", "password": TEST_PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_sign_in_returns_to_the_page_asked_for(app, make_user):
    make_user("ann", "staff")
    r = app.test_client().post("/login?next=/cases%3Fstate%3Dsubmitted", data={"username": "ann", "password": TEST_PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/cases?state=submitted"


def test_signing_in_again_on_a_sign_in_page_left_open_goes_where_it_was_asked(app, make_user):
    # Signed in meanwhile in another tab, "Sign in" on this one went to the dashboard instead.
    make_user("ann", "staff")
    client = app.test_client()
    asked = client.get("/cases?mine=1").headers["Location"]
    assert client.post("/login", data={"username": "ann", "password": TEST_PASSWORD}).status_code == 302
    r = client.post(asked, data={"username": "ann", "password": TEST_PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/cases?mine=1"
    assert client.get("/login?next=//evil.example/").headers["Location"] == "/"


@pytest.mark.parametrize("moved", [{"environ_base": {"REMOTE_ADDR": "10.0.0.2"}},
                                   {"headers": {"User-Agent": "Browser/121"}},
                                   {"headers": {"X-Forwarded-For": "198.51.100.7"}}])
def test_a_sign_in_lasts_when_the_network_or_the_browsers_version_changes(app, make_user, moved):
    # Flask-Login's "strong" protection ended the sign-in (and lost a form being sent) when the
    # laptop moved from the office network to the VPN, or the browser updated itself.
    make_user("ann", "staff")
    client = app.test_client()
    assert client.post("/login", data={"username": "ann", "password": TEST_PASSWORD},
                       environ_base={"REMOTE_ADDR": "10.0.0.1"}, headers={"User-Agent": "Browser/120"}).status_code == 302
    r = client.get("/", **{"environ_base": {"REMOTE_ADDR": "10.0.0.1"}, "headers": {"User-Agent": "Browser/120"},
                           **moved})
    assert r.status_code == 200, r.headers.get("Location")


def test_a_username_is_signed_in_whatever_its_capitals(app, make_user, make_app):
    # A phone writes "Ann" for "ann": "Wrong username or password". Guesses in other capitals
    # count against the same limit.
    make_user("ann", "staff")
    assert app.test_client().post("/login", data={"username": "Ann", "password": TEST_PASSWORD}).status_code == 302
    assert app.test_client().post("/api/v1/auth/token", json={"username": "ANN", "password": TEST_PASSWORD}
                                  ).status_code in (200, 201)
    limited = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
                        "ACCORD_LOGIN_RATE_LIMIT": "100 per minute", "ACCORD_LOGIN_USER_RATE_LIMIT": "2 per hour"})
    client = limited.test_client()
    statuses = [client.post("/login", data={"username": name, "password": "guess"},
                            environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}).status_code
                for n, name in enumerate(["ann", "Ann", "aNN"])]
    assert statuses == [401, 401, 429]
    # Only capitals the limits count as the same name: PostgreSQL's lower() reads "TİNA" as "tina",
    # whose guesses would then have had a limit of their own.
    make_user("tina", "staff")
    assert app.test_client().post("/login", data={"username": "TİNA", "password": TEST_PASSWORD}).status_code == 401
    assert app.test_client().post("/login", data={"username": "TINA", "password": TEST_PASSWORD}).status_code == 302


def test_csrf_is_required_on_forms(app, make_user, caplog):
    make_user("ann", "staff")
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="accord.security"):
        r = client.post("/login", data={"username": "ann", "password": TEST_PASSWORD},
                        environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert client.get("/").status_code == 302  # not signed in
    # Refused and sent elsewhere, it had left no trace in the log.
    assert caplog.messages == ["form refused on POST '/login': The CSRF token is missing., for - from 203.0.113.9"]


def test_a_form_sent_from_a_tab_opened_before_signing_out_says_what_happened(app, make_user):
    # The old tab's form failed its CSRF check: "400 The CSRF session token is missing", in jargon.
    make_user("ann", "staff")
    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = True
    r = client.post("/travel/new", data={"title": "Berlin", "csrf_token": "from-the-session-before"},
                    headers={"Referer": "http://localhost/travel/new"})
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=%2Ftravel%2Fnew"
    assert "Nothing was saved; sign in, then send it again." in client.get(r.headers["Location"]).get_data(as_text=True)
    # Signed in again, a form of the session before goes back to its page, loaded afresh.
    app.config["WTF_CSRF_ENABLED"] = False
    client.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    app.config["WTF_CSRF_ENABLED"] = True
    r = client.post("/travel/new", data={"title": "Berlin", "csrf_token": "from-the-session-before"},
                    headers={"Referer": "http://localhost/travel/new?from=dashboard"})
    assert r.status_code == 302 and r.headers["Location"] == "/travel/new?from=dashboard"
    assert "the page is loaded afresh, so send it again" in client.get("/").get_data(as_text=True)
    r = client.post("/travel/new", data={"title": "Berlin"}, headers={"Referer": "http://evil.example/travel/new"})
    assert r.status_code == 302 and r.headers["Location"] == "/"  # never to another site
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_a_proxy_the_sign_in_limit_counts_each_client(app, make_user, make_app, proxies):
    # Behind nginx every request comes from 127.0.0.1: counted by that address, ten wrong passwords
    # a minute from anyone would have locked the whole office out. With no proxy trusted, a
    # client's own X-Forwarded-For is ignored, so it cannot step around the limit with it.
    make_user("ann", "staff")
    limited = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
                        "ACCORD_LOGIN_RATE_LIMIT": "3 per minute", "ACCORD_PROXIES": proxies})
    client = limited.test_client()

    def sign_in(password: str, client_address: str) -> int:
        return client.post("/login", data={"username": "ann", "password": password},
                           environ_base={"REMOTE_ADDR": "127.0.0.1"},
                           headers={"X-Forwarded-For": client_address}).status_code

    assert [sign_in("wrong", "203.0.113.66") for _ in range(4)] == [401, 401, 401, 429]
    assert sign_in(TEST_PASSWORD, "198.51.100.5") == (302 if proxies else 429)


def test_sign_in_limit_is_shared_by_several_processes_through_redis(app, make_user, make_app):
    """Two app instances (as two gunicorn workers would be) share one count in Redis."""
    import uuid

    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379", socket_timeout=1).ping()
    except redis.exceptions.RedisError:  # (refused, timed out, or not a Redis at all)
        import pytest

        pytest.skip("no Redis server at 127.0.0.1:6379 (deployments with several processes use one)")
    make_user("ann", "staff")
    config = {**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
              "ACCORD_LOGIN_RATE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
              "RATELIMIT_KEY_PREFIX": f"accord-test-{uuid.uuid4().hex}"}
    first, second = make_app(config).test_client(), make_app(config).test_client()
    for client in (first, second, first):
        assert client.post("/login", data={"username": "ann", "password": "wrong"}).status_code == 401
    assert second.post("/login", data={"username": "ann", "password": "wrong"}).status_code == 429


def test_a_deactivated_person_is_signed_out_of_the_web(app, make_user):
    from extensions import db

    user = make_user("ann", "staff")
    client = app.test_client()
    client.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    assert client.get("/").status_code == 200
    user.active = False
    db.session.commit()
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_guessing_the_current_password_from_an_open_session_is_limited(app, make_user, make_app):
    # One who found a session left open could try current passwords without end, then change it.
    make_user("ann", "staff")
    limited = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
                        "ACCORD_LOGIN_USER_RATE_LIMIT": "3 per hour"})
    client = limited.test_client()
    assert client.post("/login", data={"username": "ann", "password": TEST_PASSWORD}).status_code == 302

    def change(current: str) -> int:
        return client.post("/account/password", data={"current": current, "new": "a new pass phrase 2026", "again": "a new pass phrase 2026"}).status_code

    assert [change("wrong") for _ in range(4)] == [422, 422, 422, 429]
    r = client.post("/account/password", data={"current": TEST_PASSWORD, "new": "a new pass phrase 2026", "again": "a new pass phrase 2026"})
    assert r.status_code == 429 and "Too many wrong current passwords" in r.get_data(as_text=True)


def _while_checking_passwords(app, monkeypatch, other_id: int) -> None:
    """Make every password check wait while another person's step commits (in another thread),
    as it does when the office is busy: the check takes a good fraction of a second."""
    import threading

    import api.auth
    import web.auth
    from models import User
    from workflows import engine

    real = web.auth.verify_password

    def write_elsewhere():
        with app.app_context():
            engine.create_case(db.session, db.session.get(User, other_id), "travel", "Trip", ["research"], {})
            db.session.remove()

    def slow_verify(stored, given):
        ok = real(stored, given)
        other = threading.Thread(target=write_elsewhere)
        other.start()
        other.join(20)
        return ok

    monkeypatch.setattr(web.auth, "verify_password", slow_verify)
    monkeypatch.setattr(api.auth, "verify_password", slow_verify)


def test_signing_in_while_others_write_succeeds(app, make_user, monkeypatch):
    # On SQLite a transaction that read before another's commit could not write after it: the
    # session row (or the token) failed with "database is locked", a 500 for the person signing in.
    make_user("ann", "staff")
    _while_checking_passwords(app, monkeypatch, make_user("bob", "staff").id)
    db.session.remove()
    r = app.test_client().post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    r = app.test_client().post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD})
    assert r.status_code == 200, r.get_json()
    assert db.session.scalar(select(func.count(Case.id))) == 2  # and the others' steps went through


def test_changing_ones_password_while_others_write_succeeds(app, make_user, browse, monkeypatch):
    ann = make_user("ann", "staff")
    client = browse(ann)
    _while_checking_passwords(app, monkeypatch, make_user("bob", "staff").id)
    r = client.post("/account/password", data={"current": TEST_PASSWORD, "new": "a-much-better-passphrase", "again": "a-much-better-passphrase"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert app.test_client().post("/login", data={"username": "ann", "password": "a-much-better-passphrase"}
                                  ).status_code == 302


def test_private_answers_are_kept_by_no_cache(app, make_user, browse, api):
    # A case page, its JSON and the report's files left a copy in the browser's cache (and any
    # proxy's), for the next person at a shared computer; the static files keep their own rules.
    ann = make_user("ann", "staff")
    web = browse(ann)
    for path in ("/", "/cases", "/login"):
        assert web.get(path).headers.get("Cache-Control") == "no-store", path
    assert api(ann).get("/api/v1/cases").headers.get("Cache-Control") == "no-store"
    with web.get("/static/favicon.svg") as static:
        assert static.headers.get("Cache-Control") != "no-store"


def test_a_form_sent_with_a_file_is_refused_not_failed(app, make_user):
    # A password sent as a file reached the form's validators as a file object: 500, and a trace.
    from io import BytesIO

    make_user("ann", "staff")
    client = app.test_client()
    r = client.post("/login", data={"username": "ann", "password": (BytesIO(b"guess"), "p.txt")},
                    content_type="multipart/form-data")
    assert r.status_code == 415 and "Accord takes no files" in r.get_data(as_text=True)
    assert "<h1>Not accepted</h1>" in r.get_data(as_text=True)  # (not a bare "Error")
    r = client.post("/api/v1/auth/token", data={"username": "ann", "password": (BytesIO(b"guess"), "p.txt")},
                    content_type="multipart/form-data")
    assert r.status_code == 415 and r.get_json()["error"] == "unsupported_media_type"


def test_a_pages_form_sent_as_json_is_refused_not_failed(app, make_user, browse):
    # Flask-WTF read a JSON body as the form: a number where text belongs answered 500.
    from sqlalchemy import func, select

    from models import Case

    sam = make_user("sam", "staff")
    web = browse(sam)
    app.config["WTF_CSRF_ENABLED"] = True  # (as in production: the token is sent, the body is JSON)
    token = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/travel/new").get_data(as_text=True))
    for path, body in (("/travel/new", {"title": 5, "event_name": True}), ("/account/password", {"new": 12345678901}),
                       ("/travel/new", "a string")):
        r = web.post(path, json=body, headers={"X-CSRFToken": token.group(1)})
        assert r.status_code == 415 and "its pages take no JSON" in r.get_data(as_text=True), path
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    # A page or the health check asked for with JSON named as the type (some monitors do) is answered.
    for path in ("/travel/new", "/healthz"):
        assert web.get(path, headers={"Content-Type": "application/json"}).status_code == 200, path


def test_a_line_break_in_an_address_forges_no_line_of_the_security_log(app, caplog):
    with caplog.at_level(logging.WARNING, logger="accord.security"):
        app.test_client().get("/api/v1/workflows/x%0a2026-12-01 INFO ada.admin reset the password of cao.office")
    [line] = [r.getMessage() for r in caplog.records if r.name == "accord.security"]
    assert "\n" not in line and "\\n2026-12-01" in line


def test_production_with_limits_counted_in_each_worker_is_warned_of(monkeypatch, caplog):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    with caplog.at_level(logging.WARNING, logger="accord.security"):
        create_app({"ACCORD_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
        create_app({"ACCORD_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379"})
    warned = [m for m in caplog.messages if "RATELIMIT_STORAGE_URI is memory://" in m]
    assert len(warned) == 1 and "several workers" in warned[0]


def test_guesses_at_a_username_do_not_lock_out_its_owner_on_a_device_they_signed_in_from(app, make_user, make_app):
    # Twenty wrong passwords an hour naming the CAO, from anywhere, kept the CAO from signing in at
    # all. A browser or script that signed in as them before is held to a count of its own.
    make_user("ann", "staff")
    make_user("bob", "staff")
    limited = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
                        "ACCORD_LOGIN_RATE_LIMIT": "100 per minute", "ACCORD_LOGIN_USER_RATE_LIMIT": "3 per hour"})

    def from_(n: int) -> dict:
        return {"environ_base": {"REMOTE_ADDR": f"203.0.113.{n}"}}

    anns_laptop, script = limited.test_client(), limited.test_client()
    assert anns_laptop.post("/login", data={"username": "ann", "password": TEST_PASSWORD}, **from_(1)).status_code == 302
    assert anns_laptop.get_cookie("accord_device").http_only
    anns_laptop.post("/logout", **from_(1))
    assert script.post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD},
                       **from_(2)).status_code == 200
    bobs = limited.test_client()
    assert bobs.post("/login", data={"username": "bob", "password": TEST_PASSWORD}, **from_(3)).status_code == 302
    guesser = limited.test_client()
    for n in range(3):
        assert guesser.post("/login", data={"username": "ann", "password": "guess"}, **from_(10 + n)).status_code == 401
    # Anywhere new, the username is held back; on her laptop, and for her script, it is not.
    assert limited.test_client().post("/login", data={"username": "ann", "password": TEST_PASSWORD},
                                      **from_(20)).status_code == 429
    assert anns_laptop.post("/login", data={"username": "ann", "password": TEST_PASSWORD}, **from_(1)).status_code == 302
    assert script.post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD},
                       **from_(2)).status_code == 200
    # Bob's device is not Ann's, and a cookie not signed by the server is none.
    bobs.post("/logout", **from_(3))
    assert bobs.post("/login", data={"username": "ann", "password": TEST_PASSWORD}, **from_(3)).status_code == 429
    forged = limited.test_client()
    forged.set_cookie("accord_device", anns_laptop.get_cookie("accord_device").value[:-3] + "abc")
    assert forged.post("/login", data={"username": "ann", "password": TEST_PASSWORD}, **from_(4)).status_code == 429
    # Guesses sent with her device's cookie (a copy of it) are limited on their own count.
    anns_laptop.post("/logout", **from_(1))
    for _ in range(3):
        assert anns_laptop.post("/login", data={"username": "ann", "password": "guess"}, **from_(1)).status_code == 401
    assert anns_laptop.post("/login", data={"username": "ann", "password": TEST_PASSWORD}, **from_(1)).status_code == 429
    assert script.post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD},
                       **from_(2)).status_code == 200


def test_a_burst_naming_a_username_does_not_hold_back_its_owners_device(app, make_user, make_app):
    make_user("ann", "staff")
    limited = make_app({**_config(app.config["SQLALCHEMY_DATABASE_URI"]), "RATELIMIT_ENABLED": True,
                        "ACCORD_LOGIN_BURST_LIMIT": "100 per minute", "ACCORD_LOGIN_USER_BURST_LIMIT": "3 per minute"})
    laptop = limited.test_client()
    assert laptop.post("/login", data={"username": "ann", "password": TEST_PASSWORD}).status_code == 302
    laptop.post("/logout")
    flood = limited.test_client()  # (the laptop's sign-in counted once, before it had its cookie)
    assert [flood.post("/login", data={"username": "ann", "password": "x"}).status_code for _ in range(3)] == [
        401, 401, 429]
    assert laptop.post("/login", data={"username": "ann", "password": TEST_PASSWORD}).status_code == 302
