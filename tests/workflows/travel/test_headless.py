"""A department whose staff's trips wait for a head it no longer has (the only head deactivated,
moved or stripped of the role): who would decide them, and what it costs to find out."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from extensions import db
from models import User
from tests.factories import counted
from tests.workflows.travel.conftest import TODAY, reported_after_a_recusal, trip_data
from workflows.scoring import submit_score
from workflows.travel.definition import headless_departments


def _close(user_id: int) -> None:
    db.session.execute(update(User).where(User.id == user_id).values(active=False))
    db.session.commit()


def _gaps() -> list[tuple[str, int]]:
    db.session.expire_all()
    return [(dept.name, n) for dept, n in headless_departments(db.session)]


def test_who_else_may_decide_a_trip_is_weighed_before_it_is_counted(people, make_trip):
    cao, dana = people["cao"].id, people["dana"].id
    above = trip_data(TODAY + timedelta(days=30), registration="6000.00")  # the CAO scores it too
    own = make_trip("sam", "submitted")
    stepped_aside_by_cao = make_trip("sam", "submitted", above)
    make_trip("sam", "report_submitted")  # its report is the head's to accept
    reported_after_a_recusal(make_trip, people, "sam", "dana", "cao")  # its report, the CAO's who decided it
    make_trip("chen", "submitted")  # the committee's
    submit_score(db.session, db.session.get(User, cao), stepped_aside_by_cao.id, {}, conflict="recused")
    submit_score(db.session, db.session.get(User, dana), own.id, {}, conflict="recused")  # the CAO decides it
    assert _gaps() == []
    _close(dana)
    # The trip its head stepped aside from is the CAO's; the one the CAO stepped aside from waits for
    # a head as much as the report does (the CAO decides in a head's place, not the other way).
    assert _gaps() == [("Toronto Public Health", 2)]


def test_finding_the_gaps_reads_as_much_for_many_waiting_trips_as_for_two(people, make_trip):
    dana = people["dana"].id

    def statements() -> int:
        with counted() as seen:
            headless_departments(db.session)
        return len(seen)

    for _ in range(2):
        make_trip("sam", "submitted")
        make_trip("erin", "submitted")
    with_heads = statements()
    _close(dana)
    few = statements()
    for _ in range(6):
        make_trip("sam", "submitted")
    assert statements() == few and with_heads <= 2 and _gaps() == [("Toronto Public Health", 8)]


def _roles(person: User, roles: list[str], admin: User) -> None:
    from accounts.service import update_user

    update_user(db.session, person, full_name=person.full_name, email=person.email,
                department_name=person.department.name, roles=roles, actor=admin)
    db.session.commit()
    db.session.expire_all()


def test_a_trip_stays_with_who_decides_it_when_its_travellers_role_changes(people, make_trip, make_user, api):
    from models import Case
    from workflows.audit import verify_all
    from workflows.queries import waiting_for

    admin = make_user("ada", "admin", department="Information and Technology")
    chens = make_trip("chen", "report_submitted")
    sams = make_trip("sam", "submitted")
    # A councillor's term ends (the account kept), and a member of staff is elected to Council.
    _roles(db.session.get(User, people["chen"].id), ["staff"], admin)
    _roles(db.session.get(User, people["sam"].id), ["staff", "councillor"], admin)
    # The committee still accepts the former councillor's report: City Council has no head to.
    pat, dana = db.session.get(User, people["pat"].id), db.session.get(User, people["dana"].id)
    assert [c.id for c in waiting_for(db.session, pat).cases] == [chens.id]
    assert _gaps() == []
    assert api(pat).get(f"/api/v1/cases/{chens.id}").get_json()["allowed_transitions"] == ["return_report",
                                                                                           "accept_report"]
    r = api(pat).post(f"/api/v1/cases/{chens.id}/transitions", json={"trigger": "accept_report",
                                                                     "version": chens.version})
    assert r.status_code == 200 and r.get_json()["state"] == "closed"
    # The new councillor's trip, requested as staff, is still their head's to decide, not the committee's.
    assert [c.id for c in waiting_for(db.session, dana).cases] == [sams.id]
    assert api(pat).get(f"/api/v1/cases/{sams.id}").get_json()["allowed_transitions"] == []
    r = api(dana).post(f"/api/v1/cases/{sams.id}/transitions", json={"trigger": "approve", "version": sams.version})
    assert r.status_code == 200 and r.get_json()["state"] == "approved"
    # The role is fixed when a trip leaves its draft; returned to it, the trip follows the roles of the day.
    assert db.session.get(Case, sams.id).requested_as == "staff"
    again = make_trip("sam", "draft")
    assert db.session.get(Case, again.id).requested_as is None
    r = api(db.session.get(User, people["sam"].id)).post(f"/api/v1/cases/{again.id}/transitions",
                                                         json={"trigger": "submit", "version": again.version})
    assert r.status_code == 200 and db.session.get(Case, again.id).requested_as == "councillor"
    assert verify_all(db.session)[2] == []  # (the role is in the row each event's digest covers)


def test_a_downgrade_that_would_drop_the_requested_roles_is_refused(app, make_trip, caplog):
    import pytest
    from flask_migrate import downgrade

    from workflows.audit import verify_all

    make_trip("chen", "submitted")
    db.session.remove()
    with pytest.raises(SystemExit):
        downgrade(revision="0020_score_at_decision")
    assert ("Cannot downgrade below 0021_requested_as: 1 request(s) keep the role they were made in"
            in caplog.text)
    db.session.remove()
    assert verify_all(db.session)[2] == []


def test_a_draft_is_filed_under_its_travellers_department_as_it_is_when_sent(people, make_trip, make_user, api):
    from accounts.service import update_user
    from models import Case
    from workflows.audit import verify_all
    from workflows.queries import waiting_for

    admin = make_user("ada", "admin", department="Information and Technology")
    draft = make_trip("sam", "draft")
    sam = db.session.get(User, people["sam"].id)
    update_user(db.session, sam, full_name=sam.full_name, email=sam.email,
                department_name="Economic Development and Culture", roles=["staff"], actor=admin)
    db.session.commit()
    r = api(sam).post(f"/api/v1/cases/{draft.id}/transitions", json={"trigger": "submit", "version": draft.version})
    assert r.status_code == 200 and r.get_json()["state"] == "submitted"
    # The head of the department they left neither decides it nor reads it; their head now does.
    dana, eli = db.session.get(User, people["dana"].id), db.session.get(User, people["eli"].id)
    assert api(dana).get(f"/api/v1/cases/{draft.id}").status_code == 404
    assert [c.id for c in waiting_for(db.session, eli).cases] == [draft.id]
    assert api(eli).get(f"/api/v1/cases/{draft.id}").get_json()["allowed_transitions"] == ["approve", "decline", "return"]
    assert db.session.get(Case, draft.id).department.name == "Economic Development and Culture"
    assert verify_all(db.session)[2] == []


def test_closing_the_committees_only_member_says_what_it_left_waiting(app, people, make_trip):
    chens = make_trip("chen", "submitted")
    make_trip("sam", "submitted")  # (the head's: closing the committee leaves it as it was)
    r = app.test_cli_runner().invoke(args=["users", "deactivate", people["pat"].username])
    assert r.exit_code == 0
    assert r.output.count("Warning") == 1
    assert f"Warning: 1 travel request (#{chens.id}) in the state Submitted waited for" in r.output, r.output
    # The head's trips: their department left without a head, and the trips that waited for them.
    r = app.test_cli_runner().invoke(args=["users", "deactivate", people["dana"].username])
    assert "Toronto Public Health has no active Department Head now: 1 staff trip waits for one" in r.output
    assert "now waits for no one" in r.output, r.output


def test_a_trip_sent_on_before_the_role_was_kept_reads_it_from_its_submit_event(people, make_trip, make_user, api):
    from sqlalchemy import update as sql_update

    from models import Case
    from workflows import engine
    from workflows.queries import waiting_for

    admin = make_user("ada", "admin", department="Information and Technology")
    chens = make_trip("chen", "report_submitted")
    db.session.execute(sql_update(Case).where(Case.id == chens.id).values(requested_as=None))  # (as before 0021)
    db.session.commit()
    _roles(db.session.get(User, people["chen"].id), ["staff"], admin)  # their term ended since
    pat = db.session.get(User, people["pat"].id)
    assert [c.id for c in waiting_for(db.session, pat).cases] == [chens.id]
    assert _gaps() == []
    assert "accept_report" in api(pat).get(f"/api/v1/cases/{chens.id}").get_json()["allowed_transitions"]
    engine.add_comment(db.session, pat, chens.id, "We will read it on Monday.")
    assert db.session.get(Case, chens.id).requested_as == "councillor"  # kept from its next change on


def test_an_acting_head_named_for_a_department_whose_only_head_left_is_mailed_its_trips_once(
        app, browse, people, make_trip, make_user):
    from sqlalchemy import select

    from accounts.service import details_seen
    from models import Notification

    admin = make_user("ada", "admin", department="Information and Technology")
    lee = make_user("lee", "staff", full_name="Lee Tremblay")
    sams = make_trip("sam", "submitted")  # (its head was mailed)
    erins = make_trip("erin", "submitted")  # another department's, its head there
    r = app.test_cli_runner().invoke(args=["users", "deactivate", people["dana"].username])
    assert "Toronto Public Health has no active Department Head now" in r.output

    def edit(roles: list[str], full_name: str = "Lee Tremblay") -> str:
        db.session.expire_all()
        person = db.session.get(User, lee.id)
        r = browse(admin).post(f"/admin/users/{lee.id}", data={
            "full_name": full_name, "email": person.email, "department": str(person.department_id),
            "roles": roles, "seen": details_seen(person)}, follow_redirects=True)
        assert r.status_code == 200
        return r.get_data(as_text=True)

    def mailed() -> list[tuple[int, str]]:
        db.session.expire_all()
        return [(n.case_id, n.body) for n in db.session.scalars(select(Notification).where(
            Notification.user_id == lee.id, Notification.kind == "awaits").order_by(Notification.id))]

    assert "Changes to lee saved" in edit(["staff", "dept_head"])
    said = mailed()
    assert [case_id for case_id, _ in said] == [sams.id], said
    assert said[0][1].startswith("You can now act on \"Metropolis 2026\" (submitted), which waited for no one")
    # The name changed, or the role given again: no second message.
    assert "Changes to lee saved" in edit(["staff", "dept_head"], full_name="Lee Tremblay-Roy")
    assert "Nothing was changed" in edit(["staff", "dept_head"], full_name="Lee Tremblay-Roy")
    assert [case_id for case_id, _ in mailed()] == [sams.id]
