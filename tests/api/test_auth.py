"""Bearer tokens: issued for a password, stored hashed, required everywhere, revocable."""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select

import clock
from extensions import db
from models import ApiToken
from tests.factories import TEST_PASSWORD


def test_token_for_the_right_password(app, make_user):
    make_user("ann", "staff")
    client = app.test_client()
    r = client.post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD})
    assert r.status_code == 200
    token = r.get_json()["token"]
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored
    assert client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_wrong_password_or_unknown_user_is_401(app, make_user):
    make_user("ann", "staff")
    client = app.test_client()
    for body in ({"username": "ann", "password": "nope"}, {"username": "bob", "password": TEST_PASSWORD}):
        r = client.post("/api/v1/auth/token", json=body)
        assert r.status_code == 401
        assert r.get_json()["error"] == "unauthorized"


def test_token_request_names_missing_fields(app):
    r = app.test_client().post("/api/v1/auth/token", json={"username": "ann"})
    assert r.status_code == 422
    assert "password" in r.get_json()["errors"]


def test_no_token_or_bad_token_is_401(app, api):
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic YTpi"}):
        r = app.test_client().get("/api/v1/cases", headers=headers)
        assert r.status_code == 401
        assert r.get_json()["error"] == "unauthorized"


def test_revoked_tokens_stop_working(app, make_user, api):
    user = make_user("ann", "staff")
    client = api(user)
    assert client.get("/api/v1/workflows").status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "revoke-tokens", "ann"])
    assert result.exit_code == 0 and "Revoked 1" in result.output
    assert client.get("/api/v1/workflows").status_code == 401


def test_inactive_user_token_is_refused(app, make_user, api):
    user = make_user("ann", "staff")
    client = api(user)
    user.active = False
    db.session.commit()
    assert client.get("/api/v1/workflows").status_code == 401


def test_a_token_expires_after_its_lifetime(app, make_user):
    # A token copied into a forgotten script must not open the API for good (ACCORD_TOKEN_DAYS).
    make_user("ann", "staff")
    client = app.test_client()
    clock.set(datetime(2026, 3, 2, 15, 0))
    r = client.post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD})
    assert r.get_json()["expires_at"] == "2026-05-31T15:00:00Z"
    headers = {"Authorization": f"Bearer {r.get_json()['token']}"}
    clock.set(datetime(2026, 5, 31, 14, 59))
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    clock.set(datetime(2026, 5, 31, 15, 1))
    r = client.get("/api/v1/cases", headers=headers)
    assert r.status_code == 401
    # The office may let tokens last until they are revoked.
    app.config["ACCORD_TOKEN_DAYS"] = 0
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    r = client.post("/api/v1/auth/token", json={"username": "ann", "password": TEST_PASSWORD})
    assert r.get_json()["expires_at"] is None
