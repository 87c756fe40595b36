"""A department whose staff's trips wait for a head it no longer has (the only head deactivated,
moved or stripped of the role): who would decide them, and what it costs to find out."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from extensions import db
from models import User
from tests.factories import counted
from tests.workflows.travel.conftest import TODAY, trip_data
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
    make_trip("sam", "report_submitted")  # its report is the head's to accept, recusal or not
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
