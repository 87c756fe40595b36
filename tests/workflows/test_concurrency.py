"""Two approvers firing the same trigger at once: exactly one wins, the other gets 409,
and the trail has one event — on SQLite and on PostgreSQL, with real threads."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app import create_app
from extensions import db
from models import AuditEvent, Case, User
from tests.conftest import _config, fresh_database_url, pg_url
from tests.workflows.leave import LEAVE
from workflows import engine, registry
from workflows.audit import verify_all
from workflows.errors import WorkflowError


def _race(app, case_id: int, version: int, head_id: int, clients: int = 2) -> list:
    barrier = threading.Barrier(clients)
    outcomes: list = [None] * clients

    def worker(i: int) -> None:
        with app.app_context():
            head = db.session.get(User, head_id)
            barrier.wait()
            try:
                engine.fire(db.session, head, case_id, "approve", version, payload={"amount": "100.00", "slow": True})
                outcomes[i] = "ok"
            except WorkflowError as err:
                outcomes[i] = err.status
            except Exception as err:  # noqa: BLE001 - the test reports any other outcome
                outcomes[i] = repr(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def _prepare(app, make_user) -> tuple[int, int, int]:
    owner = make_user("olive", "staff")
    head = make_user("hank", "dept_head")
    case = engine.create_case(db.session, owner, "leave", "Leave", ["research"], {"reason": "r", "days": 1})
    case = engine.fire(db.session, owner, case.id, "submit", case.version)
    return case.id, case.version, head.id


def _assert_one_winner(app, case_id: int, outcomes: list) -> None:
    assert sorted(map(str, outcomes)) == ["409", "ok"], outcomes
    with app.app_context():
        case = db.session.get(Case, case_id)
        approvals = db.session.scalar(select(func.count()).where(AuditEvent.case_id == case_id,
                                                                AuditEvent.action == "approve"))
        assert case.state == "approved"
        assert approvals == 1
        assert verify_all(db.session)[2] == []


@pytest.fixture
def leave():
    registry.register(LEAVE)
    yield
    registry.unregister(LEAVE.name)


def test_concurrent_approvals_on_sqlite(app, make_user, leave):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("this run is on PostgreSQL; the PostgreSQL variant covers it")
    case_id, version, head_id = _prepare(app, make_user)
    _assert_one_winner(app, case_id, _race(app, case_id, version, head_id))


@pytest.mark.postgres
def test_concurrent_approvals_on_postgresql(database_template, tmp_path, leave):
    url = pg_url()
    if url is None:
        pytest.skip("no PostgreSQL server answers at TEST_DATABASE_URL or 127.0.0.1:5432 (CI starts one)")
    if database_template["kind"] != "postgresql":
        from tests.conftest import _upgrade

        _upgrade(url)
        template = {"kind": "postgresql", "url": url}
    else:
        template = database_template
    pg_app = create_app(_config(fresh_database_url(template, tmp_path)))
    with pg_app.app_context():
        from accounts.service import ensure_roles
        from models import Department, Role
        from tests.conftest import _HASH

        ensure_roles(db.session)
        dept = Department(name="Toronto Public Health")
        roles = {r.name: r for r in db.session.scalars(select(Role))}
        owner = User(username="olive", full_name="Olive", password_hash=_HASH, department=dept, roles=[roles["staff"]])
        head = User(username="hank", full_name="Hank", password_hash=_HASH, department=dept,
                    roles=[roles["dept_head"]])
        db.session.add_all([owner, head])
        db.session.commit()
        case = engine.create_case(db.session, owner, "leave", "Leave", ["research"], {"reason": "r", "days": 1})
        case = engine.fire(db.session, owner, case.id, "submit", case.version)
        case_id, version, head_id = case.id, case.version, head.id
        db.session.remove()
    _assert_one_winner(pg_app, case_id, _race(pg_app, case_id, version, head_id))
    with pg_app.app_context():
        db.engine.dispose()


def test_sqlite_writers_queue_on_the_writer_lock_file(app, make_user, leave):
    # Writers wait on a file lock beside the database, which the system hands over as soon as it
    # is free, rather than in SQLite's sleeping busy loop; a writer holding it holds the others.
    from sqlalchemy.engine import make_url

    from workflows.transaction import _file_lock

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("this run is on PostgreSQL, which locks the case row instead")
    case_id, version, head_id = _prepare(app, make_user)
    outcomes: list = []
    with _file_lock(url.database + ".writer-lock"):
        racer = threading.Thread(target=lambda: outcomes.extend(_race(app, case_id, version, head_id, 1)))
        racer.start()
        racer.join(0.5)
        assert racer.is_alive(), "the approval went ahead while another writer held the lock"
        assert db.session.get(Case, case_id).state == "submitted"
        db.session.rollback()  # end this read, or it keeps seeing the database as it was
    racer.join(30)
    assert outcomes == ["ok"]
    assert db.session.get(Case, case_id).state == "approved"


def test_a_write_transaction_inside_another_does_not_wait_for_itself(app):
    from workflows.transaction import write_transaction

    done = threading.Event()

    def nested() -> None:
        with app.app_context():
            with write_transaction(db.session), write_transaction(db.session):
                pass
            done.set()

    t = threading.Thread(target=nested, daemon=True)
    t.start()
    t.join(10)
    assert done.is_set(), "the inner transaction waited forever on the lock its own thread held"
