"""An administrator who closes an account, or takes a role away, is told of the requests that are
left waiting for no one (workflows/handover.py), on the Users pages and by `flask users`."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.service import details_seen
from extensions import db
from models import Case, Notification, User
from notifications import people_who_can_act
from workflows import engine
from workflows.audit import verify_all


def _deactivate(app, user: User) -> str:
    r = app.test_cli_runner().invoke(args=["users", "deactivate", user.username])
    assert r.exit_code == 0, r.output
    return r.output


@pytest.mark.parametrize("state, who", [("recommended", "cao"), ("council_review", "council"),
                                        ("approved", "finance"), ("submitted", "hco")])
def test_closing_the_last_account_that_moves_a_request_on_says_so(app, people, make_case, state, who):
    case = make_case(state)
    # The others who could take the step leave first, each leaving someone to take it.
    for other in {"cao": ["both"], "hco": ["both", "hco2"]}.get(who, []):
        assert "wait for no one" not in _deactivate(app, people[other])
    said = _deactivate(app, people[who])
    db.session.expire_all()
    assert people_who_can_act(db.session, db.session.get(Case, case.id)) == []
    assert f"Warning: 1 disaster relief request (#{case.id})" in said, said
    assert "now waits for no one" in said and people[who].full_name in said


def test_closing_an_owners_account_names_what_waits_for_them_alone(app, people, make_case):
    asked = make_case("info_requested")
    make_case("draft")  # (a draft waits for no one but its author, who may leave it)
    said = _deactivate(app, people["owner"])
    assert f"own 1 disaster relief request (#{asked.id}) in the state Information requested" in said, said
    assert "waits for them alone" in said and said.count("Warning") == 1
    assert verify_all(db.session)[2] == []


def test_a_role_taken_away_on_the_users_page_says_what_it_left_waiting(app, browse, people, make_case, make_user):
    admin = make_user("ada", "admin", department="Information and Technology")
    case = make_case("recommended")
    _deactivate(app, people["both"])
    morgan = db.session.get(User, people["cao"].id)
    page = browse(admin).post(f"/admin/users/{morgan.id}", data={
        "full_name": morgan.full_name, "email": morgan.email, "department": str(morgan.department_id),
        "roles": ["staff"], "seen": details_seen(morgan)}, follow_redirects=True).get_data(as_text=True)
    assert "Changes to morgan saved" in page
    assert f"(#{case.id}) in the state Recommended waited for {morgan.full_name} and now waits for no one" in page
    # Given back, nothing is said: the request waits for them again.
    morgan = db.session.get(User, morgan.id)
    page = browse(admin).post(f"/admin/users/{morgan.id}", data={
        "full_name": morgan.full_name, "email": morgan.email, "department": str(morgan.department_id),
        "roles": ["cao"], "seen": details_seen(morgan)}, follow_redirects=True).get_data(as_text=True)
    assert "wait for no one" not in page and "waits for no one" not in page


def test_a_warning_names_ten_requests_and_counts_the_rest(app, people, make_case):
    cases = [make_case("submitted") for _ in range(12)]
    for officer in ("both", "hco2"):
        _deactivate(app, people[officer])
    said = _deactivate(app, people["hco"])
    ids = ", ".join(f"#{c.id}" for c in cases[:10])
    assert f"12 disaster relief requests ({ids} and 2 more) in the state Submitted waited for" in said, said


def test_an_edit_of_a_closed_account_repeats_nothing(app, browse, people, make_case, make_user):
    admin = make_user("ada", "admin", department="Information and Technology")
    make_case("recommended")
    _deactivate(app, people["both"])
    assert "now waits for no one" in _deactivate(app, people["cao"])
    morgan = db.session.get(User, people["cao"].id)
    page = browse(admin).post(f"/admin/users/{morgan.id}", data={
        "full_name": "Morgan Ellis-Shaw", "email": morgan.email, "department": str(morgan.department_id),
        "roles": ["cao"], "seen": details_seen(morgan)}, follow_redirects=True).get_data(as_text=True)
    assert "Changes to morgan saved" in page and "waits for no one" not in page


def _awaits_mail(case: Case) -> dict[int, str]:
    """Return who was mailed "awaits you" about the request at its version now, with the message."""
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    return {n.user_id: n.body for n in db.session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.kind == "awaits",
        Notification.key == f"{case.id}:{case.version}"))}


def test_closing_the_account_of_the_officer_who_took_a_request_up_mails_the_others_it_awaits_them(
        app, people, make_case):
    # In triage a request waits for the officer who took it up, and only they are mailed its steps.
    # Their account closed, it waits for every officer again, on their lists and on its page, but
    # none was told by mail (a declared conflict mails them): it could sit unseen past its deadline.
    case = make_case("in_triage")
    assert case.assignee_id == people["hco"].id and _awaits_mail(case) == {}
    _deactivate(app, people["hco"])
    mailed = _awaits_mail(case)
    assert set(mailed) == {people["hco2"].id, people["both"].id}
    assert "Hana Lindqvist can no longer act on" in mailed[people["hco2"].id]
    # Closing a colleague who had not taken it up hands nothing over, and no one is mailed twice.
    _deactivate(app, people["both"])
    assert set(_awaits_mail(case)) == {people["hco2"].id, people["both"].id}


def test_an_officer_whose_role_is_taken_away_hands_what_they_took_up_to_the_others(
        app, browse, people, make_case, make_user):
    admin = make_user("ada", "admin", department="Information and Technology")
    case = make_case("info_requested")
    case = engine.fire(db.session, people["owner"], case.id, "provide_info", case.version,
                       payload={"channel": "Canadian Red Cross appeal"})
    hana = db.session.get(User, people["hco"].id)
    page = browse(admin).post(f"/admin/users/{hana.id}", data={
        "full_name": hana.full_name, "email": hana.email, "department": str(hana.department_id),
        "roles": ["staff"], "seen": details_seen(hana)}, follow_redirects=True).get_data(as_text=True)
    assert "Changes to hana saved" in page
    # (Hana was told of the owner's answer; now her colleagues are told it awaits them.)
    assert set(_awaits_mail(case)) == {people["hco"].id, people["hco2"].id, people["both"].id}


def _edit(browse, admin: User, person: User, roles: list[str], full_name: str | None = None) -> str:
    db.session.expire_all()
    person = db.session.get(User, person.id)
    r = browse(admin).post(f"/admin/users/{person.id}", data={
        "full_name": full_name or person.full_name, "email": person.email, "department": str(person.department_id),
        "roles": roles, "seen": details_seen(person)}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and (f"Changes to {person.username} saved" in page or "Nothing was changed" in page), page
    return page


def _mailed(person: User) -> dict[int, list[str]]:
    """Return the "awaits you" messages the person was sent, by request."""
    db.session.expire_all()
    said: dict[int, list[str]] = {}
    for n in db.session.scalars(select(Notification).where(Notification.user_id == person.id,
                                                           Notification.kind == "awaits").order_by(Notification.id)):
        said.setdefault(n.case_id, []).append(n.body)
    return said


def test_a_role_given_once_the_only_cao_left_mails_who_can_now_act_once(app, browse, people, make_case, make_user):
    # The only CAOs closed, a recommended request waits for no one; the administrator was warned,
    # and gives the finance officer the CAO's role (acting). The request is on their list: they
    # are mailed, once, saying why it comes now.
    admin = make_user("ada", "admin", department="Information and Technology")
    case = make_case("recommended")
    _deactivate(app, people["both"])
    assert "now waits for no one" in _deactivate(app, people["cao"])
    ravi = people["finance"]
    assert "Changes to ravi saved" in _edit(browse, admin, ravi, ["finance", "cao"])
    mailed = _mailed(ravi)
    assert list(mailed) == [case.id] and len(mailed[case.id]) == 1
    assert mailed[case.id][0].startswith("You can now act on \"Hurricane relief for Soyapango\" (recommended), "
                                         "which waited for no one"), mailed
    assert "It now awaits your action" in mailed[case.id][0]
    # Saved again as it is, their name changed, another role given, or the role taken away and given
    # back: they were told already.
    _edit(browse, admin, ravi, ["finance", "cao"])
    _edit(browse, admin, ravi, ["finance", "cao"], full_name="Ravi Chandran")
    _edit(browse, admin, ravi, ["finance", "cao", "council"])
    _edit(browse, admin, ravi, ["finance"])
    _edit(browse, admin, ravi, ["finance", "cao"])
    assert {k: len(v) for k, v in _mailed(ravi).items()} == {case.id: 1}


def _reopen(app, browse, admin: User, person: User, how: str) -> None:
    if how == "page":
        r = browse(admin).post(f"/admin/users/{person.id}/activate", follow_redirects=True)
        assert r.status_code == 200 and "has been reactivated" in r.get_data(as_text=True)
    else:
        r = app.test_cli_runner().invoke(args=["users", "activate", person.username])
        assert r.exit_code == 0 and "Activated" in r.output, r.output


@pytest.mark.parametrize("how, again", [("page", "command"), ("command", "page")])
def test_a_reopened_account_is_mailed_what_came_to_wait_for_no_one_while_it_was_closed(
        app, browse, people, make_case, make_user, how, again):
    admin = make_user("ada", "admin", department="Information and Technology")
    told = make_case("recommended")  # (the CAOs were mailed at its recommendation)
    _deactivate(app, people["both"])
    _deactivate(app, people["cao"])
    case = make_case("recommended")  # recommended while no CAO could act: no one was mailed
    assert people_who_can_act(db.session, case) == []
    _reopen(app, browse, admin, people["cao"], how)
    mailed = _mailed(people["cao"])
    assert len(mailed[case.id]) == 1 and len(mailed[told.id]) == 1, mailed  # (the first, at its recommendation)
    assert "You can now act on" in mailed[case.id][0] and "You can now act on" not in mailed[told.id][0]
    # Closed and reopened again: told already.
    _deactivate(app, people["cao"])
    _reopen(app, browse, admin, people["cao"], again)
    assert {k: len(v) for k, v in _mailed(people["cao"]).items()} == {told.id: 1, case.id: 1}


@pytest.mark.parametrize("how", ["page", "command"])
def test_a_new_account_with_the_role_is_mailed_what_waited_for_no_one(app, browse, people, make_case, make_user, how):
    admin = make_user("ada", "admin", department="Information and Technology")
    _deactivate(app, people["both"])
    _deactivate(app, people["cao"])
    case = make_case("recommended")
    if how == "page":
        r = browse(admin).post("/admin/users/new", data={
            "username": "alex", "password": "a long enough passphrase 2026", "roles": ["cao"],
            "department": str(people["cao"].department_id), "full_name": "Alex Moreau",
            "email": "alex@toronto.example"}, follow_redirects=True)
        assert r.status_code == 200 and "alex (" in r.get_data(as_text=True)
    else:
        r = app.test_cli_runner().invoke(args=["users", "create", "alex", "--password", "a long enough passphrase 2026",
                                               "--role", "cao", "--department", "Chief Administrative Officer",
                                               "--email", "alex@toronto.example"])
        assert r.exit_code == 0, r.output
    alex = db.session.scalar(select(User).where(User.username == "alex"))
    assert {k: len(v) for k, v in _mailed(alex).items()} == {case.id: 1}


def test_a_role_given_mails_nothing_of_what_others_could_already_act_on(app, browse, people, make_case, make_user):
    # A new officer of the Healthy City Office is not mailed each request waiting for the office:
    # only what waited for no one (here a recommendation, the CAOs closed).
    admin = make_user("ada", "admin", department="Information and Technology")
    submitted = make_case("submitted")
    _deactivate(app, people["cao"])
    _deactivate(app, people["both"])
    recommended = make_case("recommended")
    erin = people["stranger"]
    _edit(browse, admin, erin, ["staff", "hco", "cao"])
    db.session.expire_all()
    assert erin.id in {p.id for p in people_who_can_act(db.session, db.session.get(Case, submitted.id))}
    assert {k: len(v) for k, v in _mailed(erin).items()} == {recommended.id: 1}
