"""Every API error is JSON in the format of api.md: no HTML page, no traceback."""
from __future__ import annotations

import pytest

from extensions import db


@pytest.fixture
def client(api, make_user):
    return api(make_user("ann", "staff"))


def _is_error(r, status, code=None):
    assert r.status_code == status
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert set(body) >= {"error", "message"} and body["message"]
    if code:
        assert body["error"] == code
    return body


def test_unknown_path_is_json_404(client):
    _is_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_unknown_case_is_404(client):
    _is_error(client.get("/api/v1/cases/999999"), 404, "not_found")


@pytest.mark.parametrize("path, query, with_token", [
    ("/api/v1/cases/99999999999", None, 404), ("/api/v1/cases", {"state": "a\x00"}, 422),
    ("/api/v1/cases/99999999999/history", None, 404)])
def test_no_token_is_401_before_whatever_the_address_names(app, client, path, query, with_token):
    # api.md: "none or a bad one -> 401", also when the address names nothing (an id beyond any row)
    # or its query holds a NUL, which are checked before the view.
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        _is_error(app.test_client().get(path, query_string=query, headers=headers), 401, "unauthorized")
    _is_error(client.get(path, query_string=query), with_token)


def test_wrong_method_is_405_with_allow(client):
    r = client.client.delete("/api/v1/workflows", headers=client._headers())
    _is_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


def test_a_body_of_null_is_valid_json_but_not_an_object(client):
    r = client.client.post("/api/v1/cases", data="null", headers={**client._headers(), "Content-Type": "application/json"})
    assert _is_error(r, 422, "validation_failed")["errors"] == {"_schema": ["Must be an object, not null."]}
    assert client.post("/api/v1/cases", json=[]).status_code == 422  # as an array is


def test_malformed_json_is_400(client):
    r = client.client.post("/api/v1/cases", data="{not json", content_type="application/json",
                           headers=client._headers())
    body = _is_error(r, 400, "bad_request")
    assert "JSON" in body["message"]


@pytest.mark.parametrize("body", ['{"a":' * 990 + "1" + "}" * 990, "[" * 990 + "]" * 990,
                                  '{"workflow":"travel","title":"t","goals":["economy"],"data":' + "[" * 990 + "]" * 990 + "}"])
def test_json_nested_too_deeply_is_400_and_creates_nothing(client, body):
    r = client.client.post("/api/v1/cases", data=body, content_type="application/json", headers=client._headers())
    assert "nested too deeply" in _is_error(r, 400, "bad_request")["message"]
    assert client.get("/api/v1/cases").get_json()["total"] == 0


def test_too_large_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    r = client.post("/api/v1/cases", json={"workflow": "x", "title": "a" * 5000, "goals": ["research"]})
    _is_error(r, 413, "payload_too_large")


def test_field_errors_are_named(client):
    r = client.post("/api/v1/cases", json={"workflow": "nope", "title": "", "goals": []})
    body = _is_error(r, 422, "validation_failed")
    assert {"title", "goals"} <= set(body["errors"])


def test_nul_and_overlong_text_is_refused(client):
    r = client.post("/api/v1/cases", json={"workflow": "travel", "title": "a\x00b", "goals": ["research"]})
    assert "title" in _is_error(r, 422)["errors"]
    r = client.post("/api/v1/cases", json={"workflow": "travel", "title": "a" * 201, "goals": ["research"]})
    assert "title" in _is_error(r, 422)["errors"]


def test_unexpected_exception_is_json_500_without_traceback(app, client, monkeypatch):
    import api.meta

    def boom():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api.meta.registry, "all_workflows", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = client.get("/api/v1/workflows")
    body = _is_error(r, 500, "internal_error")
    assert "secret internals" not in r.get_data(as_text=True)
    assert "Traceback" not in r.get_data(as_text=True)
    assert body["message"]


def test_openapi_document_is_served_and_lists_the_contract(app):
    doc = app.test_client().get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/transitions",
                 "/api/v1/cases/{case_id}/history", "/api/v1/workflows", "/api/v1/auth/token",
                 "/api/v1/criteria/{workflow}", "/api/v1/cases/{case_id}/scores"):
        assert path in doc["paths"], path
    assert "CaseSchema" in doc["components"]["schemas"]
    # Every operation that reads a JSON body answers 400 for one that is not JSON, and says so.
    with_body = [(path, method) for path, ops in doc["paths"].items() for method, op in ops.items()
                 if isinstance(op, dict) and "requestBody" in op]
    assert ("/api/v1/auth/token", "post") in with_body
    assert [(p, m) for p, m in with_body if "400" not in doc["paths"][p][m]["responses"]] == []
    # Opening a kind of request one's roles may not open is refused with 403.
    assert "403" in doc["paths"]["/api/v1/cases"]["post"]["responses"]


# --- The OpenAPI document describes what the server validates, with the schemas that validate it.

def _json_schema(node):
    """Return an OpenAPI 3.0 schema as JSON Schema reads it: nullable as a null type, no extensions."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: ({name: _json_schema(prop) for name, prop in value.items()} if key == "properties"
                 else _json_schema(value))
           for key, value in node.items() if key != "nullable" and not key.startswith("x-")}
    if node.get("nullable") is True and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def _valid(doc: dict, schema: dict, instance) -> bool:
    """Return whether an instance validates against a schema of the document ($refs resolved in it)."""
    import jsonschema_rs

    root = {"components": {"schemas": _json_schema(doc["components"]["schemas"])}, "allOf": [_json_schema(schema)]}
    return jsonschema_rs.Draft7Validator(root).is_valid(instance)


def _body(doc: dict, path: str, method: str) -> dict:
    return doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def _answer(doc: dict, path: str, method: str, status: int) -> dict:
    return doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


@pytest.fixture
def doc(app):
    return app.test_client().get("/api/openapi.json").get_json()


def test_the_document_is_valid_openapi_3_and_writes_every_path_in_full(doc):
    from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

    errors = [str(error) for error in OPENAPI_30_VALIDATOR.iter_errors(doc)]
    assert errors == []
    assert [path for path in doc["paths"] if not path.startswith("/api/v1/")] == []
    # An amount is a string with two decimals, or a number (api.md), its bounds numbers (apispec
    # wrote them as the field dumps them, "0.00", which OpenAPI refuses).
    amount = doc["components"]["schemas"]["RecommendArgs"]["properties"]["amount_granted"]
    number = [branch for branch in amount["anyOf"] if branch["type"] == "number"][0]
    assert (number["minimum"], number["maximum"]) == (0, 1_000_000_000)
    for good in ("1250.00", "1250", 1250, 12.5):
        assert _valid(doc, amount, good), good
    for bad in ("12.505", "a lot", -1, None, True):
        assert not _valid(doc, amount, bad), bad
    assert _valid(doc, doc["components"]["schemas"]["ReliefDataDraft"]["properties"]["amount_requested"], None)


def test_a_cases_data_is_described_by_its_workflows_schema(doc):
    from workflows.partnership.schemas import PartnershipData
    from workflows.relief.schemas import ReliefData
    from workflows.travel.schemas import TravelData

    schemas = doc["components"]["schemas"]
    for args in ("CaseCreateArgs", "CasePatchArgs"):
        data = schemas[args]["properties"]["data"]
        assert data["x-accord-data"] == {"travel": _ref("TravelDataDraft"), "relief": _ref("ReliefDataDraft"),
                                         "partnership": _ref("PartnershipDataDraft")}
        assert [_ref(f"{name}Draft") for name in ("TravelData", "ReliefData", "PartnershipData")] == data["anyOf"][:3]
        assert "workflow" in data["description"]
    assert "Partial" in schemas["CasePatchArgs"]["properties"]["data"]["description"]
    # In full, each as its own class requires (what submit checks); as a draft, nothing is required.
    for cls in (TravelData, ReliefData, PartnershipData):
        name = cls.__name__
        assert schemas[name]["required"] == sorted(k for k, f in cls().fields.items() if f.required), name
        assert set(schemas[name]["properties"]) == set(cls().fields)
        assert "required" not in schemas[f"{name}Draft"] and schemas[f"{name}Draft"]["x-accord-complete"] == _ref(name)
    assert schemas["TravelData"]["properties"]["estimated_cost"]["anyOf"][0] == _ref("CostBreakdown")

    body = _body(doc, "/api/v1/cases", "post")
    trip = {"workflow": "travel", "title": "A congress", "goals": ["research"]}
    assert _valid(doc, body, {**trip, "data": {"event_name": "Congress", "start_date": "2026-05-04"}})
    assert _valid(doc, body, {**trip, "data": None}) and _valid(doc, body, trip)
    assert not _valid(doc, body, {**trip, "data": {"event_name": 5}})
    assert not _valid(doc, body, {**trip, "data": {"role_at_event": "tourist"}})
    assert not _valid(doc, body, {**trip, "data": {"no_such_field": "x"}})
    # A field's own pattern is the one documented (a bound text's "no NUL" pattern replaced it).
    decision = doc["components"]["schemas"]["PartnershipDecisionArgs"]["properties"]["meeting_reference"]
    assert decision["pattern"] == r"^\d{4}\.[A-Z]{2,4}\d+\.\d+$" and decision["maxLength"] == 40
    # A nested object that may be null is that object or null: the document allowed any object.
    assert _valid(doc, body, {**trip, "data": {"estimated_cost": None}})
    assert _valid(doc, body, {**trip, "data": {"estimated_cost": {"registration": "650.00"}}})
    assert not _valid(doc, body, {**trip, "data": {"estimated_cost": {"registration": "abc"}}})
    assert not _valid(doc, body, {**trip, "data": {"estimated_cost": {"bogus": 1}}})
    patch = _body(doc, "/api/v1/cases/{case_id}", "patch")
    assert _valid(doc, patch, {"version": 2, "data": {"purpose": "To present our transit study."}})
    assert not _valid(doc, patch, {"version": 2, "data": {"affected_population": "many"}})


def test_each_steps_payload_is_described_by_the_schema_that_loads_it(doc):
    from workflows import registry

    schemas = doc["components"]["schemas"]
    recommend = schemas["RecommendArgs"]
    assert recommend["required"] == ["amount_granted", "recommendation"]
    assert recommend["properties"]["recommendation"]["enum"] == ["approve", "decline"]
    data = schemas["TransitionArgs"]["properties"]["data"]
    payloads = data["x-accord-payloads"]
    assert payloads["relief.recommend"] == _ref("RecommendArgs")
    assert payloads["travel.submit_report"] == _ref("ReportArgs")
    assert payloads["partnership.approve"] == _ref("PartnershipDecisionArgs")
    assert "relief.recommend: RecommendArgs" in data["description"]
    # Every step that takes data is listed, with the component of the very class that loads it.
    expected = {f"{wf.name}.{t.trigger}": t.payload for wf in registry.all_workflows() for t in wf.transitions
                if t.payload is not None}
    assert set(payloads) == set(expected)
    for key, cls in expected.items():
        component = schemas[payloads[key]["$ref"].rsplit("/", 1)[1]]
        assert set(component["properties"]) == {k for k, f in cls().fields.items() if not f.dump_only}, key
        assert payloads[key] in data["anyOf"]
    assert "required" not in schemas["ResubmitArgs"]  # (loaded partially, as its class says)

    body = _body(doc, "/api/v1/cases/{case_id}/transitions", "post")
    assert _valid(doc, body, {"trigger": "recommend", "version": 4,
                              "data": {"recommendation": "approve", "amount_granted": 25000}})
    assert _valid(doc, body, {"trigger": "start_triage", "version": 2})
    assert _valid(doc, body, {"trigger": "start_triage", "version": 2, "data": None})
    assert not _valid(doc, body, {"trigger": "recommend", "version": 4, "data": {"recommendation": "maybe"}})
    assert not _valid(doc, payloads["relief.recommend"], {"recommendation": "approve"})


def test_a_relief_request_through_the_api_matches_its_documented_schemas(app, doc, api, make_user):
    from tests.workflows.relief.conftest import RATINGS, relief_data
    from workflows import engine

    owner, hco = make_user("sam", "staff"), make_user("hana", "hco", department="Strategic and Corporate Policy")
    body = {"workflow": "relief", "title": "Hurricane relief", "goals": ["compassion"], "data": relief_data()}
    assert _valid(doc, _body(doc, "/api/v1/cases", "post"), body)
    r = api(owner).post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.get_json()
    assert _valid(doc, _answer(doc, "/api/v1/cases", "post", 201), r.get_json())
    case = engine.fire(db.session, owner, r.get_json()["id"], "submit", r.get_json()["version"])
    case = engine.fire(db.session, hco, case.id, "start_triage", case.version)
    hana = api(hco)

    # A rating that is not an integer: the document refuses it, and the server in its own words.
    scores, ratings = "/api/v1/cases/{case_id}/scores", {**RATINGS, "unmet_need": "4"}
    assert doc["components"]["schemas"]["ScoreArgs"]["properties"]["ratings"]["additionalProperties"]["type"] == \
        "integer"
    assert not _valid(doc, _body(doc, scores, "post"), {"ratings": ratings})
    r = hana.post(f"/api/v1/cases/{case.id}/scores", json={"ratings": ratings})
    assert r.status_code == 422 and r.get_json()["errors"] == {"ratings": {"unmet_need": ["must be an integer"]}}
    assert _valid(doc, _body(doc, scores, "post"), {"ratings": RATINGS})
    r = hana.post(f"/api/v1/cases/{case.id}/scores", json={"ratings": RATINGS})
    assert r.status_code == 201 and _valid(doc, _answer(doc, scores, "post", 201), r.get_json())

    # Recommending without the amount: refused by the schema the document names for it.
    transitions = "/api/v1/cases/{case_id}/transitions"
    recommend = doc["components"]["schemas"]["TransitionArgs"]["properties"]["data"]["x-accord-payloads"][
        "relief.recommend"]
    assert not _valid(doc, recommend, {"recommendation": "approve"})
    r = hana.post(f"/api/v1/cases/{case.id}/transitions",
                  json={"trigger": "recommend", "version": case.version, "data": {"recommendation": "approve"}})
    assert r.status_code == 422 and "amount_granted" in r.get_json()["errors"]["data"]
    step = {"trigger": "recommend", "version": case.version, "comment": "Strong case.",
            "data": {"recommendation": "approve", "amount_granted": 25000}}
    assert _valid(doc, recommend, step["data"]) and _valid(doc, _body(doc, transitions, "post"), step)
    r = hana.post(f"/api/v1/cases/{case.id}/transitions", json=step)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "recommended" and r.get_json()["data"]["amount_granted"] == "25000.00"
    assert _valid(doc, _answer(doc, transitions, "post", 200), r.get_json())


def test_an_inventory_edit_is_documented_as_partial(app, doc, api, make_user):
    admin = api(make_user("ada", "admin", department="Information and Technology"))
    body = _body(doc, "/api/v1/partnerships/{pid}", "patch")
    assert body == _ref("InventoryPatch")
    patch = doc["components"]["schemas"]["InventoryPatch"]
    assert "required" not in patch and patch["minProperties"] == 1
    assert set(patch["properties"]) == set(doc["components"]["schemas"]["InventoryArgs"]["properties"])
    assert _valid(doc, body, {"focus": "x"}) and not _valid(doc, _ref("InventoryArgs"), {"focus": "x"})
    assert not _valid(doc, body, {}) and not _valid(doc, body, {"status": "lost"})

    pid = admin.get("/api/v1/partnerships").get_json()["items"][0]["id"]
    r = admin.patch(f"/api/v1/partnerships/{pid}", json={"focus": "x"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["focus"] == "x" and _valid(doc, _answer(doc, "/api/v1/partnerships/{pid}", "patch", 200),
                                                   r.get_json())
    assert admin.patch(f"/api/v1/partnerships/{pid}", json={}).status_code == 422


def test_healthz(app):
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok", "database": "ok"}


def test_nul_in_a_query_or_anywhere_in_a_body_is_422(client):
    r = client.get("/api/v1/cases", query_string={"workflow": "tra\x00vel"})
    assert _is_error(r, 422, "validation_failed")["errors"] == {"workflow": ["Must not contain NUL characters."]}
    r = client.post("/api/v1/cases", json={"workflow": "travel", "title": "Trip", "goals": ["research"],
                                           "data": {"estimated_cost": {"other": "a\x00"}}})
    assert _is_error(r, 422)["errors"] == {"data": {"estimated_cost": {"other": ["Must not contain NUL characters."]}}}


def test_a_lone_surrogate_anywhere_in_a_body_is_422_not_500(app, client):
    # "\ud800" in JSON decodes to a string no UTF-8 text holds: the audit hash, the password check
    # and the database each failed on it with a 500, the token endpoint too (before any sign-in).
    surrogate = '"x\\ud800"'
    for path, body in [("/api/v1/auth/token", '{"username": %s, "password": "x"}' % surrogate),
                       ("/api/v1/auth/token", '{"username": "sam", "password": %s}' % surrogate),
                       ("/api/v1/cases", '{"workflow": "travel", "title": %s, "goals": ["research"]}' % surrogate),
                       ("/api/v1/cases", '{"workflow": "travel", "title": "T", "goals": ["research"], '
                                         '"data": {%s: 1}}' % surrogate)]:
        r = client.post(path, data=body, content_type="application/json")
        assert r.status_code == 422, (path, body, r.get_data(as_text=True))
        assert "lone surrogate" in str(r.get_json()["errors"]) or "Field names" in str(r.get_json()["errors"])


def test_a_null_data_is_as_none_given_and_an_owners_step_is_refused_in_a_sentence(app, make_user, api):
    # "data": null was refused ("Field may not be null.") though api.md makes it optional, as
    # "comment": null is; and another's submit was refused as "... may Submit for approval it."
    sam, dana = make_user("sam", "staff"), make_user("dana", "dept_head")
    client = api(sam)
    r = client.post("/api/v1/cases", json={"workflow": "travel", "title": "A trip", "goals": ["research"],
                                            "data": None})
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    r = api(dana).post(f"/api/v1/cases/{case['id']}/transitions", json={"trigger": "submit", "version": 1})
    assert r.status_code == 403
    assert r.get_json()["message"] == "Only the person who made the request may take this step (Submit for approval)."
    r = client.post(f"/api/v1/cases/{case['id']}/transitions",
                    json={"trigger": "cancel", "version": 1, "data": None, "comment": None})
    assert r.status_code == 200 and r.get_json()["state"] == "cancelled"
