"""Scoring through the API: review practice (conflicts, blind reviews, re-scoring, disagreement),
owners refused, every score audited, and old scores kept under their criteria version."""
from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from extensions import db
from models import AuditEvent, Score
from tests.factories import TEST_PASSWORD, error_summary
from tests.workflows.relief.conftest import RATINGS, relief_data
from workflows import engine

# What a reader who may not see any score yet is given: the eligibility the request's own data
# decides, no figure (api.md's aggregate is an object, not null).
UNSCORED = {"percent": None, "recommendation": None, "eligible": True, "reasons": [], "complete": False,
            "criteria_version": 2}
from workflows.scoring import load_criteria

POLICY = "Strategic and Corporate Policy"


@pytest.fixture
def cast(make_user):
    return {"owner": make_user("sam", "staff"), "hana": make_user("hana", "hco", department=POLICY),
            "omar": make_user("omar", "hco", department=POLICY), "ines": make_user("ines", "hco", department=POLICY),
            "cao": make_user("cao", "cao", department="CAO")}


@pytest.fixture
def in_triage(cast):
    case = engine.create_case(db.session, cast["owner"], "relief", "Hurricane relief", ["compassion"], relief_data())
    case = engine.fire(db.session, cast["owner"], case.id, "submit", case.version)
    return engine.fire(db.session, cast["hana"], case.id, "start_triage", case.version)


def score(api, user, case_id, **body):
    return api(user).post(f"/api/v1/cases/{case_id}/scores", json=body)


def test_criteria_set_is_served(api, cast):
    body = api(cast["hana"]).get("/api/v1/criteria/relief").get_json()
    assert body["workflow"] == "relief" and body["scale"] == {"min": 0, "max": 5}
    assert {c["id"]: c["kind"] for c in body["criteria"]}["severity"] == "computed"
    assert body["thresholds"] == {"approve": 60, "decline": 45}


def test_score_is_stored_with_its_figure_and_audited(api, cast, in_triage):
    r = score(api, cast["hana"], in_triage.id, ratings=RATINGS, comment="Strong case")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    # severity: 120,000 affected -> band 4. Weighted: 20*4 + 15*4 + 20*4 + 10*4 + 10*4 + 10*4 + 10*3 + 5*3
    # = 80+60+80+40+40+40+30+15 = 385 of 5*100 = 500 -> 77.00%
    assert body["percent"] == "77.00" and body["recommendation"] == "approve"
    assert body["criteria_version"] == 2 and body["computed"]["severity"] == 4
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == in_triage.id,
                                                         AuditEvent.action == "score")).all()
    assert len(events) == 1 and events[0].payload["ratings"] == RATINGS


def test_the_answer_to_a_score_gives_the_version_the_next_step_is_sent_with(api, cast, in_triage):
    # A score is a change of the case (its version rises): a script recommends next with this version.
    loaded = in_triage.version
    body = score(api, cast["hana"], in_triage.id, ratings=RATINGS).get_json()
    assert body["case_version"] == loaded + 1
    r = api(cast["hana"]).post(f"/api/v1/cases/{in_triage.id}/transitions", json={
        "trigger": "recommend", "version": body["case_version"],
        "data": {"recommendation": "approve", "amount_granted": "10000.00"}})
    assert r.status_code == 200 and r.get_json()["state"] == "recommended"


def test_owner_cannot_score_and_refusals_change_nothing(api, cast, in_triage):
    before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    assert score(api, cast["owner"], in_triage.id, ratings=RATINGS).status_code == 403
    bad = score(api, cast["hana"], in_triage.id, ratings={**RATINGS, "unmet_need": 9, "severity": 3})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]["ratings"]) == {"unmet_need", "severity"}
    assert score(api, cast["cao"], in_triage.id, ratings=RATINGS).status_code == 403
    assert db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) == before
    assert db.session.scalars(select(Score)).all() == []



def test_an_officer_does_not_score_their_own_request(api, cast, make_user):
    # product.md: nobody scores their own request, though they hold the scoring role.
    both = make_user("bo", "staff", "hco", department=POLICY)
    case = engine.create_case(db.session, both, "relief", "Flood relief", ["compassion"], relief_data())
    case = engine.fire(db.session, both, case.id, "submit", case.version)
    case = engine.fire(db.session, cast["hana"], case.id, "start_triage", case.version)
    r = score(api, both, case.id, ratings=RATINGS)
    assert r.status_code == 403 and "your own request" in r.get_json()["message"]
    assert db.session.scalars(select(Score)).all() == []


def test_a_request_past_triage_is_not_scored_any_more(api, cast, in_triage):
    # The CAO decides on the scores the officer recommended on: an officer scoring the request once it
    # is recommended would change the aggregate under the decision.
    version = score(api, cast["hana"], in_triage.id, ratings=RATINGS).get_json()["case_version"]
    engine.fire(db.session, cast["hana"], in_triage.id, "recommend", version,
                payload={"recommendation": "approve", "amount_granted": "10000.00"})
    r = score(api, cast["omar"], in_triage.id, ratings={criterion: 1 for criterion in RATINGS})
    assert (r.status_code, r.get_json()["error"]) == (409, "invalid_transition")
    assert [s.reviewer_id for s in db.session.scalars(select(Score))] == [cast["hana"].id]

def test_rescoring_replaces_the_reviewers_rating_and_the_trail_keeps_both(api, cast, in_triage):
    score(api, cast["hana"], in_triage.id, ratings=RATINGS)
    score(api, cast["hana"], in_triage.id, ratings={**RATINGS, "leverage": 0})
    items = api(cast["hana"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()["items"]
    assert len(items) == 1 and items[0]["ratings"]["leverage"] == 0
    events = db.session.scalars(select(AuditEvent.payload).where(AuditEvent.action == "score")
                            .order_by(AuditEvent.id)).all()
    assert [e["ratings"]["leverage"] for e in events] == [3, 0]


def test_reviewer_sees_others_only_after_scoring(api, cast, in_triage):
    score(api, cast["hana"], in_triage.id, ratings=RATINGS)
    before = api(cast["omar"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()
    assert before == {"items": [], "aggregate": UNSCORED}
    score(api, cast["omar"], in_triage.id, ratings=RATINGS)
    after = api(cast["omar"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()
    assert {i["reviewer"] for i in after["items"]} == {"hana", "omar"}
    # An approver who does not score sees everything.
    assert len(api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()["items"]) == 2


def test_a_reviewer_stays_blind_while_the_request_may_come_back_to_be_scored(api, cast, in_triage):
    # Asked for information, the request leaves triage for a while: omar, who has not scored, must
    # not read hana's review then and score after it once the request is back.
    score(api, cast["hana"], in_triage.id, ratings=RATINGS, comment="Strong local partner.")
    version = api(cast["hana"]).get(f"/api/v1/cases/{in_triage.id}").get_json()["version"]
    case = engine.fire(db.session, cast["hana"], in_triage.id, "request_info", version,
                       comment="Which channel will deliver it?")
    omar = api(cast["omar"])
    assert omar.get(f"/api/v1/cases/{case.id}/scores").get_json() == {"items": [], "aggregate": UNSCORED}
    assert omar.get(f"/api/v1/cases/{case.id}").get_json()["score"] is None
    history = omar.get(f"/api/v1/cases/{case.id}/history").get_json()["events"]
    assert [e["comment"] for e in history if e["action"] == "score"] == [None]
    # Once it has gone past scoring for good (recommended), whoever may read reviews reads them.
    case = engine.fire(db.session, cast["owner"], case.id, "provide_info", case.version)
    case = engine.fire(db.session, cast["hana"], case.id, "recommend", case.version, comment="Go ahead.",
                       payload={"recommendation": "approve", "amount_granted": "10000.00"})
    assert [i["reviewer"] for i in omar.get(f"/api/v1/cases/{case.id}/scores").get_json()["items"]] == ["hana"]


def _what_omar_sees(api, cast, case_id) -> dict:
    omar = api(cast["omar"])
    listed = omar.get("/api/v1/cases?workflow=relief").get_json()["items"]
    triage = omar.get("/api/v1/relief/triage").get_json()["items"]
    history = omar.get(f"/api/v1/cases/{case_id}/history").get_json()
    at = [i for i, e in enumerate(history["events"]) if e["action"] == "score" and e["actor"] == "hana"][0]
    review, after = history["events"][at], history["events"][at + 1]
    return {"case": omar.get(f"/api/v1/cases/{case_id}").get_json()["score"],
            "list": [c["score"] for c in listed if c["id"] == case_id][0],
            "triage": [c["score"] for c in triage if c["id"] == case_id][0],
            # Its hash, and every later one (which covers it through the chain), would let a search of
            # every rating find hana's.
            "review": (review["comment"], review["payload"], review["hash"] is None,
                       after["prev_hash"] is None and after["hash"] is None),
            "chain_valid": history["chain_valid"]}


def test_a_reviewer_who_has_not_scored_sees_no_other_review_anywhere(api, cast, in_triage):
    score(api, cast["hana"], in_triage.id, ratings=RATINGS, comment="Strong local partner.")
    engine.add_comment(db.session, cast["cao"], in_triage.id, "Please decide this week.")
    blind = _what_omar_sees(api, cast, in_triage.id)
    assert blind == {"case": None, "list": None, "triage": None, "review": (None, None, True, True),
                     "chain_valid": True}
    score(api, cast["omar"], in_triage.id, ratings={**RATINGS, "leverage": 0})
    seen = _what_omar_sees(api, cast, in_triage.id)
    assert seen["case"]["reviewers"] == seen["list"]["reviewers"] == seen["triage"]["reviewers"] == 2
    assert seen["review"][0] == "Strong local partner." and seen["review"][1]["ratings"]["leverage"] == 3
    assert seen["review"][2:] == (False, False)
    # Each review carries its own random salt, so that its hash cannot be searched for.
    salts = {e["payload"]["salt"] for e in api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}/history").get_json()[
        "events"] if e["action"] == "score"}
    assert len(salts) == 2 and all(len(s) == 32 for s in salts)
    # The approver, who does not score, saw them all along; so does the owner of the next step.
    cao = api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}/history").get_json()["events"]
    assert [e["comment"] for e in cao if e["action"] == "score"] == ["Strong local partner.", None]
    assert all(e["hash"] and e["prev_hash"] for e in cao)


def test_recused_review_is_left_out_and_spread_flags_disagreement(api, cast, in_triage):
    score(api, cast["hana"], in_triage.id, ratings=RATINGS)
    score(api, cast["omar"], in_triage.id, ratings={**RATINGS, "city_capability": 1})
    r = score(api, cast["ines"], in_triage.id, conflict="recused")
    assert r.status_code == 201 and r.get_json()["percent"] is None
    agg = api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()["aggregate"]
    assert agg["reviewers"] == 2
    assert agg["disagreement"] == ["city_capability"]
    # city_capability is the mean of 4 and 1 = 2.5: 385 - 20*4 + 20*2.5 = 355 of 500 -> 71.00%
    assert agg["percent"] == "71.00"
    case = api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}").get_json()
    assert case["score"]["percent"] == "71.00"


def test_when_every_reviewer_recused_there_is_no_figure_and_a_knock_out_still_decides(app, api, cast, in_triage):
    score(api, cast["hana"], in_triage.id, conflict="recused")
    agg = api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()["aggregate"]
    assert (agg["percent"], agg["reviewers"], agg["recommendation"]) == (None, 0, None)
    page = _web(app, cast["cao"]).get(f"/cases/{in_triage.id}").get_data(as_text=True)
    assert "None%" not in page and "No figure yet: every reviewer so far has recused" in page
    # A knock-out needs no rating to decide: an ineligible request says so with no one rating it.
    from workflows.scoring import aggregate_for

    case = db.session.get(type(in_triage), in_triage.id)
    case.data = {**case.data, "channel": None}
    failed = aggregate_for(case)
    assert failed["eligible"] is False and failed["recommendation"] == "ineligible"
    db.session.rollback()


def test_a_minimum_caps_the_recommendation_at_review(api, cast, in_triage):
    r = score(api, cast["hana"], in_triage.id, ratings={**RATINGS, "unmet_need": 1, "city_capability": 5})
    assert r.get_json()["recommendation"] == "review"


def test_old_score_keeps_its_figure_and_version_when_the_file_moves_on(app, api, cast, in_triage, tmp_path):
    first = score(api, cast["hana"], in_triage.id, ratings=RATINGS).get_json()
    folder = tmp_path / "criteria"
    shutil.copytree(Path(app.config["ACCORD_CRITERIA_DIR"]), folder)
    text = (folder / "relief.yaml").read_text()
    text = text.replace("version: 2", "version: 3", 1).replace("approve: 60", "approve: 80", 1)
    (folder / "relief.yaml").write_text(text)
    app.config["ACCORD_CRITERIA_DIR"] = str(folder)
    load_criteria(app)
    stored = api(cast["hana"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()["items"][0]
    assert (stored["percent"], stored["recommendation"], stored["criteria_version"]) == (
        first["percent"], "approve", 2)
    second = score(api, cast["omar"], in_triage.id, ratings=RATINGS).get_json()
    assert second["criteria_version"] == 3 and second["recommendation"] == "review"
    page = _web(app, cast["cao"]).get(f"/cases/{in_triage.id}").get_data(as_text=True)
    assert "made under criteria version 2" in page


def _criteria_moved_on(app, tmp_path, edit, workflow: str = "relief") -> None:
    """Load a copy of the criteria whose set of the workflow `edit` changed, as the office would edit it."""
    folder = tmp_path / "criteria"
    shutil.copytree(Path(app.config["ACCORD_CRITERIA_DIR"]), folder)
    (folder / f"{workflow}.yaml").write_text(edit((folder / f"{workflow}.yaml").read_text()))
    app.config["ACCORD_CRITERIA_DIR"] = str(folder)
    load_criteria(app)


def test_scores_under_an_earlier_version_keep_their_figure_but_do_not_count_under_the_new(app, api, cast, in_triage,
                                                                                         tmp_path):
    first = score(api, cast["hana"], in_triage.id, ratings={**RATINGS, "unmet_need": 5, "city_capability": 5}).get_json()
    # Version 2 rates on 0 to 3 and no longer has "recovery": a 5 read on it made more than 100%.
    def on_three_points(text: str) -> str:
        text = text.replace("version: 2", "version: 3", 1).replace("scale: {min: 0, max: 5}", "scale: {min: 0, max: 3}")
        text = text.replace("    min: 2\n", "").replace("rating: 4}", "rating: 3}").replace("rating: 5}", "rating: 3}")
        return text.split("  - id: recovery")[0] + "\nthresholds: {approve: 60, decline: 45}\n"

    _criteria_moved_on(app, tmp_path, on_three_points)
    body = api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()
    assert body["items"][0]["percent"] == first["percent"]  # kept as it was made
    agg = body["aggregate"]
    assert (agg["percent"], agg["reviewers"], agg["complete"], agg["outdated"]) == (None, 0, False, [2])
    refused = api(cast["hana"]).post(f"/api/v1/cases/{in_triage.id}/transitions", json={
        "trigger": "recommend", "version": api(cast["hana"]).get(f"/api/v1/cases/{in_triage.id}").get_json()["version"],
        "data": {"recommendation": "approve", "amount_granted": "20000.00"}})
    assert refused.status_code == 422 and "made under version 2 do not count" in refused.get_json()["message"]
    # The reviewer who scored under version 1 opens the page to score again: her old ratings are
    # shown where the criterion remains, and the one removed is left out (it was a 500).
    page = _web(app, cast["hana"]).get(f"/cases/{in_triage.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "No figure yet: no one has scored it under the criteria in force" in text
    assert "score-rating_recovery" not in text and '<input checked id="score-rating_leverage-3"' in text
    again = score(api, cast["hana"], in_triage.id, ratings={k: min(v, 3) for k, v in RATINGS.items() if k != "recovery"})
    assert again.status_code == 201 and again.get_json()["criteria_version"] == 3
    agg = api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()["aggregate"]
    assert agg["reviewers"] == 1 and agg["complete"] and agg["outdated"] == []
    assert float(agg["percent"]) <= 100


def _web(app, user):
    from tests.factories import TEST_PASSWORD

    client = app.test_client()
    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    return client


def test_scoring_form_on_the_case_page(app, cast, in_triage):
    client = _web(app, cast["hana"])
    page = client.get(f"/cases/{in_triage.id}").get_data(as_text=True)
    # The criterion's own group of ratings, named by its label (not just the word somewhere on the page).
    assert re.search(r'<legend>Unmet need <span class="muted">\(weight \d+', page)
    assert 'name="score-rating_unmet_need"' in page
    data = {"score-conflict": "none", **{f"score-rating_{k}": str(v) for k, v in RATINGS.items()}}
    r = client.post(f"/cases/{in_triage.id}/score", data=data, follow_redirects=True)
    assert r.status_code == 200 and "Your score has been recorded." in r.get_data(as_text=True)
    assert "77.00%" in r.get_data(as_text=True)
    # A comment too long is marked beside the field the summary leads to, not in the summary alone.
    r = client.post(f"/cases/{in_triage.id}/score", data={**data, "score-comment": "x" * 5001})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and [t for t, _ in error_summary(page)] == ["score-comment"]
    assert 'aria-describedby="score-comment-hint score-comment-error"' in page and 'id="score-comment-error"' in page


def test_a_score_comment_with_a_nul_is_refused_beside_its_field_and_the_ratings_kept(app, api, cast, in_triage):
    # The form checked the length alone: SQLite stored the NUL the API refuses, PostgreSQL answered 500.
    client = _web(app, cast["hana"])
    data = {"score-conflict": "none", **{f"score-rating_{k}": str(v) for k, v in RATINGS.items()},
            "score-comment": "Strong\x00case"}
    r = client.post(f"/cases/{in_triage.id}/score", data=data)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and [t for t, _ in error_summary(page)] == ["score-comment"]
    assert f'<input checked id="score-rating_unmet_need-{RATINGS["unmet_need"]}"' in page
    r = score(api, cast["hana"], in_triage.id, ratings=RATINGS, comment="Strong\x00case")
    assert r.status_code == 422 and "comment" in r.get_json()["errors"]
    assert not db.session.scalars(select(Score).where(Score.case_id == in_triage.id)).all()


def test_a_rating_sent_as_spaces_is_a_rating_not_given(app, cast, in_triage):
    # Optional() let it through as not given, and the page read it as a number: 500.
    client = _web(app, cast["hana"])
    for blank in (" ", "\t", "\u00a0"):
        data = {"score-conflict": "none", **{f"score-rating_{k}": str(v) for k, v in RATINGS.items()},
                "score-rating_unmet_need": blank}
        r = client.post(f"/cases/{in_triage.id}/score", data=data)
        assert r.status_code == 422, repr(blank)
        assert [t for t, _ in error_summary(r.get_data(as_text=True))] == ["score-rating_unmet_need-0"], repr(blank)
    assert not db.session.scalars(select(Score).where(Score.case_id == in_triage.id)).all()


def test_the_same_score_sent_twice_is_recorded_once(app, api, cast, in_triage):
    # A double click on "Submit score" put two score events on the trail (or, once another
    # reviewer had scored, refused the second as a change after reading theirs).
    client = _web(app, cast["hana"])
    data = {"score-conflict": "none", **{f"score-rating_{k}": str(v) for k, v in RATINGS.items()},
            "score-comment": "Strong case"}
    for _ in range(2):
        r = client.post(f"/cases/{in_triage.id}/score", data=data)
        assert r.status_code == 302
    assert score(api, cast["omar"], in_triage.id, ratings=RATINGS).status_code == 201
    assert score(api, cast["omar"], in_triage.id, ratings=RATINGS).status_code == 201
    actions = db.session.scalars(select(AuditEvent.actor_username).where(AuditEvent.case_id == in_triage.id,
                                                                         AuditEvent.action == "score")).all()
    assert sorted(actions) == ["hana", "omar"]
    # A score that differs is a new one, as before.
    assert score(api, cast["ines"], in_triage.id, ratings=RATINGS).status_code == 201
    assert score(api, cast["ines"], in_triage.id, ratings={**RATINGS, "unmet_need": 1}).status_code == 403


def test_the_case_page_says_what_a_recommendation_means_not_its_code(app, api, cast, in_triage):
    # "recommendation: review" left the reader to find on another page that it means the score
    # fell between the thresholds.
    middling = {criterion: 2 + n % 2 for n, criterion in enumerate(RATINGS)}  # between 45% and 60%
    assert score(api, cast["hana"], in_triage.id, ratings=middling).get_json()["recommendation"] == "review"
    page = " ".join(_web(app, cast["hana"]).get(f"/cases/{in_triage.id}").get_data(as_text=True).split())
    assert ("recommendation: <strong>needs a closer look (between the thresholds, or a criterion under its "
            "minimum)</strong>") in page
    assert "(review)" not in page and "<td>rated</td>" not in page and "<td>rated by reviewers</td>" in page


def test_the_score_form_shows_a_reviewers_own_ratings_again(app, api, cast, in_triage):
    from tests.factories import TEST_PASSWORD

    assert score(api, cast["hana"], in_triage.id, ratings=RATINGS, conflict="none").status_code == 201
    web = app.test_client()
    web.post("/login", data={"username": "hana", "password": TEST_PASSWORD})
    page = web.get(f"/cases/{in_triage.id}").get_data(as_text=True)
    for criterion, value in RATINGS.items():
        checked = [n for n in range(6) if f'<input checked id="score-rating_{criterion}-{n}"' in page]
        assert checked == [value], criterion  # exactly the rating given, once
    assert '<input checked id="score-conflict-0" name="score-conflict" required type="radio" value="none">' in page
    assert page.count('type="radio"') == 2 + 6 * len(RATINGS)


def test_a_score_is_a_change_so_a_step_on_the_version_before_it_is_stale(api, cast, in_triage):
    cao_before = api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}").get_json()
    assert score(api, cast["hana"], in_triage.id, ratings=RATINGS).status_code == 201
    case = api(cast["hana"]).get(f"/api/v1/cases/{in_triage.id}").get_json()
    assert case["version"] == cao_before["version"] + 1 and case["updated_at"] >= cao_before["updated_at"]
    proposal = {"recommendation": "approve", "amount_granted": "20000.00"}
    stale = api(cast["hana"]).post(f"/api/v1/cases/{in_triage.id}/transitions", json={
        "trigger": "recommend", "version": cao_before["version"], "data": proposal})
    assert stale.status_code == 409 and "reload" in stale.get_json()["message"]
    assert api(cast["hana"]).get(f"/api/v1/cases/{in_triage.id}").get_json()["version"] == case["version"]
    fresh = api(cast["hana"]).post(f"/api/v1/cases/{in_triage.id}/transitions", json={
        "trigger": "recommend", "version": case["version"], "data": proposal})
    assert fresh.status_code == 200 and fresh.get_json()["state"] == "recommended"


def test_reviewers_three_points_apart_flag_the_case_for_all_who_may_see_the_reviews(app, api, cast, in_triage):
    score(api, cast["hana"], in_triage.id, ratings=RATINGS)
    assert "reviewers_disagree" not in api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}").get_json()["flags"]
    score(api, cast["omar"], in_triage.id, ratings={**RATINGS, "city_capability": 1})

    def flags(user) -> dict:
        client = api(user)
        listed = client.get("/api/v1/cases?workflow=relief").get_json()["items"]
        seen = {"case": client.get(f"/api/v1/cases/{in_triage.id}").get_json()["flags"],
                "list": [c["flags"] for c in listed if c["id"] == in_triage.id][0]}
        if user.has_role("hco"):  # the triage queue is the Healthy City Office's
            triage = client.get("/api/v1/relief/triage").get_json()["items"]
            seen["triage"] = [c["flags"] for c in triage if c["id"] == in_triage.id][0]
        return seen

    assert flags(cast["cao"]) == {"case": ["reviewers_disagree"], "list": ["reviewers_disagree"]}
    assert flags(cast["hana"]) == {k: ["reviewers_disagree"] for k in ("case", "list", "triage")}
    # Ines has not reviewed yet: the flag would tell her how the others rated.
    assert flags(cast["ines"]) == {"case": [], "list": [], "triage": []}
    web = app.test_client()
    assert web.post("/login", data={"username": "hana", "password": TEST_PASSWORD}).status_code == 302
    for page in (f"/cases/{in_triage.id}", "/relief/triage", "/"):
        assert "reviewers disagree" in web.get(page).get_data(as_text=True), page
    # In the breakdown, the criterion they disagree on says so in words, not only by the row's colour.
    assert ('<th scope="row">City capability <span class="badge badge-warn">reviewers disagree</span></th>'
            in web.get(f"/cases/{in_triage.id}").get_data(as_text=True))
    web.post("/logout")
    assert web.post("/login", data={"username": "ines", "password": TEST_PASSWORD}).status_code == 302
    assert "reviewers disagree" not in web.get("/relief/triage").get_data(as_text=True)


def test_a_reviewer_who_declared_a_conflict_does_not_rate_afterwards(app, api, cast, in_triage):
    score(api, cast["hana"], in_triage.id, ratings=RATINGS)
    assert score(api, cast["ines"], in_triage.id, conflict="recused").status_code == 201
    # Recused, Ines sees Hana's review; she may not then rate the request with it in mind.
    assert len(api(cast["ines"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()["items"]) == 2
    version = api(cast["ines"]).get(f"/api/v1/cases/{in_triage.id}").get_json()["version"]
    r = score(api, cast["ines"], in_triage.id, ratings=RATINGS)
    assert r.status_code == 403 and "conflict of interest" in r.get_json()["message"]
    assert api(cast["ines"]).get(f"/api/v1/cases/{in_triage.id}").get_json()["version"] == version
    items = api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()["items"]
    assert {(i["reviewer"], i["conflict"]) for i in items} == {("hana", "none"), ("ines", "recused")}
    web = app.test_client()
    assert web.post("/login", data={"username": "ines", "password": TEST_PASSWORD}).status_code == 302
    page = web.get(f"/cases/{in_triage.id}").get_data(as_text=True)
    assert "You declared a conflict of interest on this request" in page and "Submit score" not in page


def test_a_refused_score_keeps_what_the_reviewer_entered_and_marks_what_is_missing(app, cast, in_triage):
    # The page used to come back with an empty form: seven groups to find and redo from memory.
    client = _web(app, cast["hana"])
    data = {"score-conflict": "none", "score-rating_unmet_need": "4", "score-comment": "Strong local partner."}
    r = client.post(f"/cases/{in_triage.id}/score", data=data)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert '<input checked id="score-rating_unmet_need-4"' in page and "Strong local partner." in page
    assert page.count('class="has-error"') == len(RATINGS) - 1
    assert 'aria-describedby="score-rating_city_capability-help score-rating_city_capability-scale ' \
           'score-rating_city_capability-error"' in page
    assert '<p class="error-text" id="score-rating_city_capability-error">' in page
    assert "city_capability: required" not in page  # the message names the criteria by their labels
    assert ("score-rating_city_capability-0",
            "City capability: Rate it from 0 to 5, or declare a conflict of interest.") in error_summary(page)
    # Each button says what its point means, as a screen reader reads it: not a bare digit.
    assert '<label for="score-rating_city_capability-3">3 good</label>' in page
    assert '<label for="score-rating_city_capability-0">0 not addressed</label>' in page


def test_the_score_form_explains_the_scale_the_office_set(app, cast, in_triage, tmp_path):
    # The words of the default 0 to 5 scale were printed whatever scale the criteria file set.
    page = _web(app, cast["hana"]).get(f"/cases/{in_triage.id}").get_data(as_text=True)
    assert "0 not addressed · 1 poor · 2 fair · 3 good · 4 very good · 5 excellent" in page
    folder = tmp_path / "criteria"
    shutil.copytree(Path(app.config["ACCORD_CRITERIA_DIR"]), folder)
    text = (folder / "relief.yaml").read_text()
    (folder / "relief.yaml").write_text(text.replace("scale: {min: 0, max: 5}", "scale: {min: 1, max: 10}", 1))
    app.config["ACCORD_CRITERIA_DIR"] = str(folder)
    load_criteria(app)
    page = _web(app, cast["hana"]).get(f"/cases/{in_triage.id}").get_data(as_text=True)
    assert "1 is the lowest rating and 10 the highest" in page and "excellent" not in page
    assert 'value="10"> <label' in page and 'value="0"> <label' not in page
    assert '<label for="score-rating_city_capability-9">10 highest</label>' in page


def test_an_officer_who_recused_takes_no_decision_on_the_request(app, api, cast, in_triage):
    # Recusing only left her review out: she could still recommend (with the amount) or screen out.
    assert score(api, cast["hana"], in_triage.id, conflict="recused").status_code == 201
    assert score(api, cast["omar"], in_triage.id, ratings=RATINGS).status_code == 201
    hana, omar = api(cast["hana"]), api(cast["omar"])
    case = hana.get(f"/api/v1/cases/{in_triage.id}").get_json()
    assert case["allowed_transitions"] == []
    assert omar.get(f"/api/v1/cases/{in_triage.id}").get_json()["allowed_transitions"] == [
        "request_info", "recommend", "decline"]
    listed = [c for c in hana.get("/api/v1/cases?workflow=relief").get_json()["items"] if c["id"] == in_triage.id]
    assert listed[0]["allowed_transitions"] == []
    events = db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    for trigger, extra in [("recommend", {"data": {"recommendation": "approve", "amount_granted": "20000.00"}}),
                           ("decline", {"comment": "Screened out"}), ("request_info", {"comment": "Which NGO?"})]:
        r = hana.post(f"/api/v1/cases/{in_triage.id}/transitions",
                      json={"trigger": trigger, "version": case["version"], **extra})
        assert r.status_code == 403 and "conflict of interest" in r.get_json()["message"], trigger
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent)) == events
    page = _web(app, cast["hana"]).get(f"/cases/{in_triage.id}").get_data(as_text=True)
    assert "/actions/recommend" not in page and "/actions/decline" not in page
    r = omar.post(f"/api/v1/cases/{in_triage.id}/transitions", json={
        "trigger": "recommend", "version": case["version"],
        "data": {"recommendation": "approve", "amount_granted": "20000.00"}})
    assert r.status_code == 200 and r.get_json()["state"] == "recommended"


def test_what_a_list_offers_an_officer_costs_no_query_per_request(app, api, cast):
    from tests.factories import counted

    def cases_in_triage(n: int) -> None:
        for _ in range(n):
            case = engine.create_case(db.session, cast["owner"], "relief", "Flood relief", ["compassion"], relief_data())
            case = engine.fire(db.session, cast["owner"], case.id, "submit", case.version)
            engine.fire(db.session, cast["hana"], case.id, "start_triage", case.version)

    client, web, other = api(cast["hana"]), _web(app, cast["hana"]), _web(app, cast["omar"])

    def count() -> tuple[int, int]:
        client.get("/api/v1/cases?workflow=relief")
        with counted() as statements:
            items = client.get("/api/v1/cases?workflow=relief").get_json()["items"]
        # (Recommending waits for a complete score: each case's scores are read with the list's.)
        assert all(c["allowed_transitions"] == ["request_info", "decline"] for c in items)
        listed = len(statements)
        web.get("/")
        with counted() as statements:  # the dashboard's "awaiting my action" applies the same rules
            assert web.get("/").get_data(as_text=True).count("Flood relief") == len(items)
        # Another officer's: the requests hana took up wait for her, which reads who she is once.
        other.get("/")
        with counted() as others:
            assert "Flood relief" not in other.get("/").get_data(as_text=True)
        return listed, len(statements), len(others)

    cases_in_triage(2)
    few = count()
    cases_in_triage(6)
    assert count() == few


def test_before_any_score_the_aggregate_gives_the_knock_outs_the_request_alone_decides(api, cast, in_triage):
    # The aggregate was null until someone scored: a script reading aggregate["eligible"] failed,
    # though a knock-out reads only the request (here a disaster said to be over a year ago).
    case = db.session.get(type(in_triage), in_triage.id)
    old = api(cast["cao"]).get(f"/api/v1/cases/{case.id}/scores").get_json()
    assert old == {"items": [], "aggregate": UNSCORED}
    case.data = {**case.data, "disaster_date": "2020-01-01"}
    db.session.commit()
    aggregate = api(cast["cao"]).get(f"/api/v1/cases/{case.id}/scores").get_json()["aggregate"]
    assert aggregate["eligible"] is False and aggregate["percent"] is None and len(aggregate["reasons"]) == 1


def test_a_reviewer_who_has_read_the_others_keeps_their_score(api, cast, in_triage):
    # Blind review was undone by scoring anything, reading the others' ratings, and scoring again
    # to agree with them: the flag of disagreement went, and the aggregate moved.
    assert score(api, cast["omar"], in_triage.id, ratings={**RATINGS, "city_capability": 1}).status_code == 201
    assert score(api, cast["omar"], in_triage.id, ratings={**RATINGS, "city_capability": 2}).status_code == 201  # alone
    assert score(api, cast["hana"], in_triage.id, ratings=RATINGS).status_code == 201
    before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    r = score(api, cast["hana"], in_triage.id, ratings={**RATINGS, "city_capability": 2})
    assert r.status_code == 403 and "your score stands" in r.get_json()["message"]
    assert score(api, cast["omar"], in_triage.id, ratings=RATINGS).status_code == 403
    assert db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) == before
    items = api(cast["cao"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()["items"]
    assert {i["reviewer"]: i["ratings"]["city_capability"] for i in items} == {"omar": 2, "hana": RATINGS["city_capability"]}


def test_the_case_page_offers_no_form_to_a_reviewer_whose_score_stands(app, api, cast, in_triage):
    score(api, cast["omar"], in_triage.id, ratings=RATINGS)
    score(api, cast["hana"], in_triage.id, ratings=RATINGS)
    web = app.test_client()
    assert web.post("/login", data={"username": "hana", "password": TEST_PASSWORD}).status_code == 302
    page = web.get(f"/cases/{in_triage.id}").get_data(as_text=True)
    assert 'class="score-form"' not in page and "so your score stands" in page


def test_a_score_under_earlier_criteria_does_not_open_the_new_reviews(app, api, cast, in_triage, tmp_path):
    # Hana's score under version 1 no longer counts; it let her read Omar's under version 2 before
    # making hers, and then agree with him.
    score(api, cast["hana"], in_triage.id, ratings=RATINGS)
    _criteria_moved_on(app, tmp_path, lambda t: t.replace("version: 2", "version: 3", 1))
    assert score(api, cast["omar"], in_triage.id, ratings={**RATINGS, "city_capability": 1}).status_code == 201
    seen = api(cast["hana"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()["items"]
    assert [(i["reviewer"], i["criteria_version"]) for i in seen] == [("hana", 2)]  # her own, not his
    history = api(cast["hana"]).get(f"/api/v1/cases/{in_triage.id}/history").get_json()["events"]
    assert [e["payload"] is not None for e in history if e["action"] == "score"] == [True, False]
    page = _web(app, cast["hana"]).get(f"/cases/{in_triage.id}").get_data(as_text=True)
    assert "1 other review will be shown once you have scored under the criteria in force." in page
    assert "No figure yet: your score was made under other criteria" in page and "no one has scored it" not in page
    assert "Omar" not in page.split('id="scoring-h"')[1].split("</section>")[0]
    # Scored under version 2, she reads his.
    assert score(api, cast["hana"], in_triage.id, ratings=RATINGS).status_code == 201
    seen = api(cast["hana"]).get(f"/api/v1/cases/{in_triage.id}/scores").get_json()["items"]
    assert sorted(i["reviewer"] for i in seen) == ["hana", "omar"]


def test_a_set_of_computed_criteria_alone_scores_with_its_figure(app, api, cast, in_triage, tmp_path):
    def only_computed(text):
        head = text.split("  - id: unmet_need", 1)[0]
        return head.replace("version: 2", "version: 3", 1).replace("    min: 2\n", "") + \
            "\nthresholds: {approve: 60, decline: 45}\n"
    _criteria_moved_on(app, tmp_path, only_computed)
    r = score(api, cast["hana"], in_triage.id, ratings={})
    assert r.status_code == 201, r.get_json()
    stored = r.get_json()
    assert (stored["percent"], stored["recommendation"], stored["computed"]) == ("80.00", "approve", {"severity": 4})


def test_a_set_changed_without_a_new_version_is_named_so_not_as_itself(app, api, cast, in_triage, tmp_path):
    # The office mends a help text and restarts without running `flask criteria check`: the score
    # made before no longer counts, and the refusal read "The scores made under version 1 do not
    # count: the criteria in force are version 1."
    score(api, cast["hana"], in_triage.id, ratings=RATINGS)
    _criteria_moved_on(app, tmp_path, lambda t: t.replace("one-off goods", "one-time goods"))
    refused = api(cast["hana"]).post(f"/api/v1/cases/{in_triage.id}/transitions", json={
        "trigger": "recommend", "version": api(cast["hana"]).get(f"/api/v1/cases/{in_triage.id}").get_json()["version"],
        "data": {"recommendation": "approve", "amount_granted": "20000.00"}})
    assert refused.status_code == 422
    assert ("The scores made under an earlier edition of version 2 (its file was changed without a new version) do "
            "not count: the criteria in force are version 2.") in refused.get_json()["message"]
    page = " ".join(_web(app, cast["cao"]).get(f"/cases/{in_triage.id}").get_data(as_text=True).split())
    assert ("Some scores were made under criteria other than these (an earlier edition of version 2 (its file was "
            "changed without a new version));") in page


def test_the_requester_reads_the_reviews_with_the_decision_not_while_they_are_weighed(api, cast, in_triage, browse):
    # A reviewer's comment is written for colleagues; the requester read it, and every rating, as
    # soon as it was made, before an officer who had not scored yet could.
    remark = "The channel's director is the mayor's brother."
    form = browse(cast["hana"]).get(f"/cases/{in_triage.id}").get_data(as_text=True)  # (the reviewer is told)
    assert 'aria-describedby="score-comment-hint"' in form and "by the requester once the request is decided" in form
    score(api, cast["hana"], in_triage.id, ratings=RATINGS, comment=remark)
    owner = api(cast["owner"])

    def seen() -> dict:
        history = owner.get(f"/api/v1/cases/{in_triage.id}/history").get_json()["events"]
        [review] = [e for e in history if e["action"] == "score"]
        return {"scores": owner.get(f"/api/v1/cases/{in_triage.id}/scores").get_json(),
                "case": owner.get(f"/api/v1/cases/{in_triage.id}").get_json()["score"],
                "list": [c["score"] for c in owner.get("/api/v1/cases").get_json()["items"]],
                "review": (review["comment"], "ratings" in (review.get("payload") or {})),
                "page": browse(cast["owner"]).get(f"/cases/{in_triage.id}").get_data(as_text=True)}

    hidden = seen()
    assert hidden["scores"] == {"items": [], "aggregate": UNSCORED}
    assert hidden["case"] is None and hidden["list"] == [None] and hidden["review"] == (None, False)
    assert html.unescape(remark) not in html.unescape(hidden["page"]) and "77.00" not in hidden["page"]
    assert "1 review will be shown once the request is decided." in hidden["page"]
    assert "Reviews of your request show once it is decided." in hidden["page"]

    version = api(cast["hana"]).get(f"/api/v1/cases/{in_triage.id}").get_json()["version"]
    case = engine.fire(db.session, cast["hana"], in_triage.id, "recommend", version,
                       payload={"recommendation": "approve", "amount_granted": "10000.00"})
    assert seen()["scores"]["items"] == []  # (recommended: the CAO weighs it still)
    engine.fire(db.session, cast["cao"], case.id, "approve", case.version)
    shown = seen()
    assert [(i["reviewer"], i["percent"]) for i in shown["scores"]["items"]] == [("hana", "77.00")]
    assert shown["case"]["percent"] == "77.00" and shown["review"] == (remark, True)
    assert remark in html.unescape(shown["page"])


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


@pytest.mark.parametrize("tamper, fault", [
    # A reviewer's ratings lowered in the database: the aggregate, the recommendation and the score
    # a decision keeps would read them, while every chain verified.
    ("UPDATE scores SET ratings = :zeros, percent = 0 WHERE id = :id", "(ratings, percent): it was changed"),
    ("UPDATE scores SET conflict = 'recused' WHERE id = :id", "(conflict): it was changed"),
    ("UPDATE scores SET comment = 'Weak case' WHERE id = :id", "(comment): it was changed"),
    ("UPDATE scores SET current = false WHERE id = :id", "(current): it was changed"),
    ("DELETE FROM scores WHERE id = :id", "is gone: it was deleted outside Accord"),
    ("INSERT INTO scores (case_id, reviewer_id, conflict, ratings, computed, percent, recommendation, current, "
     "criteria_version, criteria_hash, created_at) SELECT case_id, reviewer_id, conflict, :zeros, computed, 0, "
     "'decline', current, criteria_version, criteria_hash, created_at FROM scores WHERE id = :id",
     "is recorded by no event of the case by its reviewer: it was added or moved outside Accord"),
])
def test_a_score_changed_in_the_database_is_named_by_verify(app, api, cast, in_triage, tamper, fault):
    assert score(api, cast["hana"], in_triage.id, ratings=RATINGS, comment="Strong case").status_code == 201
    assert score(api, cast["omar"], in_triage.id, ratings=RATINGS).status_code == 201
    hanas = db.session.scalar(select(Score.id).where(Score.reviewer_id == cast["hana"].id))
    assert _verify(app).exit_code == 0
    zeros = {key: 0 for key in RATINGS}
    db.session.execute(text(tamper), {"id": hanas, "zeros": json.dumps(zeros)})
    db.session.commit()
    result = _verify(app)
    assert result.exit_code == 1, result.output
    assert f"chain case:{in_triage.id}" in result.output and fault in result.output


def test_a_reviewer_who_scored_again_still_verifies(app, api, cast, in_triage):
    # The superseded score stays, no longer current: what verify expects of a reviewer's earlier score.
    assert score(api, cast["hana"], in_triage.id, ratings=RATINGS).status_code == 201
    assert score(api, cast["hana"], in_triage.id, ratings={**RATINGS, "unmet_need": 1}).status_code == 201
    assert db.session.scalar(select(func.count()).select_from(Score)) == 2
    result = _verify(app)
    assert result.exit_code == 0, result.output
