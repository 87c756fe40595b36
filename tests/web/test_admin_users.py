"""Administrators manage the users from the browser: list, add, edit, roles, deactivation, passwords."""
from __future__ import annotations

import html
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import clock
from extensions import db
from models import Department, User
from tests.factories import TEST_PASSWORD, error_summary
from workflows import engine

NEW_PASSWORD = "a fresh passphrase 42"
TRIP = {
    "event_name": "Metropolis World Congress", "event_organizer": "Metropolis", "event_city": "Sao Paulo",
    "event_country": "Brazil", "purpose": "Present Toronto's Healthy City work.", "role_at_event": "presenter",
    "funding": "city", "estimated_cost": {"registration": "650.00"},
}


@pytest.fixture
def ada(make_user):
    return make_user("ada", "admin", department="Information and Technology", full_name="Ada Admin")


def dept_id(name: str) -> str:
    return str(db.session.scalar(select(Department.id).where(Department.name == name)))


def text(r) -> str:
    return html.unescape(r.get_data(as_text=True))


def user(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def new_user_form(**changes) -> dict:
    form = {"username": "nia", "full_name": "Nia Newcomer", "email": "nia@toronto.example",
            "department": "new", "new_department": "Parks, Forestry and Recreation", "roles": ["staff"],
            "password": NEW_PASSWORD}
    return {**form, **changes}


def details_form(person: User, **changes) -> dict:
    form = {"full_name": person.full_name, "email": person.email or "", "department": str(person.department_id),
            "new_department": "", "roles": sorted(person.role_names)}
    return {**form, **changes}


def test_an_administrator_adds_a_user_who_then_signs_in(app, ada, make_user, browse, caplog):
    make_user("sam", "staff")  # so that "Toronto Public Health" exists
    admin = browse(ada)
    page = text(admin.get("/admin/users/new"))
    assert "<title>Add a user · Accord</title>" in page
    assert '<label for="username">Username</label>' in page
    assert '<option value="{}">Toronto Public Health</option>'.format(dept_id("Toronto Public Health")) in page
    assert 'id="roles-0"' in page and "Department Head" in page  # a checkbox for each role of the table
    with caplog.at_level(logging.INFO, logger="accord.security"):
        r = admin.post("/admin/users/new", data=new_user_form(department=dept_id("Toronto Public Health"),
                                                              new_department="", roles=["staff", "councillor"]))
    assert r.status_code == 302
    page = text(admin.get(r.location))
    assert "nia (City employee, Member of Council) has been added in Toronto Public Health" in page
    assert "Give them the initial password yourself" in page
    assert any("ada added user 'nia'" in m and "councillor, staff" in m for m in caplog.messages)
    nia = user("nia")
    assert nia.full_name == "Nia Newcomer" and nia.department.name == "Toronto Public Health"
    assert app.test_client().post("/login", data={"username": "nia", "password": NEW_PASSWORD}).status_code == 302
    # A department typed new is made; the list shows both people, roles by their titles.
    r = admin.post("/admin/users/new", data=new_user_form(username="otto", full_name="Otto Other"))
    assert r.status_code == 302 and user("otto").department.name == "Parks, Forestry and Recreation"
    page = text(admin.get("/admin/users"))
    row = re.search(r'<a href="/admin/users/\d+">nia</a>.*?</tr>', page, re.S).group(0)
    assert "Nia Newcomer" in row and "Toronto Public Health" in row and "City employee, Member of Council" in row
    assert "Active" in row


def test_an_administrators_dashboard_says_where_their_work_is_and_no_one_elses_does(ada, make_user, browse):
    # It said only "Nothing is waiting for you" and "You have made no requests yet".
    page = text(browse(ada).get("/"))
    section = page[page.index('id="admin-panel-h"'):]
    for href in ('href="/admin/users"', 'href="/partnerships"', 'href="/travel/overdue"', 'href="/reports/annual"'):
        assert href in section, href
    for role in ("staff", "cao", "hco"):
        assert 'id="admin-panel-h"' not in text(browse(make_user(f"someone.{role}", role)).get("/")), role
    # Their work comes before their own requests, of which someone who makes none sees no empty list.
    assert "My requests" not in page and "You have made no requests yet" not in page
    staff = text(browse(make_user("sam", "staff")).get("/"))
    assert "My requests" in staff and "You have made no requests yet" in staff


def test_the_users_page_is_for_administrators_alone(app, ada, make_user, browse):
    sam = make_user("sam", "staff")
    cao = make_user("cao", "cao", department="Chief Administrative Officer")
    for person in (sam, cao):
        client = browse(person)
        assert 'href="/admin/users"' not in text(client.get("/"))
        for method, path, data in (("get", "/admin/users", None), ("get", "/admin/users/new", None),
                                   ("post", "/admin/users/new", new_user_form()),
                                   ("get", f"/admin/users/{sam.id}", None),
                                   ("post", f"/admin/users/{sam.id}", details_form(sam, roles=["staff", "admin"])),
                                   ("post", f"/admin/users/{ada.id}/deactivate", {}),
                                   ("post", f"/admin/users/{sam.id}/password", {"pw-password": NEW_PASSWORD})):
            r = getattr(client, method)(path, data=data)
            assert r.status_code == 403, (person.username, path)
            assert "Only administrators may manage users" in text(r)
    assert user("nia") is None and user("sam").role_names == {"staff"} and user("ada").active
    assert app.test_client().post("/login", data={"username": "sam", "password": NEW_PASSWORD}).status_code == 401
    assert '<a href="/admin/users">Users</a>' in text(browse(ada).get("/"))  # in the administrator's menu


@pytest.mark.parametrize("changes, field, message", [
    ({"password": "short"}, "password", "The password is too weak"),
    ({"password": "nia-is-my-password"}, "password", "Do not include the username (it is no secret)."),
    ({"username": "SAM"}, "username", "A user named 'sam' already exists"),
    # (SQLite's own lower() folds A to Z alone, PostgreSQL's every letter: both read these as one.)
    ({"username": "émile"}, "username", "A user named 'Émile' already exists"),
    ({"username": "ni a"}, "username", "no spaces"),
    ({"roles": []}, "roles-0", "Choose at least one role."),
    ({"new_department": "  "}, "new_department", "Name the new department"),
    ({"department": ""}, "department", "Choose a department"),
    ({"email": "not an address"}, "email", "is not an email address"),
    ({"full_name": ""}, "full_name", "Give the person's full name."),
])
def test_bad_input_names_the_field_and_changes_nothing(app, ada, make_user, browse, changes, field, message):
    make_user("sam", "staff")
    make_user("Émile", "staff")
    departments = db.session.scalar(select(func.count()).select_from(Department))
    r = browse(ada).post("/admin/users/new", data=new_user_form(**changes))
    assert r.status_code == 422
    page = text(r)
    assert page.startswith("<!doctype html>") and "<title>Error: Add a user · Accord</title>" in page
    assert any(target == field and message in said for target, said in error_summary(page)), error_summary(page)
    assert 'aria-invalid="true"' in page or field == "roles-0"
    assert 'value="Nia Newcomer"' in page or field == "full_name"  # what was typed is kept
    assert db.session.scalar(select(func.count()).select_from(User)) == 3
    assert db.session.scalar(select(func.count()).select_from(Department)) == departments  # none made


def test_a_department_is_the_same_whatever_its_capitals(app, ada, make_user, browse):
    make_user("sam", "staff", department="Public Health")
    admin = browse(ada)
    r = admin.post("/admin/users/new", data=new_user_form(new_department="public HEALTH"))
    assert r.status_code == 302
    assert "has been added in Public Health" in text(admin.get(r.location))
    assert user("nia").department_id == user("sam").department_id
    assert db.session.scalar(select(func.count()).select_from(Department).where(
        func.lower(Department.name) == "public health")) == 1


def test_the_command_line_matches_departments_whatever_their_capitals(app, make_user):
    make_user("sam", "staff", department="Public Health")
    r = app.test_cli_runner().invoke(args=["users", "create", "bob", "--password", "a long enough pw", "--role",
                                           "staff", "--department", "public health"])
    assert r.exit_code == 0, r.output
    assert "in Public Health." in r.output  # the stored spelling
    assert user("bob").department_id == user("sam").department_id


def test_roles_edited_change_what_the_person_may_do(app, ada, make_user, browse, caplog):
    sam = make_user("sam", "staff")
    dana = make_user("dana", "staff", full_name="Dana Head")
    start = clock.today() + timedelta(days=60)
    data = {**TRIP, "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat()}
    case = engine.create_case(db.session, sam, "travel", "Sam's congress", ["leadership"], data)
    case = engine.fire(db.session, sam, case.id, "submit", case.version)
    dana_web = browse(dana)
    assert dana_web.get(f"/cases/{case.id}").status_code == 404
    admin = browse(ada)
    page = text(admin.get(f"/admin/users/{dana.id}"))
    assert "<title>User dana · Accord</title>" in page and 'value="Dana Head"' in page
    assert re.search(r'<input checked id="roles-\d" name="roles" type="checkbox" value="staff">', page)
    with caplog.at_level(logging.INFO, logger="accord.security"):
        r = admin.post(f"/admin/users/{dana.id}", data=details_form(dana, roles=["staff", "dept_head"],
                                                                     full_name="Dana Head-Smith"))
    assert r.status_code == 302 and "Changes to dana saved." in text(admin.get(r.location))
    assert any("ada changed user 'dana'" in m and "roles added dept_head" in m and "Dana Head-Smith" in m
               for m in caplog.messages)
    # The same sign-in now sees her department's request, and may decide it.
    assert dana_web.get(f"/cases/{case.id}").status_code == 200
    assert f'href="/cases/{case.id}"' in dana_web.get("/cases").get_data(as_text=True)
    assert "Department Head" in text(admin.get("/admin/users?role=dept_head"))
    # Moved to another department, she no longer sees it.
    r = admin.post(f"/admin/users/{dana.id}", data=details_form(user("dana"), department="new",
                                                                 new_department="Economic Development"))
    assert r.status_code == 302 and user("dana").department.name == "Economic Development"
    assert dana_web.get(f"/cases/{case.id}").status_code == 404
    # Sending the form unchanged changes nothing, and says so.
    r = admin.post(f"/admin/users/{dana.id}", data=details_form(user("dana")))
    assert "Nothing was changed" in text(admin.get(r.location))


def test_deactivation_signs_the_person_out_and_their_token_stops_working(app, ada, make_user, browse, api, caplog):
    sam = make_user("sam", "staff")
    token = api(sam)
    assert token.get("/api/v1/workflows").status_code == 200
    sam_web = browse(sam)
    assert sam_web.get("/").status_code == 200
    admin = browse(ada)
    assert "Deactivate sam" in text(admin.get(f"/admin/users/{sam.id}"))
    with caplog.at_level(logging.INFO, logger="accord.security"):
        r = admin.post(f"/admin/users/{sam.id}/deactivate")
    assert r.status_code == 302
    assert "sam's account has been deactivated" in text(admin.get(r.location))
    assert any("ada deactivated user 'sam'" in m and "1 token(s) revoked" in m for m in caplog.messages)
    assert sam_web.get("/").status_code == 302  # signed out
    assert token.get("/api/v1/workflows").status_code == 401
    assert app.test_client().post("/login", data={"username": "sam", "password": TEST_PASSWORD}).status_code == 401
    assert "Deactivated" in text(admin.get("/admin/users?q=sam"))
    # Reactivated, they sign in again; the old token stays revoked.
    r = admin.post(f"/admin/users/{sam.id}/activate")
    assert r.status_code == 302 and "reactivated" in text(admin.get(r.location))
    assert app.test_client().post("/login", data={"username": "sam", "password": TEST_PASSWORD}).status_code == 302
    assert token.get("/api/v1/workflows").status_code == 401


def test_an_administrator_cannot_lock_themself_out(app, ada, make_user, browse, caplog):
    make_user("bea", "admin", department="Information and Technology")  # another administrator
    admin = browse(ada)
    page = text(admin.get(f"/admin/users/{ada.id}"))
    assert "User ada (you)" in page and "Deactivate ada" not in page
    assert "You cannot deactivate your own account" in page
    with caplog.at_level(logging.WARNING, logger="accord.security"):
        r = admin.post(f"/admin/users/{ada.id}", data=details_form(ada, roles=["staff"]))
    assert r.status_code == 422
    assert ("roles-0", "Roles: You cannot remove your own administrator role: another administrator may.") in \
        error_summary(text(r))
    assert any("ada was refused" in m for m in caplog.messages)
    r = admin.post(f"/admin/users/{ada.id}/deactivate")
    assert r.status_code == 403 and "You cannot deactivate your own account" in text(r)
    r = admin.post(f"/admin/users/{ada.id}/password", data={"pw-password": NEW_PASSWORD})
    assert r.status_code == 403 and "Change your own password from" in text(r)
    ada_now = user("ada")
    assert ada_now.active and ada_now.role_names == {"admin"}
    assert admin.get("/admin/users").status_code == 200  # still signed in, still an administrator
    # Adding a role to oneself is allowed.
    assert admin.post(f"/admin/users/{ada.id}", data=details_form(ada_now, roles=["admin", "cao"])).status_code == 302
    assert user("ada").role_names == {"admin", "cao"}


def test_a_new_password_ends_the_persons_sessions_and_tokens(app, ada, make_user, browse, api, caplog):
    sam = make_user("sam", "staff")
    token, sam_web, admin = api(sam), browse(sam), browse(ada)
    r = admin.post(f"/admin/users/{sam.id}/password", data={"pw-password": "sam12345678"})
    assert r.status_code == 422
    assert any(t == "pw-password" and "Do not include the username (it is no secret)." in said
               for t, said in error_summary(text(r)))
    assert sam_web.get("/").status_code == 200 and token.get("/api/v1/workflows").status_code == 200  # unchanged
    with caplog.at_level(logging.INFO, logger="accord.security"):
        r = admin.post(f"/admin/users/{sam.id}/password", data={"pw-password": NEW_PASSWORD})
    assert r.status_code == 302 and "sam's password has been set" in text(admin.get(r.location))
    assert any("ada set a new password for user 'sam'" in m for m in caplog.messages)
    assert NEW_PASSWORD not in " ".join(caplog.messages)
    assert sam_web.get("/").status_code == 302 and token.get("/api/v1/workflows").status_code == 401
    client = app.test_client()
    assert client.post("/login", data={"username": "sam", "password": TEST_PASSWORD}).status_code == 401
    assert client.post("/login", data={"username": "sam", "password": NEW_PASSWORD}).status_code == 302


def test_the_list_is_searched_filtered_by_role_and_paged(app, ada, make_user, browse, monkeypatch):
    from web import admin as admin_views

    monkeypatch.setattr(admin_views, "PER_PAGE", 2)
    make_user("sam", "staff", full_name="Sam Staff")
    make_user("hana", "hco", department="Strategic and Corporate Policy", full_name="Hana Officer")
    make_user("omar", "staff", department="Economic Development and Culture", full_name="Omar Staff")
    admin = browse(ada)

    def names(page: str) -> list[str]:
        return re.findall(r'<a href="/admin/users/\d+">([^<]+)</a>', page)

    page = text(admin.get("/admin/users"))
    assert names(page) == ["ada", "hana"] and "4 users: page 1 of 2" in page
    assert 'href="/admin/users?page=2" rel="next"' in page
    assert names(text(admin.get("/admin/users?page=2"))) == ["omar", "sam"]
    page = text(admin.get("/admin/users?q=STAFF"))
    assert names(page) == ["omar", "sam"] and "2 users match these filters" in page
    assert names(text(admin.get("/admin/users?q=economic"))) == ["omar"]  # by department
    assert names(text(admin.get("/admin/users?q=%25"))) == []  # a wildcard is a character like another
    assert names(text(admin.get("/admin/users?role=hco"))) == ["hana"]
    assert names(text(admin.get("/admin/users?role=staff&q=sam"))) == ["sam"]
    r = admin.get("/admin/users?role=wizard")
    assert r.status_code == 422 and error_summary(text(r))[0][0] == "role"
    assert admin.get("/admin/users?page=0").status_code == 422


def test_the_forms_need_their_csrf_token(app, ada, make_user, browse):
    sam = make_user("sam", "staff")
    admin = browse(ada)
    app.config["WTF_CSRF_ENABLED"] = True
    for path, data in ((f"/admin/users/{sam.id}/deactivate", {}), ("/admin/users/new", new_user_form()),
                       (f"/admin/users/{sam.id}", details_form(sam, roles=["admin"]))):
        r = admin.post(path, data=data, headers={"Referer": f"http://localhost/admin/users/{sam.id}"})
        assert r.status_code == 302 and r.location == f"/admin/users/{sam.id}"
    assert "The form was not accepted" in text(admin.get(f"/admin/users/{sam.id}"))
    sam_now = user("sam")
    assert sam_now.active and sam_now.role_names == {"staff"} and user("nia") is None
    # Sent from the page, with its token, it is accepted.
    page = admin.get(f"/admin/users/{sam.id}").get_data(as_text=True)
    token = re.search(r'id="status-csrf_token" name="status-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert admin.post(f"/admin/users/{sam.id}/deactivate", data={"status-csrf_token": token}).status_code == 302
    assert not user("sam").active


def test_a_department_left_without_a_head_while_trips_wait_is_said_to_its_administrator(app, ada, make_user, browse):
    # The only head deactivated, her department's submitted trips waited for no one, and nothing said so.
    sam = make_user("sam", "staff")
    head = make_user("hilda", "staff", "dept_head")
    dana = make_user("dana", "staff")
    make_user("olga", "dept_head", department="Economic Development")  # a head elsewhere changes nothing
    chen = make_user("chen", "councillor", department="City Council")  # the committee decides his
    start = clock.today() + timedelta(days=60)
    data = {**TRIP, "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat()}
    for owner in (sam, sam, head, chen):  # the head's own trip goes to the CAO
        case = engine.create_case(db.session, owner, "travel", "Congress", ["leadership"], data)
        engine.fire(db.session, owner, case.id, "submit", case.version)
    admin = browse(ada)
    assert "Trips waiting for a department head" not in text(admin.get("/"))
    r = admin.post(f"/admin/users/{head.id}/deactivate")
    page = " ".join(text(admin.get(r.location)).split())
    assert ("Toronto Public Health has no active Department Head now: 2 staff trips wait for one. Give someone "
            "there the Department Head role (an acting head).") in page
    dashboard = " ".join(text(admin.get("/")).split())
    assert "Trips waiting for a department head who is not there" in dashboard
    assert "Toronto Public Health: 2 trips waiting" in dashboard and "Economic Development:" not in dashboard
    # An acting head named, the gap closes.
    r = admin.post(f"/admin/users/{dana.id}", data=details_form(dana, roles=["staff", "dept_head"]))
    assert r.status_code == 302 and "no active Department Head" not in text(admin.get(r.location))
    assert "Trips waiting for a department head" not in text(admin.get("/"))
    # Moving the acting head away opens it again, and says so.
    r = admin.post(f"/admin/users/{dana.id}", data=details_form(user("dana"), department="new",
                                                                 new_department="Economic Development"))
    assert "Toronto Public Health has no active Department Head now" in " ".join(text(admin.get(r.location)).split())
    # An edit that changes nothing of it (a colleague's name there) does not say it again: the dashboard does.
    r = admin.post(f"/admin/users/{sam.id}", data=details_form(user("sam"), full_name="Sam Okafor"))
    assert r.status_code == 302 and "no active Department Head" not in text(admin.get(r.location))
    assert "Toronto Public Health: 2 trips waiting" in " ".join(text(admin.get("/")).split())


def test_the_command_line_says_so_too_when_it_leaves_a_department_without_a_head(app, make_user):
    # `flask users deactivate` of the only head said nothing of the trips left waiting for no one.
    sam = make_user("sam", "staff")
    make_user("hilda", "staff", "dept_head")
    start = clock.today() + timedelta(days=60)
    data = {**TRIP, "start_date": start.isoformat(), "end_date": (start + timedelta(days=2)).isoformat()}
    case = engine.create_case(db.session, sam, "travel", "Congress", ["leadership"], data)
    engine.fire(db.session, sam, case.id, "submit", case.version)
    r = app.test_cli_runner().invoke(args=["users", "deactivate", "hilda"])
    assert r.exit_code == 0
    assert ("Warning: Toronto Public Health has no active Department Head now: 1 staff trip waits for one."
            in r.output)
    make_user("dana", "staff")  # a colleague's closing, with the gap there already, says nothing more
    assert "Warning" not in app.test_cli_runner().invoke(args=["users", "deactivate", "dana"]).output

