"""Every change to an account is on the audit trail: who gave whom which role decides who approves
a trip or a grant. The administrator's page shows it; `flask audit verify` guards it."""
from __future__ import annotations

import html
import re

from sqlalchemy import select, text

from extensions import db
from models import AuditEvent, User
from tests.factories import TEST_PASSWORD, trail_unguarded

NEW_PASSWORD = "a fresh passphrase 42"


def _chain(user: User) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"user:{user.id}")
                                   .order_by(AuditEvent.seq)))


def _form(person: User, **changes) -> dict:
    form = {"full_name": person.full_name, "email": person.email or "", "department": str(person.department_id),
            "new_department": "", "roles": sorted(person.role_names)}
    return {**form, **changes}


def _page(client, user: User) -> str:
    """Return the text of the account's page, as read (tags left out, spaces joined)."""
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_an_administrators_changes_to_an_account_are_on_its_trail_and_its_page(app, make_user, browse):
    ada = make_user("ada", "admin", department="Information and Technology", full_name="Ada Admin")
    admin = browse(ada)
    r = admin.post("/admin/users/new", data={
        "username": "nia", "full_name": "Nia Newcomer", "email": "nia@toronto.example", "department": "new",
        "new_department": "Parks, Forestry and Recreation", "roles": ["staff"], "password": NEW_PASSWORD})
    assert r.status_code == 302
    nia = db.session.scalar(select(User).where(User.username == "nia"))
    assert admin.post(f"/admin/users/{nia.id}", data=_form(nia, roles=["staff", "dept_head"])).status_code == 302
    assert admin.post(f"/admin/users/{nia.id}/deactivate").status_code == 302
    assert admin.post(f"/admin/users/{nia.id}/activate").status_code == 302
    assert admin.post(f"/admin/users/{nia.id}/password", data={"pw-password": "another passphrase 7"}).status_code == 302
    events = _chain(nia)
    assert [(e.action, e.actor_username, e.from_state, e.to_state) for e in events] == [
        ("account_create", "ada", None, "active"),
        ("account_edit", "ada", "active", "active"),
        ("account_deactivate", "ada", "active", "deactivated"),
        ("account_activate", "ada", "deactivated", "active"),
        ("password_set", "ada", "active", "active")]
    assert events[0].payload["roles"] == ["staff"] and events[0].payload["department"] == "Parks, Forestry and Recreation"
    assert events[1].payload == {"roles": {"from": ["staff"], "to": ["dept_head", "staff"]}}
    assert events[2].payload == {"tokens_revoked": 0}
    # No password, nor its hash, reaches the trail.
    assert not any("passphrase" in str(e.payload) or "argon" in str(e.payload) for e in events)
    page = _page(admin, nia)
    assert "Changes to this account" in page
    assert "Ada Admin · Account created" in page and "Roles: City employee" in page
    assert "Ada Admin · Details changed" in page
    assert "Roles: City employee → City employee, Department Head" in page
    assert "Ada Admin · Account deactivated" in page and "Ada Admin · Account reactivated" in page
    assert "Ada Admin · A new password was set" in page
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_a_change_to_ones_own_password_and_the_commands_changes_are_kept_too(app, make_user, browse):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "sam", "--password", NEW_PASSWORD, "--role", "staff",
                                 "--department", "Toronto Public Health"])
    assert result.exit_code == 0, result.output
    sam = db.session.scalar(select(User).where(User.username == "sam"))
    me = app.test_client()
    me.post("/login", data={"username": "sam", "password": NEW_PASSWORD})
    r = me.post("/account/password", data={"current": NEW_PASSWORD, "new": "my own passphrase 9",
                                   "again": "my own passphrase 9"})
    assert r.status_code == 302
    assert runner.invoke(args=["users", "deactivate", "sam"]).exit_code == 0
    assert [(e.action, e.actor_id, e.actor_username) for e in _chain(sam)] == [
        ("account_create", None, "system"), ("password_change", sam.id, "sam"),
        ("account_deactivate", None, "system")]
    page = _page(browse(make_user("ada", "admin")), sam)
    assert "Accord (a command on the server) · Account created" in page
    assert "sam · Changed their own password" in page  # (its full name, which the command gave as none)


def test_an_account_changed_behind_accords_back_is_named_by_verify(app, make_user, browse):
    ada = make_user("ada", "admin")
    sam = make_user("sam", "staff")
    admin = browse(ada)
    assert admin.post(f"/admin/users/{sam.id}", data=_form(sam, roles=["staff", "dept_head"])).status_code == 302
    assert admin.post(f"/admin/users/{sam.id}/deactivate").status_code == 302
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # Reopened in the database, not through Accord: the account's last event left it deactivated.
    db.session.execute(text("UPDATE users SET active = :yes WHERE id = :id"), {"yes": True, "id": sam.id})
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "the account is 'active' but its last event left it 'deactivated'" in result.output
    # Its last change cut off the trail: the head the row keeps is gone.
    db.session.execute(text("UPDATE users SET active = :no WHERE id = :id"), {"no": False, "id": sam.id})
    with trail_unguarded(db.session.connection()):
        db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": _chain(sam)[-1].id})
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"chain user:{sam.id}: the account's last event hash differs" in result.output
