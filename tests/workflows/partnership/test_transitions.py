"""Every row of the partnership table (product.md §3.3) through the API: each transition
allowed to the right person, and refused to others, each refusal changing nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Case, Partnership
from tests.workflows.partnership.conftest import DECISION, RATINGS, entry, fire, new, revival, snapshot
from workflows.partnership.inventory import create_entry

# state, actor, trigger, body, destination
ALLOWED = [
    ("draft", "owner", "submit", {}, "submitted"),
    ("submitted", "hana", "start_review", {}, "under_review"),
    ("under_review", "omar", "request_revision", {"comment": "Name the community partners."}, "revision_requested"),
    ("revision_requested", "owner", "resubmit", {"data": {"rationale": "Now with the Brazilian community."}},
     "under_review"),
    ("revision_requested", "owner", "resubmit", {}, "under_review"),
    ("committee_review", "pat", "defer", {"comment": "Await FCM.", "data": DECISION}, "deferred"),
    ("deferred", "pat", "reconsider", {}, "committee_review"),
    ("committee_review", "pat", "approve", {"data": DECISION}, "council_review"),
    ("committee_review", "pat", "approve", {}, "council_review"),
    ("committee_review", "pat", "decline", {"comment": "Not this term.", "data": DECISION}, "declined"),
    ("council_review", "jordan", "approve", {"data": DECISION}, "adopted"),
    ("council_review", "jordan", "decline", {"comment": "No budget."}, "declined"),
    ("draft", "owner", "withdraw", {}, "withdrawn"),
    ("submitted", "owner", "withdraw", {}, "withdrawn"),
    ("under_review", "owner", "withdraw", {}, "withdrawn"),
    ("revision_requested", "owner", "withdraw", {}, "withdrawn"),
]


@pytest.mark.parametrize("state, who, trigger, body, dest", ALLOWED)
def test_allowed(api, people, make_case, state, who, trigger, body, dest):
    case = make_case(state)
    version = case.version
    actor = people["chen" if who == "owner" else who]
    r = fire(api(actor), case.id, trigger, version, **body)
    assert r.status_code == 200, r.get_json()
    result = r.get_json()
    assert result["state"] == dest
    assert result["version"] == version + 1


# state, actor, trigger, body, status, error code
REFUSED = [
    # submit: only the owner; a complete proposal; a revival of a dormant or completed entry.
    ("draft", "hana", "submit", {}, 403, "forbidden"),
    ("draft", "rossi", "submit", {}, 404, "not_found"),
    ("submitted", "owner", "submit", {}, 409, "invalid_transition"),
    # start_review: hco only, never the owner.
    ("submitted", "pat", "start_review", {}, 403, "forbidden"),
    ("submitted", "owner", "start_review", {}, 403, "forbidden"),
    ("draft", "hana", "start_review", {}, 409, "invalid_transition"),
    ("under_review", "hana", "start_review", {}, 409, "invalid_transition"),
    # request_revision: hco, with a comment.
    ("under_review", "hana", "request_revision", {}, 422, "validation_failed"),
    ("under_review", "hana", "request_revision", {"comment": "   "}, 422, "validation_failed"),
    ("under_review", "jordan", "request_revision", {"comment": "x"}, 403, "forbidden"),
    ("submitted", "hana", "request_revision", {"comment": "x"}, 409, "invalid_transition"),
    # resubmit: the owner, with valid data.
    ("revision_requested", "hana", "resubmit", {}, 403, "forbidden"),
    ("revision_requested", "owner", "resubmit", {"data": {"city_contribution": "12.345"}}, 422, "validation_failed"),
    ("revision_requested", "owner", "resubmit", {"data": {"focus_areas": []}}, 422, "validation_failed"),
    ("under_review", "owner", "resubmit", {}, 409, "invalid_transition"),
    # recommend: hco, after a complete score.
    ("submitted", "hana", "recommend", {}, 409, "invalid_transition"),
    ("committee_review", "hana", "recommend", {}, 409, "invalid_transition"),
    # defer: committee, with a comment; the decision fields valid.
    ("committee_review", "pat", "defer", {}, 422, "validation_failed"),
    ("committee_review", "pat", "defer", {"comment": "x", "data": {"meeting_reference": "PF13 item 5"}},
     422, "validation_failed"),
    ("committee_review", "pat", "defer", {"comment": "x", "data": {"votes_for": -1}}, 422, "validation_failed"),
    ("committee_review", "pat", "defer", {"comment": "x", "data": {"interests_declared": "Ana"}},
     422, "validation_failed"),
    ("committee_review", "hana", "defer", {"comment": "x"}, 403, "forbidden"),
    ("committee_review", "jordan", "defer", {"comment": "x"}, 403, "forbidden"),
    ("council_review", "pat", "defer", {"comment": "x"}, 409, "invalid_transition"),
    # reconsider: committee.
    ("deferred", "jordan", "reconsider", {}, 403, "forbidden"),
    ("deferred", "owner", "reconsider", {}, 403, "forbidden"),
    ("committee_review", "pat", "reconsider", {}, 409, "invalid_transition"),
    # approve at committee: committee only; Council cannot skip the committee.
    ("committee_review", "jordan", "approve", {}, 403, "forbidden"),
    ("committee_review", "hana", "approve", {}, 403, "forbidden"),
    ("committee_review", "pat", "approve", {"data": {"votes_against": "many"}}, 422, "validation_failed"),
    ("deferred", "pat", "approve", {}, 409, "invalid_transition"),
    # decline at committee: committee, with a comment.
    ("committee_review", "pat", "decline", {}, 422, "validation_failed"),
    ("committee_review", "jordan", "decline", {"comment": "x"}, 403, "forbidden"),
    # approve at Council (adoption): council only.
    ("council_review", "pat", "approve", {}, 403, "forbidden"),
    ("council_review", "cao", "approve", {}, 403, "forbidden"),
    ("council_review", "jordan", "approve", {"data": {"motion": "x\x00"}}, 422, "validation_failed"),
    ("adopted", "jordan", "approve", {}, 409, "invalid_transition"),
    # decline at Council: council, with a comment.
    ("council_review", "jordan", "decline", {}, 422, "validation_failed"),
    ("council_review", "pat", "decline", {"comment": "x"}, 403, "forbidden"),
    # withdraw: the owner, before the committee.
    ("committee_review", "owner", "withdraw", {}, 409, "invalid_transition"),
    ("adopted", "owner", "withdraw", {}, 409, "invalid_transition"),
    ("submitted", "hana", "withdraw", {}, 403, "forbidden"),
    ("declined", "owner", "resubmit", {}, 409, "invalid_transition"),
    ("withdrawn", "owner", "submit", {}, 409, "invalid_transition"),
]


@pytest.mark.parametrize("state, who, trigger, body, status, code", REFUSED)
def test_refused_and_nothing_changes(api, people, make_case, state, who, trigger, body, status, code):
    case = make_case(state)
    before = snapshot(case.id)
    actor = people["chen" if who == "owner" else who]
    r = fire(api(actor), case.id, trigger, case.version, **body)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"] == code
    assert r.get_json()["message"]
    assert snapshot(case.id) == before


def test_stale_version_is_refused(api, people, make_case):
    case = make_case("committee_review")
    before = snapshot(case.id)
    r = fire(api(people["pat"]), case.id, "approve", case.version - 1)
    assert r.status_code == 409 and r.get_json()["error"] == "stale_version"
    assert snapshot(case.id) == before


def test_start_review_makes_the_reviewer_the_assignee(api, people, make_case):
    case = make_case("submitted")
    body = fire(api(people["hana"]), case.id, "start_review", case.version).get_json()
    assert body["assignee"]["username"] == "hana.hco"


def test_resubmit_merges_the_updated_data(api, people, make_case):
    case = make_case("revision_requested")
    r = fire(api(people["chen"]), case.id, "resubmit", case.version, data={"duration_months": 36})
    assert r.get_json()["data"]["duration_months"] == 36
    assert r.get_json()["data"]["rationale"] == revival()["rationale"]


def _guard_refusal(api, actor, case, trigger, guard, field, **body):
    before = snapshot(case.id)
    r = fire(api(actor), case.id, trigger, case.version, **body)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["guard"] == guard
    if field:
        assert field in r.get_json()["errors"]["data"]
    assert snapshot(case.id) == before
    return r.get_json()


def test_submit_refuses_an_incomplete_proposal_naming_each_field(api, people, make_case):
    case = make_case("draft", data={"proposal_type": "revival", "partner_city": "Sao Paulo"})
    body = _guard_refusal(api, people["chen"], case, "submit", "proposal_complete", "partnership_id")
    assert {"rationale", "focus_areas", "city_contribution", "sponsor_organization"} <= set(body["errors"]["data"])


@pytest.mark.parametrize("city", ["Soyapango", "Botswana"])
def test_submit_refuses_a_revival_of_an_entry_neither_dormant_nor_completed(api, people, make_case, city):
    case = make_case("draft", data=revival(city))
    _guard_refusal(api, people["chen"], case, "submit", "names_inventory_entry", "partnership_id")


def test_submit_refuses_a_revival_of_no_entry(api, people, make_case):
    case = make_case("draft", data=revival(partnership_id=9999))
    _guard_refusal(api, people["chen"], case, "submit", "names_inventory_entry", "partnership_id")


@pytest.mark.parametrize("pid", [2**31, 2**63])
def test_an_id_beyond_any_row_is_refused_when_the_proposal_is_written(api, people, pid):
    # (On PostgreSQL, 2**31 once passed as a draft and made its submit fail with a 500.)
    r = api(people["chen"]).post("/api/v1/cases", json={"workflow": "partnership", "title": "Revive",
                                                         "goals": ["democracy"], "data": revival(partnership_id=pid)})
    assert r.status_code == 422 and "partnership_id" in r.get_json()["errors"]["data"]


def test_a_focus_area_named_twice_is_refused_naming_it(api, people, make_case):
    # Council's adoption copies the list into the inventory: it read "Housing; housing".
    r = api(people["chen"]).post("/api/v1/cases", json={
        "workflow": "partnership", "title": "New", "goals": ["democracy"],
        "data": new(focus_areas=["Housing", "Waste management", " housing "])})
    assert r.status_code == 422
    assert r.get_json()["errors"]["data"]["focus_areas"] == ["Name each focus area once: \u201chousing\u201d is given twice."]
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_submit_refuses_a_revival_whose_city_is_not_the_entry(api, people, make_case):
    case = make_case("draft", data=revival(partner_city="Rio de Janeiro"))
    _guard_refusal(api, people["chen"], case, "submit", "names_inventory_entry", "partner_city")


def test_submit_refuses_a_new_proposal_duplicating_an_active_partnership(api, people, make_case):
    case = make_case("draft", data=new("soyapango", "El Salvador"))
    body = _guard_refusal(api, people["chen"], case, "submit", "not_a_duplicate", "partner_city")
    assert "Soyapango" in body["message"]


def test_a_new_proposal_may_follow_a_completed_partnership(api, people, make_case):
    case = make_case("draft", data=new("Cape Town", "South Africa"))
    assert fire(api(people["chen"]), case.id, "submit", case.version).status_code == 200


def test_a_new_proposal_may_name_only_a_prospective_entry(api, people, make_case):
    case = make_case("draft", data=new("Nanjing", "China", partnership_id=entry("Nanjing").id))
    _guard_refusal(api, people["chen"], case, "submit", "names_inventory_entry", "partnership_id")


def test_resubmit_checks_the_guards_again(api, people, make_case):
    case = make_case("revision_requested")
    _guard_refusal(api, people["chen"], case, "resubmit", "names_inventory_entry", "partnership_id",
                   data={"partnership_id": entry("Soyapango").id, "partner_city": "Soyapango"})


def test_recommend_needs_a_complete_score(api, people, make_case):
    case = make_case("under_review")
    _guard_refusal(api, people["hana"], case, "recommend", "has_complete_score", None)


def test_recommend_after_a_score_goes_to_committee(api, people, make_case):
    from workflows.scoring import submit_score
    from tests.workflows.partnership.conftest import RATINGS

    case = make_case("under_review")
    submit_score(db.session, people["omar"], case.id, RATINGS)
    # Reviewers recommend: Hana, who has not scored it, reads no review of it, and recommended it blind.
    assert "recommend" not in api(people["hana"]).get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"]
    _guard_refusal(api, people["hana"], case, "recommend", "scored_by_recommender", None)
    submit_score(db.session, people["hana"], case.id, RATINGS)
    r = fire(api(people["hana"]), case.id, "recommend", db.session.get(Case, case.id).version)
    assert r.status_code == 200 and r.get_json()["state"] == "committee_review"


def test_adoption_refused_when_the_entry_was_revived_meanwhile(api, people, make_case):
    case = make_case("council_review")
    other = make_case("adopted", owner="rossi", title="Sao Paulo again")
    assert entry("Sao Paulo").status == "active" and other.state == "adopted"
    _guard_refusal(api, people["jordan"], case, "approve", "names_inventory_entry", "partnership_id")


def test_council_is_not_offered_an_adoption_the_inventory_now_rules_out_and_is_told_why(api, browse, people,
                                                                                         make_case):
    # Council was offered "Adopt", and taking it answered "A revival must name a dormant or
    # completed partnership": a field Council cannot mend.
    case = make_case("council_review")
    assert "approve" in api(people["jordan"]).get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"]
    make_case("adopted", owner="rossi", title="Sao Paulo again")
    body = api(people["jordan"]).get(f"/api/v1/cases/{case.id}").get_json()
    assert body["allowed_transitions"] == ["decline"]
    page = browse(people["jordan"]).get(f"/cases/{case.id}").get_data(as_text=True)
    assert "/actions/approve" not in page and 'value="approve"' not in page  # (nor as the decision's outcome)
    assert "/actions/decline" in page and "The inventory changed since the proposal was checked" in page
    # Who can mend it is named: administrators keep the inventory, not the Healthy City Office.
    assert "or ask an administrator (who keeps the inventory) to correct it." in page


def test_adoption_refused_when_an_active_partnership_with_the_city_appeared(api, people, make_case):
    case = make_case("council_review", data=new("Cape Town", "South Africa"))
    make_case("adopted", data=new("Cape Town", "South Africa"), owner="rossi", title="Cape Town too")
    _guard_refusal(api, people["jordan"], case, "approve", "not_a_duplicate", "partner_city")


def test_every_state_and_trigger_is_declared(api, people):
    wf = api(people["chen"]).get("/api/v1/workflows/partnership").get_json()
    assert wf["states"] == ["draft", "submitted", "under_review", "revision_requested", "committee_review",
                            "deferred", "council_review", "adopted", "declined", "withdrawn"]
    rows = {(t["trigger"], tuple(t["source"]), t["dest"], tuple(t["roles"]), t["comment_required"])
            for t in wf["transitions"]}
    assert rows == {
        ("submit", ("draft",), "submitted", ("owner",), False),
        ("start_review", ("submitted",), "under_review", ("hco",), False),
        ("request_revision", ("under_review",), "revision_requested", ("hco",), True),
        ("resubmit", ("revision_requested",), "under_review", ("owner",), False),
        ("recommend", ("under_review",), "committee_review", ("hco",), False),
        ("defer", ("committee_review",), "deferred", ("committee",), True),
        ("reconsider", ("deferred",), "committee_review", ("committee",), False),
        ("approve", ("committee_review",), "council_review", ("committee",), False),
        ("decline", ("committee_review",), "declined", ("committee",), True),
        ("approve", ("council_review",), "adopted", ("council",), False),
        ("decline", ("council_review",), "declined", ("council",), True),
        ("withdraw", ("draft", "submitted", "under_review", "revision_requested"), "withdrawn", ("owner",), False),
    }


def test_projection_fills_the_report_columns(people, make_case):
    case = make_case("draft")
    assert (case.country, case.category, str(case.amount_requested)) == ("Brazil", "revival", "15000.00")
    assert isinstance(db.session.get(Partnership, case.data["partnership_id"]), Partnership)



def test_a_revival_beside_an_active_partnership_with_the_same_city_is_refused(api, people, make_case):
    """Once a new Cape Town partnership is adopted, reviving the completed Cape Town entry would
    leave two active partnerships with one city: submitting the revival is refused."""
    make_case("adopted", data=new("Cape Town", "South Africa"), title="A new Cape Town partnership")
    case = make_case("draft", data=revival("Cape Town"), title="Revive the old Cape Town exchange")
    before = snapshot(case.id)
    r = fire(api(people["chen"]), case.id, "submit", case.version)
    assert r.status_code == 422 and "partner_city" in r.get_json()["errors"]["data"]
    assert snapshot(case.id) == before


def test_a_new_proposal_names_a_prospective_entry_of_its_own_country(api, people, make_case):
    """Botswana's prospective entry can become a Botswana partnership, not a Durban one."""
    botswana = entry("Botswana").id
    case = make_case("draft", data=new("Durban", "South Africa", partnership_id=botswana), title="Durban")
    r = fire(api(people["chen"]), case.id, "submit", case.version)
    assert r.status_code == 422 and "partnership_id" in r.get_json()["errors"]["data"]
    ok = make_case("draft", data=new("Gaborone", "Botswana", partnership_id=botswana), title="Gaborone")
    assert fire(api(people["chen"]), ok.id, "submit", ok.version).status_code == 200


def test_a_sponsor_amount_without_a_sponsor_is_refused(api, people, make_case):
    client = api(people["chen"])
    unsponsored = new(sponsor_organization="none", sponsor_funding_secured=False, sponsor_amount="5000.00")
    r = client.post("/api/v1/cases", json={"workflow": "partnership", "title": "Durban", "goals": ["democracy"],
                                           "data": unsponsored})
    body = r.get_json()
    assert (r.status_code, body["error"]) == (422, "validation_failed")
    assert body["errors"] == {"data": {"sponsor_amount": [
        "There is no sponsoring organization: leave the sponsor's contribution empty."]}}
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    # Edited to "none" while an amount is kept, a draft is refused too, and so is a resubmission.
    draft = make_case("draft", data=new())
    before = snapshot(draft.id)
    r = client.patch(f"/api/v1/cases/{draft.id}", json={"version": draft.version, "data": {
        "sponsor_organization": "none", "sponsor_funding_secured": False}})
    assert (r.status_code, list(r.get_json()["errors"]["data"])) == (422, ["sponsor_amount"])
    assert snapshot(draft.id) == before
    returned = make_case("revision_requested")
    _guard_refusal(api, people["chen"], returned, "resubmit", "proposal_complete", "sponsor_amount",
                   data={"sponsor_organization": "none", "sponsor_funding_secured": False})
    r = fire(client, returned.id, "resubmit", returned.version,
             data={"sponsor_organization": "none", "sponsor_funding_secured": False, "sponsor_amount": None})
    assert r.status_code == 200 and r.get_json()["data"]["sponsor_amount"] is None


def test_a_new_proposal_for_the_city_of_a_dormant_partnership_is_refused(api, people, make_case):
    """Adopted, it made a second, active Sao Paulo beside the dormant one, which stayed dormant for
    ever (its revival refused as a duplicate): the proposal is to revive it."""
    sao_paulo = entry("Sao Paulo").id
    case = make_case("draft", data=new("sao paulo", " BRAZIL"), title="Sao Paulo anew")
    body = _guard_refusal(api, people["chen"], case, "submit", "not_a_duplicate", "partner_city")
    assert list(body["errors"]["data"]) == ["partner_city"]
    assert f"propose a revival of inventory #{sao_paulo}" in body["message"]
    # On resubmission, turned from a revival into a new partnership.
    returned = make_case("revision_requested")
    _guard_refusal(api, people["chen"], returned, "resubmit", "not_a_duplicate", "partner_city",
                   data={"proposal_type": "new", "partnership_id": None})



@pytest.mark.parametrize("city, country", [("São Paulo", "Brazil"), ("Sao Paulo", "Brasil"), ("SÃO PAULO", "Portugal")])
def test_a_new_proposal_for_the_dormant_city_spelled_another_way_is_refused_too(api, people, make_case, city,
                                                                                 country):
    """With its accent, or its country in Portuguese, it passed, and once adopted the active "São
    Paulo" made the dormant entry's revival a duplicate for ever (the city alone is compared with
    active entries, so one of that name in another country would do the same)."""
    case = make_case("draft", data=new(city, country), title="Sao Paulo anew")
    body = _guard_refusal(api, people["chen"], case, "submit", "not_a_duplicate", "partner_city")
    assert f"propose a revival of inventory #{entry('Sao Paulo').id}" in body["message"]


def test_a_city_of_the_same_name_elsewhere_comes_in_through_an_entry_an_administrator_adds(api, people, make_case):
    # Refused as the dormant Sao Paulo's city, and told to revive it, whose country is another.
    case = make_case("draft", data=new("Sao Paulo", "Portugal"), title="Another Sao Paulo")
    body = _guard_refusal(api, people["chen"], case, "submit", "not_a_duplicate", "partner_city")
    assert "an administrator adds it to the inventory (as prospective), and the proposal names it" in body["message"]
    other = create_entry(db.session, people["ada"], {"city": "Sao Paulo", "country": "Portugal", "focus": "",
                                                     "status": "prospective"})
    named = make_case("draft", data=new("Sao Paulo", "Portugal", partnership_id=other.id), title="Another Sao Paulo")
    assert fire(api(people["chen"]), named.id, "submit", named.version).status_code == 200
    # Naming an entry of another city is no way past the rule: adopted, "Rio de Janeiro" became a
    # second Sao Paulo, Brazil beside the dormant one.
    rio = create_entry(db.session, people["ada"], {"city": "Rio de Janeiro", "country": "Brazil", "focus": "",
                                                   "status": "prospective"})
    past = make_case("draft", data=new("Sao Paulo", "Brazil", partnership_id=rio.id), title="Sao Paulo via Rio")
    _guard_refusal(api, people["chen"], past, "submit", "not_a_duplicate", "partner_city")


def test_a_prospective_entry_added_while_a_proposal_is_at_council_does_not_stop_its_adoption(api, people, make_case):
    # Asked at the adoption too, the rule left Council only "Decline" for a proposal made before the entry.
    case = make_case("council_review", data=new("Accra", "Ghana"), title="Accra")
    create_entry(db.session, people["ada"], {"city": "Ghana", "country": "Ghana", "focus": "", "status": "prospective"})
    assert "approve" in api(people["jordan"]).get(f"/api/v1/cases/{case.id}").get_json()["allowed_transitions"]
    assert fire(api(people["jordan"]), case.id, "approve", case.version, data=DECISION).status_code == 200


def test_a_revival_may_write_the_city_and_country_with_their_accents(api, people, make_case):
    case = make_case("draft", data=revival("Sao Paulo", partner_city="São Paulo", partner_country=" brazil"))
    assert fire(api(people["chen"]), case.id, "submit", case.version).status_code == 200


def test_a_new_proposal_from_a_prospective_dialogue_names_its_entry(api, people, make_case):
    """A new partnership with Gaborone, adopted without naming the prospective "Botswana" entry,
    made a second entry and left that one prospective beside it for ever."""
    botswana = entry("Botswana").id
    for city, country in [("Gaborone", "Botswana"), ("botswana", "Botswana")]:
        case = make_case("draft", data=new(city, country), title=city)
        body = _guard_refusal(api, people["chen"], case, "submit", "names_its_dialogue", "partnership_id")
        assert f"inventory #{botswana}, prospective" in body["message"]
    named = make_case("draft", data=new("Gaborone", "Botswana", partnership_id=botswana), title="Gaborone")
    assert fire(api(people["chen"]), named.id, "submit", named.version).status_code == 200
    # A city elsewhere is no part of that dialogue.
    elsewhere = make_case("draft", data=new("Durban", "South Africa"), title="Durban")
    assert fire(api(people["chen"]), elsewhere.id, "submit", elsewhere.version).status_code == 200


def test_adoption_refused_when_a_dormant_partnership_with_the_city_appeared(api, people, make_case):
    case = make_case("council_review", data=new("Durban", "South Africa"), title="Durban")
    durban = create_entry(db.session, people["ada"], {"city": "Durban", "country": "South Africa",
                                                      "focus": "Urban health", "status": "dormant"})
    body = _guard_refusal(api, people["jordan"], case, "approve", "not_a_duplicate", "partner_city")
    assert f"inventory #{durban.id}" in body["message"]
    assert entry("Durban").status == "dormant"


def test_a_city_typed_in_other_letters_is_the_same_city_beyond_ascii(api, people, make_case):
    # SQLite's own lower() folds ASCII letters only: "ŁÓDŹ" passed beside an active "Łódź" at submit,
    # and Council was then told the inventory had changed, which it had not.
    create_entry(db.session, people["ada"], {"city": "Łódź", "country": "Poland", "focus": "Textiles",
                                              "status": "active"})
    case = make_case("draft", data=new("ŁÓDŹ", "Poland"), title="Łódź anew")
    _guard_refusal(api, people["chen"], case, "submit", "not_a_duplicate", "partner_city")


def test_councils_list_reads_the_inventory_once_whatever_the_number_of_proposals(api, people, make_case):
    # Whether Council may still adopt each proposal was asked of the database proposal by
    # proposal: two queries more for each one in the list.
    from tests.factories import counted

    client = api(people["jordan"])
    cities = iter([("Durban", "South Africa"), ("Accra", "Ghana"), ("Lagos", "Nigeria"), ("Quito", "Ecuador"),
                   ("Hanoi", "Vietnam"), ("Dakar", "Senegal"), ("Lusaka", "Zambia"), ("Kigali", "Rwanda")])

    def add(n: int) -> None:
        for _ in range(n):
            city, country = next(cities)
            make_case("council_review", data=new(city, country), title=f"New with {city}")

    def count() -> tuple[int, int]:
        client.get("/api/v1/cases?workflow=partnership")
        with counted() as statements:
            items = client.get("/api/v1/cases?workflow=partnership").get_json()["items"]
        assert all("approve" in c["allowed_transitions"] for c in items)
        return len(items), len(statements)

    add(2)
    shown, few = count()
    add(6)
    assert count() == (shown + 6, few)


def test_a_proposal_that_fails_a_knock_out_goes_to_the_committee_marked_ineligible(app, api, people, make_case,
                                                                                   tmp_path):
    # product.md: recommend needs a complete score, and a failed knock-out makes the
    # recommendation "ineligible", for the committee to read. Refused as "not eligible", with no
    # step of the officer's to decline it, the proposal could only be sent back or withdrawn.
    from tests.scoring.test_scores_api import _criteria_moved_on
    from workflows.scoring import submit_score

    def capped(text: str) -> str:
        return text.replace("version: 1", "version: 2", 1).replace("eligibility:\n", (
            "eligibility:\n  - id: contribution_cap\n    message: \"The City's contribution must not exceed 10,000.00.\"\n"
            "    rule: {field: city_contribution, op: le, value: 10000}\n"), 1)

    _criteria_moved_on(app, tmp_path, capped, "partnership")
    case = make_case("under_review")  # (its City contribution: 15,000.00)
    submit_score(db.session, people["hana"], case.id, RATINGS)
    case = db.session.get(Case, case.id)
    r = fire(api(people["hana"]), case.id, "recommend", case.version)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "committee_review"
    agg = api(people["pat"]).get(f"/api/v1/cases/{case.id}/scores").get_json()["aggregate"]
    assert agg["recommendation"] == "ineligible"
    assert "The City's contribution must not exceed 10,000.00." in agg["reasons"]
    r = fire(api(people["pat"]), case.id, "decline", r.get_json()["version"], comment="Over the cap.",
             data={"meeting_reference": "2026.PF15.1"})
    assert r.status_code == 200 and r.get_json()["state"] == "declined"
