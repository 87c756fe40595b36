import pytest

from extensions import db
from tests.workflows.leave import LEAVE
from workflows import engine, registry


@pytest.fixture(autouse=True)
def leave_workflow():
    registry.register(LEAVE)
    yield LEAVE
    registry.unregister(LEAVE.name)


@pytest.fixture
def people(make_user):
    return {
        "owner": make_user("olive", "staff"),
        "head": make_user("hank", "dept_head"),
        "other_head": make_user("otto", "dept_head", department="Finance"),
        "stranger": make_user("sven", "staff", department="Finance"),
        "cao": make_user("cara", "cao", department="CAO"),
    }


@pytest.fixture
def submitted(people):
    case = engine.create_case(db.session, people["owner"], "leave", "Conference leave", ["research"],
                              {"reason": "Metropolis conference", "days": 3})
    return engine.fire(db.session, people["owner"], case.id, "submit", case.version)
