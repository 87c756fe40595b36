"""A decided request keeps the score it was decided with: criteria adopted later do not re-judge it."""
from __future__ import annotations

import re

from extensions import db
from models import Case
from tests.scoring.test_scores_api import _criteria_moved_on, _web, cast, in_triage, score  # noqa: F401 (fixtures)
from tests.workflows.relief.conftest import RATINGS
from workflows import engine
from workflows.audit import verify_all

A_MILLION_OR_MORE = ("eligibility:\n", "eligibility:\n  - id: big_disasters\n    message: \"Only disasters affecting a "
                     "million people.\"\n    rule: {field: affected_population, op: ge, value: 1000000}\n")


def _recommended(api, cast, case):
    version = score(api, cast["hana"], case.id, ratings=RATINGS).get_json()["case_version"]
    return engine.fire(db.session, cast["hana"], case.id, "recommend", version,
                       payload={"recommendation": "approve", "amount_granted": "10000.00"})


def _read(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_an_approved_request_keeps_its_score_when_the_office_adds_a_knock_out(app, api, cast, in_triage, tmp_path):
    case = _recommended(api, cast, in_triage)
    case = engine.fire(db.session, cast["cao"], case.id, "approve", case.version)
    assert case.state == "approved"
    before = api(cast["cao"]).get(f"/api/v1/cases/{case.id}").get_json()["score"]
    assert (before["percent"], before["recommendation"], before["eligible"]) == ("77.00", "approve", True)
    # A year on, the office adds a knock-out rule the request fails, under a new version.
    _criteria_moved_on(app, tmp_path, lambda t: t.replace("version: 2", "version: 3", 1).replace(*A_MILLION_OR_MORE, 1))
    after = api(cast["cao"]).get(f"/api/v1/cases/{case.id}").get_json()["score"]
    assert after == before
    assert api(cast["cao"]).get(f"/api/v1/cases/{case.id}/scores").get_json()["aggregate"] == before
    page = _read(_web(app, cast["cao"]).get(f"/cases/{case.id}").get_data(as_text=True))
    assert "77.00% from 1 reviewer" in page and "Only disasters affecting a million" not in page
    assert "As the request was decided, under version 2 of the criteria; version 3 is in force now" in page
    # The kept score is part of the row each event vouches for.
    assert verify_all(db.session)[2] == []



def test_the_kept_score_stays_through_the_steps_after_the_decision(app, api, cast, in_triage, tmp_path, make_user):
    # The score is kept when the request is decided, not again at each later step: a payment
    # recorded after the office adopted new criteria must not re-judge the approved request.
    import clock

    finance = make_user("ravi", "finance", department="Finance")
    case = _recommended(api, cast, in_triage)
    case = engine.fire(db.session, cast["cao"], case.id, "approve", case.version)
    before = api(cast["cao"]).get(f"/api/v1/cases/{case.id}").get_json()["score"]
    _criteria_moved_on(app, tmp_path, lambda t: t.replace("version: 2", "version: 3", 1).replace(*A_MILLION_OR_MORE, 1))
    case = engine.fire(db.session, finance, case.id, "disburse", case.version, payload={
        "amount_paid": "10000.00", "paid_on": clock.today().isoformat(), "payment_reference": "EFT-1"})
    assert case.state == "disbursed"
    assert db.session.get(Case, case.id).score_at_decision["criteria_version"] == 2
    assert api(cast["cao"]).get(f"/api/v1/cases/{case.id}").get_json()["score"] == before

def test_a_request_not_yet_decided_is_scored_under_the_criteria_in_force(app, api, cast, in_triage, tmp_path):
    case = _recommended(api, cast, in_triage)
    _criteria_moved_on(app, tmp_path, lambda t: t.replace("version: 2", "version: 3", 1).replace(*A_MILLION_OR_MORE, 1))
    now = api(cast["cao"]).get(f"/api/v1/cases/{case.id}").get_json()["score"]
    assert (now["recommendation"], now["eligible"], now["criteria_version"]) == ("ineligible", False, 3)
    # Declined under the new criteria, it keeps the score it was declined with: the new one.
    case = engine.fire(db.session, cast["cao"], case.id, "decline", case.version, comment="Not eligible now.")
    assert db.session.get(Case, case.id).score_at_decision["aggregate"]["recommendation"] == "ineligible"
    assert api(cast["cao"]).get(f"/api/v1/cases/{case.id}").get_json()["score"] == now


def test_a_downgrade_that_would_drop_the_kept_scores_is_refused(app, api, cast, in_triage, caplog):
    import pytest
    from flask_migrate import downgrade

    case = _recommended(api, cast, in_triage)
    engine.fire(db.session, cast["cao"], case.id, "decline", case.version, comment="Not this year.")
    db.session.remove()
    with pytest.raises(SystemExit):
        downgrade(revision="0019_event_row_digest")
    assert ("Cannot downgrade below 0020_score_at_decision: 1 decided request(s) keep the score they were decided "
            "with") in caplog.text
    db.session.remove()
    assert verify_all(db.session)[2] == []


def test_a_request_decided_unscored_names_the_version_it_was_decided_under(app, api, cast, in_triage, tmp_path):
    from sqlalchemy import text

    case = engine.fire(db.session, cast["owner"], in_triage.id, "withdraw", in_triage.version)
    _criteria_moved_on(app, tmp_path, lambda t: t.replace("version: 2", "version: 3", 1).replace(*A_MILLION_OR_MORE, 1))
    agg = api(cast["cao"]).get(f"/api/v1/cases/{case.id}/scores").get_json()["aggregate"]
    assert (agg["criteria_version"], agg["eligible"], agg["reasons"]) == (2, True, [])
    # A relief request derives no figures: nothing kept is SQL NULL, not a JSON null (which
    # IS NOT NULL finds, as the downgrade's count of kept scores does).
    row = db.session.execute(text("SELECT derived_at_decision IS NULL, score_at_decision IS NULL FROM cases "
                                  "WHERE id = :id"), {"id": case.id}).one()
    assert tuple(row) == (True, False)
