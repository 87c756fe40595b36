"""Every change to an account is on the audit trail: who gave whom which role decides who approves
a trip or a grant. The administrator's page shows it; `flask audit verify` guards it."""
from __future__ import annotations

import html
import re

import pytest
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


def test_a_change_made_on_a_stale_form_is_told_from_the_account_as_it_stood(app, make_user):
    # Two administrators edit one account: the second's form was read before the first's change
    # committed. The trail told its roles "from" the state before the first change, and the account
    # ended with roles no event gave it.
    from sqlalchemy.orm import Session

    from accounts.service import update_user

    ada, cara, bob = (make_user(name, *roles).id for name, *roles in
                      (("ada", "admin"), ("cara", "admin"), ("bob", "staff")))
    second = Session(db.engine, expire_on_commit=False)  # (as the app's session: objects kept past a commit)
    stale, second_admin = second.get(User, bob), second.get(User, cara)
    assert sorted(stale.role_names) == ["staff"] and stale.department.name
    second.commit()  # (the form's read ends; its objects keep what they read)
    with Session(db.engine) as first, first.begin():
        update_user(first, first.get(User, bob), full_name="Bob", email="bob@toronto.example",
                    department_name="Toronto Public Health", roles=["staff", "dept_head"], actor=first.get(User, ada))
    with second.begin():
        update_user(second, stale, full_name="Bob", email="bob@toronto.example",
                    department_name="Toronto Public Health", roles=["staff", "finance"], actor=second_admin)
    second.close()
    db.session.rollback()  # (this session's read began before both changes)
    events = _chain(db.session.get(User, bob))
    assert [e.payload.get("roles") for e in events] == [
        {"from": ["staff"], "to": ["dept_head", "staff"]}, {"from": ["dept_head", "staff"], "to": ["finance", "staff"]}]
    assert sorted(db.session.get(User, bob).role_names) == ["finance", "staff"]


def test_a_save_from_a_page_opened_before_anothers_change_is_refused_and_shows_the_account_as_it_is(
        app, make_user, browse):
    # Two administrators opened Sam's page (roles: staff); one granted finance, then the other's
    # save (staff and hco, as their page showed) silently took the grant away again.
    sam = make_user("sam", "staff")
    ada, cara = browse(make_user("ada", "admin")), browse(make_user("cara", "admin"))
    opened = re.search(r'name="seen" type="hidden" value="([^"]*)"', ada.get(f"/admin/users/{sam.id}").get_data(as_text=True))
    assert opened is not None
    assert cara.post(f"/admin/users/{sam.id}", data=_form(sam, roles=["staff", "finance"], seen=opened.group(1))
                     ).status_code == 302
    r = ada.post(f"/admin/users/{sam.id}", data=_form(sam, roles=["staff", "hco"], seen=opened.group(1)))
    page = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", r.get_data(as_text=True))).split())
    assert r.status_code == 409
    assert "sam's account was changed by someone else while you were editing it" in page
    db.session.expire_all()
    assert sorted(db.session.get(User, sam.id).role_names) == ["finance", "staff"]
    assert [e.action for e in _chain(sam)] == ["account_edit"]
    # The page shown again has the account as it is now (finance ticked), and saves from there.
    shown = r.get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="finance"', shown)
    again = re.search(r'name="seen" type="hidden" value="([^"]*)"', shown).group(1)
    assert ada.post(f"/admin/users/{sam.id}", data=_form(sam, roles=["staff", "finance", "hco"], seen=again)
                    ).status_code == 302
    db.session.expire_all()
    assert sorted(db.session.get(User, sam.id).role_names) == ["finance", "hco", "staff"]


def test_a_new_password_or_a_closing_meanwhile_does_not_refuse_a_save_of_the_details(app, make_user, browse):
    # Any event on the account's trail refused the administrator's save as "changed by someone
    # else": Sam changing his own password, or the account closed and reopened, which the form
    # neither shows nor would take back.
    sam = make_user("sam", "staff")
    ada, cara = browse(make_user("ada", "admin")), browse(make_user("cara", "admin"))
    opened = re.search(r'name="seen" type="hidden" value="([^"]*)"', ada.get(f"/admin/users/{sam.id}").get_data(as_text=True))
    new = "a fresh passphrase 42"
    assert browse(sam).post("/account/password", data={"current": TEST_PASSWORD, "new": new, "again": new}
                            ).status_code == 302
    assert cara.post(f"/admin/users/{sam.id}/deactivate").status_code == 302
    assert cara.post(f"/admin/users/{sam.id}/activate").status_code == 302
    r = ada.post(f"/admin/users/{sam.id}", data=_form(sam, roles=["staff", "hco"], seen=opened.group(1)))
    assert r.status_code == 302
    db.session.expire_all()
    assert sorted(db.session.get(User, sam.id).role_names) == ["hco", "staff"]


def test_an_administrator_giving_themself_a_role_is_recorded_with_the_roles_they_acted_with(app, make_user, browse):
    # The trail said Ada already held the CAO's role when she gave it to herself.
    ada = make_user("ada", "admin")
    client = browse(ada)
    assert client.post(f"/admin/users/{ada.id}", data=_form(ada, roles=["admin", "cao"])).status_code == 302
    assert client.post(f"/admin/users/{ada.id}", data=_form(ada, roles=["admin"])).status_code == 302
    assert [(e.action, e.actor_roles, e.payload["roles"]["to"]) for e in _chain(ada)] == [
        ("account_edit", ["admin"], ["admin", "cao"]), ("account_edit", ["admin", "cao"], ["admin"])]


def test_a_reactivation_refused_for_an_administrator_demoted_meanwhile_says_so(app, make_user, browse, monkeypatch):
    # Refused by the service, the page answered 500 (the other account pages said why).
    import accounts.service as service

    ada, sam = make_user("ada", "admin"), make_user("sam", "staff")
    client = browse(ada)
    assert client.post(f"/admin/users/{sam.id}/deactivate").status_code == 302

    def demoted(session, actor, users=False):
        raise service.AccountError("You are no longer an administrator: another administrator changed your "
                                   "account meanwhile. Nothing was changed.")

    monkeypatch.setattr(service, "_as_administrator", demoted)
    r = client.post(f"/admin/users/{sam.id}/activate")
    assert r.status_code == 403 and "You are no longer an administrator" in html.unescape(r.get_data(as_text=True))
    db.session.expire_all()
    assert not db.session.get(User, sam.id).active


def test_closing_or_reopening_an_account_as_it_already_is_records_nothing(app, make_user):
    sam = make_user("sam", "staff")
    runner = app.test_cli_runner()
    said = [runner.invoke(args=["users", command, "sam"]).output.strip()
            for command in ("deactivate", "deactivate", "activate", "activate")]
    assert said[1] == "sam's account was already deactivated: nothing changed."
    assert said[3] == "sam's account was already active: nothing changed."
    assert [(e.action, e.from_state, e.to_state) for e in _chain(sam)] == [
        ("account_deactivate", "active", "deactivated"), ("account_activate", "deactivated", "active")]


def test_two_administrators_closing_each_others_accounts_at_once_leave_one(app, make_user, monkeypatch):
    # On PostgreSQL the account's lock (FOR UPDATE) conflicted with the key-share lock an event's
    # actor_id takes on its actor's row: each waited for the other, and one request failed (deadlock).
    # Then both succeeded, each having checked the other's power before either committed, and the
    # City had no administrator left: the second now finds itself closed, and is refused.
    import threading

    from sqlalchemy.orm import Session

    import accounts.service as service

    if db.engine.dialect.name != "postgresql":
        pytest.skip("this run is on SQLite, whose write lock lets one transaction at a time (CI runs PostgreSQL)")
    ada, bob = make_user("ada", "admin").id, make_user("bob", "admin").id
    both_locked = threading.Barrier(2, timeout=10)
    lock_accounts = service._lock_accounts

    def when_both_hold_their_target(*args, **kwargs):  # each has locked its target's row
        both_locked.wait()
        return lock_accounts(*args, **kwargs)

    monkeypatch.setattr(service, "_lock_accounts", when_both_hold_their_target)
    errors: dict[str, str | None] = {}
    engine = db.engine

    def deactivate(actor_id: int, target_id: int) -> None:
        with Session(engine) as session:
            try:
                with session.begin():
                    service.deactivate_user(session, session.get(User, target_id), actor=session.get(User, actor_id))
                errors[f"{actor_id}"] = None
            except Exception as err:  # noqa: BLE001 (the failure is what the test reports)
                errors[f"{actor_id}"] = f"{type(err).__name__}: {err}".splitlines()[0]

    threads = [threading.Thread(target=deactivate, args=pair) for pair in ((ada, bob), (bob, ada))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(errors.values(), key=str) == [
        "AccountError: You are no longer an administrator: another administrator changed your account meanwhile. "
        "Nothing was changed.", None]
    db.session.expire_all()
    assert [u.username for u in db.session.scalars(select(User).where(User.active.is_(True)))] == [
        "bob" if errors[str(ada)] else "ada"]
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0


def test_an_administrator_whose_role_was_taken_meanwhile_changes_no_account(app, make_user, browse):
    # What two administrators at once do on PostgreSQL, one after the other: Cara's page was
    # opened (and her request let in) while she was an administrator; Ada then took the role away.
    import accounts.service as service
    from workflows.transaction import write_transaction

    ada, cara, sam = make_user("ada", "admin"), make_user("cara", "admin"), make_user("sam", "staff")
    closed = make_user("cid", "staff")
    assert browse(ada).post(f"/admin/users/{closed.id}/deactivate").status_code == 302
    assert browse(ada).post(f"/admin/users/{cara.id}", data=_form(cara, roles=["staff"])).status_code == 302
    for change in (lambda tx: service.update_user(tx, ada, full_name=None, email=None, department_name=
                                                   "Toronto Public Health", roles=["staff"], actor=cara),
                   lambda tx: service.deactivate_user(tx, ada, actor=cara),
                   lambda tx: service.activate_user(tx, closed, actor=cara),
                   lambda tx: service.change_password(tx, ada, "a new passphrase 42", actor=cara),
                   lambda tx: service.create_user(tx, "eve", TEST_PASSWORD + "x", ["admin"], "IT", actor=cara)):
        with pytest.raises(service.AccountError, match="You are no longer an administrator"):
            with write_transaction(db.session) as tx:
                change(tx)
    db.session.expire_all()
    assert sorted(db.session.get(User, ada.id).role_names) == ["admin"] and db.session.get(User, ada.id).active
    assert db.session.scalar(select(User).where(User.username == "eve")) is None
    assert [e.actor_username for e in _chain(ada)] == [] and sam.active
    assert not db.session.get(User, closed.id).active


def _at_once(app, **changes) -> dict[str, str | None]:
    """Run each change (a function of a session) in a thread and a write transaction of its own, at
    once; return each one's error, or None for a change that committed."""
    import threading

    from sqlalchemy.orm import Session

    from workflows.transaction import write_transaction

    errors: dict[str, str | None] = {}

    def run(name, change) -> None:
        try:
            with app.app_context(), write_transaction(Session(bind=db.engine)) as session:
                change(session)
            errors[name] = None
        except Exception as err:  # noqa: BLE001 (the failure is what the test reports)
            errors[name] = f"{type(err).__name__}: {err}".splitlines()[0]

    threads = [threading.Thread(target=run, args=pair) for pair in changes.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def _save_details(sam: int, admin: int):
    import accounts.service as service

    return lambda session: service.update_user(
        session, session.get(User, sam), full_name="Sam Renamed", email=None, department_name="Toronto Public Health",
        roles=["staff", "finance"], actor=session.get(User, admin))


def test_a_password_set_while_another_administrator_saves_the_details_both_succeed(app, make_user, monkeypatch):
    # On PostgreSQL the details' save locked the users table, then waited for the account's row,
    # which the password's setting held while it hashed; its UPDATE then waited for the table: a
    # deadlock, and one administrator's change failed.
    import threading
    import time

    import accounts.service as service

    if db.engine.dialect.name != "postgresql":
        pytest.skip("this run is on SQLite, whose write lock lets one transaction at a time (CI runs PostgreSQL)")
    sam, ada, bob = make_user("sam", "staff").id, make_user("ada", "admin").id, make_user("bob", "admin").id
    hashing = threading.Event()
    real_hash = service.hash_password

    def hash_slowly(password: str) -> str:  # the row is locked by now; the other save starts meanwhile
        hashing.set()
        time.sleep(0.5)
        return real_hash(password)

    monkeypatch.setattr(service, "hash_password", hash_slowly)
    save = _save_details(sam, bob)

    def save_details(session):
        hashing.wait(10)
        save(session)

    errors = _at_once(app, password=lambda session: service.change_password(
        session, session.get(User, sam), "a brand new password 9", actor=session.get(User, ada)), details=save_details)
    assert errors == {"password": None, "details": None}
    db.session.expire_all()
    assert [e.action for e in _chain(db.session.get(User, sam))] == ["password_set", "account_edit"]
    assert sorted(db.session.get(User, sam).role_names) == ["finance", "staff"]


def test_a_user_added_while_another_administrator_saves_the_details_both_succeed(app, make_user, monkeypatch):
    # The save held the departments, then wrote its users row; an addition that had locked the
    # users table first waited for the departments: a deadlock. Both now lock the departments first.
    import threading
    import time

    import accounts.service as service

    if db.engine.dialect.name != "postgresql":
        pytest.skip("this run is on SQLite, whose write lock lets one transaction at a time (CI runs PostgreSQL)")
    sam, bob = make_user("sam", "staff").id, make_user("bob", "admin").id
    locked = threading.Event()
    real_roles = service._roles

    def roles_slowly(session, names):  # (the save has its row and the departments locked by now)
        if "finance" in names:  # (the save's; the addition asks for staff alone)
            locked.set()
            time.sleep(1.0)
        return real_roles(session, names)

    monkeypatch.setattr(service, "_roles", roles_slowly)

    def add(session):
        locked.wait(10)
        time.sleep(0.2)
        service.create_user(session, "newbie", NEW_PASSWORD, ["staff"], "Toronto Public Health")

    errors = _at_once(app, details=_save_details(sam, bob), add=add)
    assert errors == {"details": None, "add": None}
    assert db.session.scalar(select(User.id).where(User.username == "newbie")) is not None


def test_a_downgrade_below_the_account_trail_is_refused_once_it_holds_events(app, make_user, browse, caplog,
                                                                            monkeypatch):
    # Downgraded, the account chains stayed (the trail is append-only) and the code before named
    # them as forged; upgraded again, their heads were gone and verify named them as erased.
    from flask_migrate import downgrade

    from workflows import engine

    sam = make_user("sam", "staff")
    assert browse(make_user("ada", "admin")).post(f"/admin/users/{sam.id}/deactivate").status_code == 302
    engine.create_case(db.session, make_user("ann", "staff"), "travel", "Trip", ["research"], {})
    head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.remove()
    # The later revisions' own refusals waived, as on a copy to be thrown away: refused at 0016, the
    # whole downgrade is undone. SQLite kept the later revisions' downgrades, the row digests
    # dropped, and upgraded again the trail failed its check at every case event.
    monkeypatch.setenv("ACCORD_DOWNGRADE_DISCARDING_ROW_DIGESTS", "1")
    monkeypatch.setenv("ACCORD_DOWNGRADE_DISCARDING_DECISION_SCORES", "1")
    with pytest.raises(SystemExit):  # (Flask-Migrate logs the refusal, and exits 1)
        downgrade(revision="0015_relief_triage_due")
    assert "Cannot downgrade below 0016_account_heads: the audit trail holds 1 event(s) of accounts" in caplog.text
    db.session.remove()
    assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == head
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_two_administrators_closing_one_account_at_once_record_it_once(app, make_user, make_app):
    # On PostgreSQL each read the account open before either wrote, and the trail told it closed twice.
    import threading
    import time

    from sqlalchemy.orm import Session

    from accounts.service import deactivate_user
    from tests.conftest import _config
    from workflows.transaction import write_transaction

    if db.engine.dialect.name != "postgresql":
        pytest.skip("this run is on SQLite, whose write lock lets one transaction at a time (CI runs PostgreSQL)")
    sam, ada = make_user("sam", "staff").id, make_user("ada", "admin").id
    url = db.engine.url.render_as_string(hide_password=False)
    first_app, second_app = make_app(_config(url)), make_app(_config(url))
    first_holds_it = threading.Barrier(2, timeout=20)
    errors: list[Exception] = []

    def first() -> None:
        try:
            with first_app.app_context(), write_transaction(Session(bind=db.engine)) as session:
                deactivate_user(session, session.get(User, sam), session.get(User, ada))
                first_holds_it.wait()
                time.sleep(0.5)  # the second reads and waits meanwhile
        except Exception as err:  # noqa: BLE001 (reported below)
            errors.append(err)

    def second() -> None:
        try:
            with second_app.app_context():
                first_holds_it.wait()
                with write_transaction(db.session) as session:
                    deactivate_user(session, session.get(User, sam), session.get(User, ada))
        except Exception as err:  # noqa: BLE001 (reported below)
            errors.append(err)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    db.session.rollback()
    assert errors == []
    assert [(e.action, e.from_state, e.to_state) for e in _chain(db.session.get(User, sam))] == [
        ("account_deactivate", "active", "deactivated")]
