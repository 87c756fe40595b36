"""Browsers and scripts a person has signed in from: a signed cookie that takes them past the limits
that someone else's guesses set off for their username (OWASP's "device cookies").

The limits of failed sign-ins per username, from any address, stop many machines guessing one
password; but anyone could send twenty wrong passwords an hour naming the CAO, and keep the CAO
from signing in at all. A sign-in that succeeds leaves this cookie, naming the username it signed
in as; a sign-in that sends it, naming that username, is counted against limits of its own device
instead, which no one else's guesses reach. The cookie proves nothing about the person: it only
chooses which count a sign-in is held to, and the password is checked as ever.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, g, request
from itsdangerous import BadData, URLSafeTimedSerializer

COOKIE = "accord_device"
#: How long a device is remembered after its last successful sign-in.
LIFETIME = timedelta(days=365)


def submitted_name() -> str:
    """Return the username a sign-in names, from the form or the JSON body, casefolded as
    user_named finds an account: "Sam", "SAM" and "sam" are counted as one."""
    body = request.get_json(silent=True) if request.is_json else None
    name = request.form.get("username") or (body.get("username") if isinstance(body, dict) else None)
    return name.strip()[:200].casefold() if isinstance(name, str) else ""


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="accord-device")


def known_device() -> str | None:
    """Return the id of the device this sign-in comes from, when it sends a cookie this server gave
    (within LIFETIME) to a sign-in as the username it names now; else None."""
    if "accord_device" not in g:
        g.accord_device = None
        raw = request.cookies.get(COOKIE)
        if raw and len(raw) <= 400 and (name := submitted_name()):
            try:
                data = _signer().loads(raw, max_age=int(LIFETIME.total_seconds()))
            except BadData:
                data = None
            if isinstance(data, dict) and data.get("u") == name and isinstance(data.get("d"), str):
                g.accord_device = data["d"]
    return g.accord_device


def unknown_device() -> bool:
    """Return whether this sign-in comes from no device known for its username (known_device)."""
    return known_device() is None


def device_key() -> str:
    """The key of a known device's own limits."""
    return f"device:{known_device()}"


def remember_device(response, username: str):
    """Give the browser or script of a successful sign-in its device cookie (the same device id
    again, if it had one), for LIFETIME from now; return the response."""
    value = _signer().dumps({"u": username.casefold(), "d": known_device() or secrets.token_urlsafe(16)})
    response.set_cookie(COOKIE, value, max_age=int(LIFETIME.total_seconds()), httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response
