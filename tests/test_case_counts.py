"""The counters behind the case list's total follow every write to `cases`, whoever makes it:
the engine, a bulk load in plain SQL, an UPDATE by hand, a DELETE."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, insert, select, text, update

import clock
from extensions import db
from models import Case, CaseCount
from tests.test_scalability import trip
from workflows import engine


def _kept() -> dict[tuple, int]:
    rows = db.session.execute(select(CaseCount.workflow, CaseCount.department_id, CaseCount.state, CaseCount.n))
    return {(w, d, s): n for w, d, s, n in rows if n}


def _counted() -> dict[tuple, int]:
    rows = db.session.execute(select(Case.workflow, Case.department_id, Case.state, func.count())
                              .group_by(Case.workflow, Case.department_id, Case.state))
    return {(w, d, s): n for w, d, s, n in rows}


def test_the_counts_follow_the_engine_bulk_loads_and_hand_edits(app, make_user):
    sam, fin = make_user("sam", "staff"), make_user("fay", "staff", department="Finance")
    dana = make_user("dana", "dept_head")
    cases = []
    for owner in (sam, sam, fin):
        case = engine.create_case(db.session, owner, "travel", "Metropolis trip", ["leadership"], trip(clock.today()))
        cases.append(engine.fire(db.session, owner, case.id, "submit", case.version))
    assert _kept() == _counted() and sum(_kept().values()) == 3
    approved = engine.fire(db.session, dana, cases[0].id, "approve", cases[0].version)
    assert _kept() == _counted()
    assert _kept()[("travel", sam.department_id, "submitted")] == 1

    # A bulk load and edits in plain SQL, as a migration or an operator would make them.
    now = clock.now()
    db.session.execute(insert(Case), [
        {"workflow": "relief", "title": f"Loaded {n}", "state": "closed", "owner_id": fin.id,
         "department_id": fin.department_id, "goals": [], "data": {}, "version": 1, "created_at": now,
         "updated_at": now, "state_entered_at": now} for n in range(4)])
    db.session.execute(update(Case).where(Case.id == cases[1].id).values(state="declined"))
    db.session.execute(update(Case).where(Case.id == cases[2].id).values(title="Only the title changed"))
    db.session.execute(update(Case).where(Case.id == approved.id).values(department_id=fin.department_id))
    db.session.commit()
    assert _kept() == _counted()
    loaded = db.session.scalar(select(func.min(Case.id)).where(Case.title.like("Loaded%")))
    db.session.execute(delete(Case).where(Case.id == loaded))
    db.session.commit()
    assert _kept() == _counted()
    assert _kept()[("relief", fin.department_id, "closed")] == 3
    # A write rolled back leaves the counts as they were.
    db.session.execute(update(Case).where(Case.workflow == "relief").values(state="open"))
    db.session.rollback()
    assert _kept() == _counted()


def test_a_write_holds_its_departments_counters_only_while_it_commits(app, make_user):
    # On PostgreSQL the counters a transaction changes stay locked until it ends. Changed at each
    # write, they made every other transition of the department (out of or into the same state)
    # wait for the whole of the first: its event, its notifications, the app's work in between.
    # Changed as it commits, they are locked for the commit alone.
    if db.engine.dialect.name != "postgresql":
        pytest.skip("this run is on SQLite, where one writer waits for another anyway (CI runs PostgreSQL)")
    sam = make_user("sam", "staff")
    ids = [engine.create_case(db.session, sam, "travel", f"Trip {n}", ["leadership"], trip(clock.today())).id
           for n in range(2)]
    db.session.remove()
    with db.engine.connect() as first, db.engine.connect() as second:
        first.execute(update(Case).where(Case.id == ids[0]).values(state="submitted"))  # not committed yet
        second.execute(text("SET LOCAL lock_timeout = '1s'"))
        second.execute(update(Case).where(Case.id == ids[1]).values(state="submitted"))
        second.commit()
        first.commit()
    assert _kept() == _counted() == {("travel", sam.department_id, "submitted"): 2}


def test_a_department_heads_total_counts_the_cases_moved_since(app, make_user, api):
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    client = api(dana)
    for n in range(3):
        case = engine.create_case(db.session, sam, "travel", f"Trip {n}", ["leadership"], trip(clock.today()))
        case = engine.fire(db.session, sam, case.id, "submit", case.version)
    assert client.get("/api/v1/cases?state=submitted").get_json()["total"] == 3
    engine.fire(db.session, dana, case.id, "approve", case.version)
    assert client.get("/api/v1/cases?state=submitted").get_json()["total"] == 2
    assert client.get("/api/v1/cases?workflow=travel").get_json()["total"] == 3


def test_the_migration_counts_the_cases_already_there(tmp_path):
    # An existing database upgraded to the counters: its cases are counted once, then followed.
    from flask_migrate import upgrade

    from app import create_app
    from models import Department, User
    from tests.conftest import _config

    app = create_app(_config(f"sqlite:///{tmp_path}/older.sqlite3"))
    with app.app_context():
        upgrade(revision="0009_state_created_index")
        now = clock.now()
        dept = db.session.execute(insert(Department).values(name="Finance").returning(Department.id)).scalar_one()
        owner = db.session.execute(insert(User).values(username="fay", full_name="Fay", password_hash="x",
                                                       department_id=dept, active=True, created_at=now)
                                   .returning(User.id)).scalar_one()
        db.session.execute(insert(Case), [
            {"workflow": "travel", "title": f"Trip {n}", "state": "closed" if n % 3 else "submitted",
             "owner_id": owner, "department_id": dept, "goals": [], "data": {}, "version": 1,
             "created_at": now, "updated_at": now, "state_entered_at": now} for n in range(7)])
        db.session.commit()
        upgrade()
        assert _kept() == _counted() == {("travel", dept, "closed"): 4, ("travel", dept, "submitted"): 3}
        db.session.execute(update(Case).where(Case.state == "submitted").values(state="approved"))
        db.session.commit()
        assert _kept() == _counted()
        db.session.remove()
        db.engine.dispose()


def test_recount_rebuilds_counters_that_writes_without_triggers_left_wrong(app, make_user):
    # TRUNCATE and writes with triggers disabled bypass the triggers: `flask recount-cases` repairs.
    sam = make_user("sam", "staff")
    for n in range(3):
        engine.create_case(db.session, sam, "travel", f"Trip {n}", ["leadership"], trip(clock.today()))
    db.session.execute(update(CaseCount).values(n=CaseCount.n + 40))
    db.session.execute(insert(CaseCount).values(workflow="relief", department_id=sam.department_id, state="open", n=2))
    db.session.commit()
    assert _kept() != _counted()
    result = app.test_cli_runner().invoke(args=["recount-cases"])
    assert result.exit_code == 0, result.output
    assert "Counted 3 cases." in result.output
    db.session.expire_all()
    assert _kept() == _counted() == {("travel", sam.department_id, "draft"): 3}
