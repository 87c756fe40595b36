"""Bearer tokens: issued for a password, stored hashed, required everywhere, revocable."""
from __future__ import annotations

import hashlib

from sqlalchemy import select

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
