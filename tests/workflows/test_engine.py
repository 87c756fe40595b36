"""The engine's refusals and successes, through the API as a script sees them."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Case


def snapshot(case_id: int) -> tuple:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    events = db.session.scalar(select(func.count()).where(AuditEvent.case_id == case_id))
    return case.state, case.version, dict(case.data), events, case.last_event_hash


def fire(client, case_id, trigger, version, **body):
    return client.post(f"/api/v1/cases/{case_id}/transitions", json={"trigger": trigger, "version": version, **body})


def test_a_transition_logs_one_line_saying_what_happened(api, people, submitted, caplog):
    # The log is read by whoever runs the app: one line per transition, not the transitions
    # library's two lines about its callbacks.
    with caplog.at_level(logging.INFO):
        r = fire(api(people["head"]), submitted.id, "approve", submitted.version, data={"amount": "250.50"})
    assert r.status_code == 200, r.get_json()
    lines = [(rec.name, rec.getMessage()) for rec in caplog.records if rec.name.startswith(("accord.engine", "transitions"))]
    assert lines == [("accord.engine", f"case {submitted.id}: approve by {people['head'].username}, submitted -> approved")]


def test_approve_moves_state_bumps_version_and_records_one_event(api, people, submitted):
    before = snapshot(submitted.id)
    r = fire(api(people["head"]), submitted.id, "approve", submitted.version, data={"amount": "250.50"},
             comment="Enjoy the conference")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["state"] == "approved"
    assert body["version"] == before[1] + 1
    assert body["data"]["amount"] == "250.50"
    history = api(people["head"]).get(f"/api/v1/cases/{submitted.id}/history").get_json()
    last = history["events"][-1]
    assert (last["action"], last["from_state"], last["to_state"], last["comment"]) == (
        "approve", "submitted", "approved", "Enjoy the conference")
    assert history["chain_valid"] is True
    assert len(history["events"]) == before[3] + 1


@pytest.mark.parametrize("who, trigger, version_delta, body, status, code", [
    ("stranger", "approve", 0, {"data": {"amount": "10.00"}}, 404, "not_found"),
    ("other_head", "approve", 0, {"data": {"amount": "10.00"}}, 404, "not_found"),
    ("cao", "approve", 0, {"data": {"amount": "10.00"}}, 403, "forbidden"),
    ("owner", "approve", 0, {"data": {"amount": "10.00"}}, 403, "forbidden"),
    ("head", "submit", 0, {}, 403, "forbidden"),
    ("owner", "submit", 0, {}, 409, "invalid_transition"),
    ("head", "no_such_trigger", 0, {}, 409, "invalid_transition"),
    ("head", "approve", -1, {"data": {"amount": "10.00"}}, 409, "stale_version"),
    ("head", "approve", 0, {"data": {"amount": "ten"}}, 422, "validation_failed"),
    ("head", "approve", 0, {"data": {}}, 422, "validation_failed"),
    ("head", "decline", 0, {"comment": "  "}, 422, "validation_failed"),
    ("head", "approve", 0, {"data": {"amount": "5000.00"}}, 422, "guard_failed"),
])
def test_refusals_answer_and_change_nothing(api, people, submitted, who, trigger, version_delta, body, status, code):
    before = snapshot(submitted.id)
    r = fire(api(people[who]), submitted.id, trigger, submitted.version + version_delta, **body)
    assert r.status_code == status, r.get_json()
    payload = r.get_json()
    assert payload["error"] == code
    assert payload["message"]
    assert snapshot(submitted.id) == before



@pytest.mark.parametrize("trigger, body", [("decline", {}), ("approve", {"data": {"amount": "ten"}}),
                                           ("approve", {"data": {"amount": "5000.00"}})])
def test_a_stale_version_is_answered_409_before_what_the_step_sends_is_judged(api, people, submitted, trigger, body):
    # api.md: 409 when the version is stale. A caller acting on an outdated case must reload it
    # first; told instead to mend a comment, a field or an amount, they would mend it and only then
    # learn that the case had changed under them.
    before = snapshot(submitted.id)
    r = fire(api(people["head"]), submitted.id, trigger, submitted.version - 1, **body)
    assert (r.status_code, r.get_json()["error"]) == (409, "stale_version"), r.get_json()
    assert snapshot(submitted.id) == before

def test_payload_errors_name_the_field(api, people, submitted):
    r = fire(api(people["head"]), submitted.id, "approve", submitted.version, data={"amount": "12.345"})
    assert r.status_code == 422
    assert "amount" in r.get_json()["errors"]["data"]


def test_guard_refusal_names_the_guard(api, people, submitted):
    r = fire(api(people["head"]), submitted.id, "approve", submitted.version, data={"amount": "1000.01"})
    assert r.get_json()["guard"] == "within_budget"
    assert "1,000.00" in r.get_json()["message"]


def test_missing_comment_is_named(api, people, submitted):
    r = fire(api(people["head"]), submitted.id, "decline", submitted.version)
    assert r.status_code == 422
    assert "comment" in r.get_json()["errors"]


def test_submit_of_incomplete_draft_names_every_missing_field(api, people):
    client = api(people["owner"])
    case = client.post("/api/v1/cases", json={"workflow": "leave", "title": "Half done", "goals": ["research"],
                                              "data": {}}).get_json()
    before = snapshot(case["id"])
    r = fire(client, case["id"], "submit", case["version"])
    assert r.status_code == 422
    assert set(r.get_json()["errors"]["data"]) == {"reason", "days"}
    assert snapshot(case["id"]) == before


def test_allowed_transitions_depend_on_the_caller(api, people, submitted):
    assert api(people["head"]).get(f"/api/v1/cases/{submitted.id}").get_json()["allowed_transitions"] == [
        "approve", "decline"]
    assert api(people["owner"]).get(f"/api/v1/cases/{submitted.id}").get_json()["allowed_transitions"] == ["cancel"]
    assert api(people["cao"]).get(f"/api/v1/cases/{submitted.id}").get_json()["allowed_transitions"] == []


def test_edit_is_an_audited_owner_only_draft_only_change(api, people):
    owner = api(people["owner"])
    case = owner.post("/api/v1/cases", json={"workflow": "leave", "title": "Draft", "goals": ["research"],
                                             "data": {"reason": "x"}}).get_json()
    r = owner.patch(f"/api/v1/cases/{case['id']}", json={"version": case["version"], "data": {"days": 2}})
    assert r.status_code == 200
    assert r.get_json()["data"] == {"reason": "x", "days": 2}
    events = owner.get(f"/api/v1/cases/{case['id']}/history").get_json()["events"]
    assert [e["action"] for e in events] == ["create", "edit"]
    stale = owner.patch(f"/api/v1/cases/{case['id']}", json={"version": case["version"], "title": "New"})
    assert stale.status_code == 409
    head = api(people["head"]).patch(f"/api/v1/cases/{case['id']}", json={"version": 2, "title": "Mine now"})
    assert head.status_code in (403, 404)



def test_an_edit_of_the_goals_alone_is_saved_and_recorded(api, people):
    # The goals are what the annual report counts activity by (product.md section 2): a draft whose
    # owner tags it with another goal must keep the new goals, as a recorded change.
    owner = api(people["owner"])
    case = owner.post("/api/v1/cases", json={"workflow": "leave", "title": "Draft", "goals": ["research"],
                                             "data": {"reason": "x"}}).get_json()
    r = owner.patch(f"/api/v1/cases/{case['id']}", json={"version": case["version"], "goals": ["economy", "culture"]})
    assert r.status_code == 200, r.get_json()
    assert sorted(r.get_json()["goals"]) == ["culture", "economy"]
    assert r.get_json()["version"] == case["version"] + 1
    assert sorted(owner.get(f"/api/v1/cases/{case['id']}").get_json()["goals"]) == ["culture", "economy"]
    db.session.expire_all()
    edit = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case["id"])
                              .order_by(AuditEvent.seq.desc())).first()
    assert (edit.action, sorted(edit.payload["goals"])) == ("edit", ["culture", "economy"])

def test_machine_is_shared_and_released(app, people, submitted, leave_workflow):
    from workflows import engine

    machine = leave_workflow.machine
    engine.fire(db.session, people["head"], submitted.id, "decline", submitted.version, comment="No budget")
    assert machine.models == []
    assert leave_workflow.machine is machine


def test_goals_that_are_not_names_are_refused_by_the_engine(people):
    from workflows.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        engine_create(people["owner"], goals=[["research"]])
    assert "goals" in refused.value.errors


def engine_create(owner, goals):
    from workflows import engine

    return engine.create_case(db.session, owner, "leave", "Leave", goals, {"reason": "r", "days": 1})


def test_a_step_taken_with_a_creation_or_an_edit_is_refused_with_it(people):
    # The relief form's "Submit" and "Save and send back": one transaction, or nothing at all.
    from workflows import engine
    from workflows.errors import GuardFailed

    with pytest.raises(GuardFailed):
        engine.create_case(db.session, people["owner"], "leave", "Half done", ["research"], {"reason": "x"},
                           then="submit")
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.case_id.is_not(None))) == 0
    case = engine.create_case(db.session, people["owner"], "leave", "Half done", ["research"], {"reason": "x"})
    before = snapshot(case.id)
    with pytest.raises(GuardFailed):
        engine.update_case(db.session, people["owner"], case.id, case.version, title="Still half done", then="submit")
    assert snapshot(case.id) == before
    case = engine.update_case(db.session, people["owner"], case.id, case.version, data={"days": 2}, then="submit")
    assert (case.state, case.data) == ("submitted", {"reason": "x", "days": 2})
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                                 .order_by(AuditEvent.seq))] == ["create", "edit", "submit"]
