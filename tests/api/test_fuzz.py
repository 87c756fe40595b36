"""Fuzzing against the contract: schemathesis generates requests from /api/openapi.json and
checks every response (no 5xx, status codes, content types, bodies and headers as documented).

The number of examples per operation is bounded so that the suite stays fast; the count of
requests sent is printed at the end (make test shows it) and recorded in the README.
"""
from __future__ import annotations

import pytest
import schemathesis
from schemathesis.config._checks import PositiveDataAcceptanceConfig
from hypothesis import HealthCheck, given, settings

from extensions import db
from workflows import engine

EXAMPLES = 25


@pytest.fixture
def api_schema(app, make_user):
    """The OpenAPI document of a fresh app, with a signed-in user and a case to aim at."""
    user = make_user("fuzz", "staff", "hco", "cao")
    owner = make_user("olive", "staff")
    engine.create_case(db.session, owner, "travel", "A trip", ["research"], {"event_name": "Congress"})
    from accounts.sign_in import issue_token

    token = issue_token(db.session, user)
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    # Besides the JSON schema, a case's data is checked against its workflow's own schema and
    # the guards; their refusals are 422 as api.md documents, so 422 is an accepted answer too.
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=["2xx", "401", "403", "404", "409", "422", "429"])
    return schema


def test_api_conforms_to_its_contract(api_schema, capsys):
    """Run every operation of the document through schemathesis's checks."""
    sent = 0
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            nonlocal sent
            case.call_and_validate()
            sent += 1

        check()
    with capsys.disabled():
        print(f"\nschemathesis: {sent} requests over {len(operations)} operations validated against the contract")
