"""A token user and a web user see only the cases they may see; others get 404."""
from __future__ import annotations

import pytest

from tests.factories import TEST_PASSWORD


def _ids(client, **params) -> set[int]:
    r = client.get("/api/v1/cases", query_string=params)
    assert r.status_code == 200
    return {c["id"] for c in r.get_json()["items"]}


@pytest.mark.parametrize("who, sees", [
    ("owner", True), ("head", True), ("cao", True), ("stranger", False), ("other_head", False),
])
def test_api_visibility(api, people, submitted, who, sees):
    client = api(people[who])
    assert (submitted.id in _ids(client)) is sees
    assert client.get(f"/api/v1/cases/{submitted.id}").status_code == (200 if sees else 404)
    assert client.get(f"/api/v1/cases/{submitted.id}/history").status_code == (200 if sees else 404)


def _web_client(app, user):
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert r.status_code == 302
    return client


@pytest.mark.parametrize("who, status", [("owner", 200), ("head", 200), ("stranger", 404), ("other_head", 404)])
def test_web_visibility(app, people, submitted, who, status):
    client = _web_client(app, people[who])
    r = client.get(f"/cases/{submitted.id}")
    assert r.status_code == status
    if status == 200:
        assert "Conference leave" in r.get_data(as_text=True)


def test_dashboard_lists_what_awaits_the_head_and_nothing_for_a_stranger(app, people, submitted):
    head_page = _web_client(app, people["head"]).get("/").get_data(as_text=True)
    assert "Conference leave" in head_page
    stranger_page = _web_client(app, people["stranger"]).get("/").get_data(as_text=True)
    assert "Conference leave" not in stranger_page


def _submitted_leave(owner):
    from extensions import db
    from workflows import engine

    case = engine.create_case(db.session, owner, "leave", "Finance leave", ["research"], {"reason": "Audit course", "days": 2})
    return engine.fire(db.session, owner, case.id, "submit", case.version)


def test_the_awaiting_list_is_each_persons_own_and_follows_the_workflows_registered(app, people, submitted):
    # The dashboard's statement is built once per set of roles: two heads with the same roles must
    # still each see their own department's cases, and a workflow added later must appear.
    from extensions import db
    from tests.workflows.leave import LEAVE
    from workflows import queries, registry

    other = _submitted_leave(people["stranger"])
    assert [c.id for c in queries.awaiting(db.session, people["head"])] == [submitted.id]
    assert [c.id for c in queries.awaiting(db.session, people["other_head"])] == [other.id]
    registry.unregister(LEAVE.name)
    try:
        assert queries.awaiting(db.session, people["head"]) == []
    finally:
        registry.register(LEAVE)
    assert [c.id for c in queries.awaiting(db.session, people["head"])] == [submitted.id]


def test_the_list_is_each_persons_own_though_its_statements_are_shared(api, people, submitted):
    # The list and its total are built once per set of roles and filters (per_roles); two heads
    # with the same roles must still each see, and count, their own department's cases, and each
    # filter must keep its own statement (a draft and a submitted case tell them apart).
    from extensions import db
    from workflows import engine

    other = _submitted_leave(people["stranger"])
    drafts = {who: engine.create_case(db.session, people[owner], "leave", "Draft leave", ["research"],
                                      {"reason": "Course", "days": 1})
              for who, owner in (("head", "owner"), ("other_head", "stranger"))}
    for who, case in (("head", submitted), ("other_head", other)):
        draft = drafts[who]
        for query, expected in (({}, {case.id, draft.id}), ({"state": "submitted"}, {case.id}),
                                ({"state": "draft"}, {draft.id}), ({"workflow": "leave"}, {case.id, draft.id}),
                                ({"workflow": "leave", "state": "draft"}, {draft.id})):
            body = api(people[who]).get("/api/v1/cases", query_string=query).get_json()
            assert ({item["id"] for item in body["items"]}, body["total"]) == (expected, len(expected)), (who, query)


def test_list_filters_and_paging(api, people, submitted):
    client = api(people["owner"])
    assert _ids(client, mine="true") == {submitted.id}
    assert _ids(client, state="draft") == set()
    r = client.get("/api/v1/cases", query_string={"per_page": 101})
    assert r.status_code == 422 and "per_page" in r.get_json()["errors"]


def test_the_lists_parameters_given_empty_are_their_defaults(api, people, submitted):
    # api.md writes the list as `?workflow=&state=&mine=true&page=&per_page=`: an empty page or
    # per_page was refused as "Not a valid integer", where an empty workflow or state was not.
    client = api(people["owner"])
    r = client.get("/api/v1/cases?workflow=&state=&mine=&page=&per_page=")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["page"], body["per_page"], [item["id"] for item in body["items"]]) == (1, 20, [submitted.id])
    r = client.get("/api/v1/cases?page=&per_page=&colour=")
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["colour"]  # (unknown, still named)
    assert client.get("/api/v1/cases/waiting?after=").status_code == 200  # (the first page)


def test_web_action_fires_through_the_engine(app, people, submitted):
    client = _web_client(app, people["head"])
    r = client.post(f"/cases/{submitted.id}/actions/decline",
                    data={"decline-version": submitted.version, "decline-comment": ""})
    assert r.status_code == 422
    assert "A comment is required" in r.get_data(as_text=True)
    r = client.post(f"/cases/{submitted.id}/actions/decline",
                    data={"decline-version": submitted.version, "decline-comment": "No budget this year"},
                    follow_redirects=True)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Declined" in page and "No budget this year" in page


def test_web_stale_form_is_refused(app, people, submitted):
    client = _web_client(app, people["head"])
    r = client.post(f"/cases/{submitted.id}/actions/decline",
                    data={"decline-version": submitted.version - 1, "decline-comment": "x"})
    assert r.status_code == 409
    assert "changed since you opened this page" in r.get_data(as_text=True)


def test_a_head_sees_and_counts_every_workflow_of_their_department_and_nothing_of_another(api, people):
    # product.md: "a dept_head sees their department's" requests, in every workflow.
    from extensions import db
    from tests.workflows.relief.conftest import relief_data
    from workflows import engine

    relief = engine.create_case(db.session, people["owner"], "relief", "Flood relief", ["compassion"], relief_data())
    other = engine.create_case(db.session, people["stranger"], "relief", "Quake relief", ["compassion"], relief_data())
    for who, mine, theirs in (("head", relief, other), ("other_head", other, relief)):
        client = api(people[who])
        body = client.get("/api/v1/cases", query_string={"workflow": "relief"}).get_json()
        assert ({item["id"] for item in body["items"]}, body["total"]) == ({mine.id}, 1), who
        assert client.get(f"/api/v1/cases/{mine.id}").status_code == 200
        assert client.get(f"/api/v1/cases/{theirs.id}").status_code == 404
        assert client.get(f"/api/v1/cases/{mine.id}").get_json()["allowed_transitions"] == []
