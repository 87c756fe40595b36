"""Every API error is JSON in the format of api.md: no HTML page, no traceback."""
from __future__ import annotations

import pytest


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


def test_wrong_method_is_405_with_allow(client):
    r = client.client.delete("/api/v1/workflows", headers=client._headers())
    _is_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


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
