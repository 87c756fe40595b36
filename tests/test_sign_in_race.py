"""A sign-in whose password was checked just before the password was changed, or the account
closed, is refused: the change ends every session and token there is, and one made after it with
the old password lived on (the check takes a good part of a second, outside the transaction)."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

import accounts.passwords
import api.auth
import web.auth
from accounts import service, sign_in
from extensions import db
from models import User
from tests.factories import TEST_PASSWORD
from workflows.transaction import write_transaction

CHANGES = {
    "password set": lambda s, user, admin: service.change_password(s, user, "a brand new password 9", actor=admin),
    "account closed": lambda s, user, admin: service.deactivate_user(s, user, actor=admin),
}


def _token(client):
    r = client.post("/api/v1/auth/token", json={"username": "sam", "password": TEST_PASSWORD})
    return r.status_code, (r.get_json() or {}).get("token")


def _web(client):
    r = client.post("/login", data={"username": "sam", "password": TEST_PASSWORD})
    return r.status_code, None


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("way", ["token", "web"])
def test_a_sign_in_checked_before_a_change_that_commits_meanwhile_is_refused(app, make_user, monkeypatch,
                                                                              way, change):
    sam, ada = make_user("sam", "staff").id, make_user("ada", "admin").id
    real = accounts.passwords.verify_password

    def check_while_an_administrator_acts(password_hash, password):
        ok = real(password_hash, password)  # the old password, against the hash read before the change
        with app.app_context(), write_transaction(Session(bind=db.engine)) as other:
            CHANGES[change](other, other.get(User, sam), other.get(User, ada))
        return ok

    module = api.auth if way == "token" else web.auth
    monkeypatch.setattr(module, "verify_password", check_while_an_administrator_acts)
    client = app.test_client()
    status, token = (_token if way == "token" else _web)(client)
    monkeypatch.setattr(module, "verify_password", real)
    assert status == 401 and token is None
    # Nothing was opened: the web client is not signed in, and no live session or token exists.
    assert client.get("/").status_code == 302
    db.session.expire_all()
    assert sign_in.revoke_tokens(db.session, db.session.get(User, sam)) == 0
    db.session.rollback()


@pytest.mark.parametrize("way", ["token", "web"])
def test_a_sign_in_with_nothing_changed_meanwhile_still_works(app, make_user, way):
    make_user("sam", "staff")
    client = app.test_client()
    status, token = (_token if way == "token" else _web)(client)
    assert status == (200 if way == "token" else 302)
    assert (client.get("/").status_code == 200) if way == "web" else token
