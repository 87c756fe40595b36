"""The partnership pages: the inventory and its filters, the admin's entry forms, the
councillor's proposal form and its edit page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent, Case
from tests.workflows.partnership.conftest import entry

PROPOSAL = {
    "title": "Revive the Sao Paulo exchange", "goals": ["research", "culture"], "proposal_type": "revival",
    "sponsor_organization": "FCM", "sponsor_funding_secured": "y", "sponsor_amount": "45000.00",
    "city_contribution": "15000.00", "focus_areas-0": "Waste management", "focus_areas-1": "",
    "focus_areas-2": "Heritage maintenance", "focus_areas-3": "", "lead_department": "Solid Waste Management",
    "duration_months": "24", "rationale": "The Brazilian community asks for it.",
    "expected_outcomes": "Two exchanges a year.",
}


def test_inventory_page_lists_and_filters(people, browser_of):
    client = browser_of(people["chen"])
    page = client.get("/partnerships").get_data(as_text=True)
    assert "Sao Paulo" in page and "Soyapango" in page and "13 partnerships" in page
    dormant = client.get("/partnerships?status=dormant").get_data(as_text=True)
    assert "Sao Paulo" in dormant and "Soyapango" not in dormant
    latvia = client.get("/partnerships?country=Latvia").get_data(as_text=True)
    assert "Riga" in latvia and "Tallinn" not in latvia
    assert client.get(f"/partnerships/{entry('Riga').id}").status_code == 200
    assert client.get("/partnerships/9999").status_code == 404


@pytest.mark.parametrize("query, selected, caption", [
    ("country=latvia", "Latvia", "1 partnership, in latvia"),
    ("country=Atlantis", "Atlantis", "0 partnerships, in Atlantis"),
    ("", "", "13 partnerships"),
])
def test_the_country_filter_shows_the_country_it_applies(people, browser_of, query, selected, caption):
    # A country in other letters, or one the inventory lacks, showed "Any country" above a list
    # filtered to it.
    page = browser_of(people["chen"]).get(f"/partnerships?{query}").get_data(as_text=True)
    chosen = re.findall(r'<option value="([^"]*)" selected>', page[page.index('id="country"'):])
    assert chosen == [selected] if selected else chosen == []
    assert caption in page


def test_only_an_admin_edits_the_inventory(people, browser_of):
    sao = entry("Sao Paulo")
    assert browser_of(people["chen"]).get(f"/partnerships/{sao.id}/edit").status_code == 403
    assert browser_of(people["hana"]).post("/partnerships/new", data={"city": "X"}).status_code == 403
    admin = browser_of(people["ada"])
    form = {"city": "Sao Paulo", "country": "Brazil", "established": "1987", "municipality": "Toronto",
            "focus": sao.focus, "sponsor": "CIDA/FCM", "program": "", "status": "completed"}
    assert admin.post(f"/partnerships/{sao.id}/edit", data=form).status_code == 302
    r = admin.post("/partnerships/new", data={**form, "city": "Curitiba", "status": "prospective"})
    assert r.status_code == 302
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain.like("partnership:%"),
                                                         AuditEvent.actor_username != "system")
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.payload.get("status")) for e in events] == [
        ("inventory_edit", {"from": "dormant", "to": "completed"}), ("inventory_create", "prospective")]
    page = admin.get(f"/partnerships/{sao.id}").get_data(as_text=True)
    assert "Dormant → Completed".lower() in page.lower()
    # Who and what, in words: the administrator's name, "Changed" (the trail's "inventory_edit").
    assert re.search(rf"<strong>{people['ada'].full_name}</strong> ·\s*Changed", page)
    assert admin.post("/partnerships/new", data={**form, "city": ""}).status_code == 422


def test_an_entry_saved_unchanged_says_so_and_records_nothing(people, browser_of):
    sao = entry("Sao Paulo")
    admin = browser_of(people["ada"])
    form = {"city": sao.city, "country": sao.country, "established": sao.established or "",
            "municipality": sao.municipality or "", "focus": sao.focus, "sponsor": sao.sponsor or "",
            "program": sao.program or "", "status": sao.status}
    r = admin.post(f"/partnerships/{sao.id}/edit", data=form, follow_redirects=True)
    assert r.status_code == 200 and "Nothing was changed: the entry is as it was." in r.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.chain == f"partnership:{sao.id}",
                                                         AuditEvent.action == "inventory_edit")) is None


def test_an_edit_page_opened_before_an_adoption_does_not_undo_it(people, make_case, browser_of):
    from workflows import engine

    case = make_case("council_review")  # a revival of Sao Paulo, dormant
    sao = entry("Sao Paulo")
    admin = browser_of(people["ada"])
    page = admin.get(f"/partnerships/{sao.id}/edit").get_data(as_text=True)
    seen = re.search(r'name="seen" type="hidden" value="([0-9a-f]{64})"', page).group(1)
    engine.fire(db.session, people["jordan"], case.id, "approve", case.version, payload={"meeting_reference": "2026.CC14.2"})
    # The administrator saves the page as it was loaded, with the focus changed.
    form = {"city": "Sao Paulo", "country": "Brazil", "established": sao.established or "",
            "municipality": sao.municipality or "", "focus": "Waste and health", "sponsor": sao.sponsor or "",
            "program": sao.program or "", "status": "dormant", "seen": seen}
    r = admin.post(f"/partnerships/{sao.id}/edit", data=form)
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "changed by someone else while you were editing it (it is now active)" in page
    assert re.search(r'<option selected value="active">', page)  # shown as it is now
    db.session.expire_all()
    assert entry("Sao Paulo").status == "active" and entry("Sao Paulo").focus == sao.focus
    # Saved again from the page as it now stands, the change is made.
    fresh = re.search(r'name="seen" type="hidden" value="([0-9a-f]{64})"', page).group(1)
    assert admin.post(f"/partnerships/{sao.id}/edit",
                      data={**form, "status": "active", "seen": fresh}).status_code == 302
    db.session.expire_all()
    assert (entry("Sao Paulo").status, entry("Sao Paulo").focus) == ("active", "Waste and health")


def test_councillor_proposes_a_revival_from_the_form(people, browser_of):
    client = browser_of(people["chen"])
    page = client.get("/partnerships/propose").get_data(as_text=True)
    assert "Sao Paulo, Brazil (dormant)" in page and "Soyapango" not in page.split("partnership_id")[1][:3000]
    # At least one goal is required, as the legend says; no single box is ("required" on each read as all).
    goals = re.findall(r'<input[^>]*name="goals"[^>]*>', page)
    assert len(goals) == 7 and not any(" required" in box for box in goals)
    # A group of radio buttons holds its options alone: the partner's fields, inside it, were read
    # as part of "Kind of proposal" (and its error again on each).
    kind = re.search(r"<legend>Kind of proposal.*?</fieldset>", page, re.S).group(0)
    assert 'name="proposal_type"' in kind and "partner_city" not in kind and "partnership_id" not in kind
    r = client.post("/partnerships/propose", data={**PROPOSAL, "partnership_id": str(entry("Sao Paulo").id)})
    assert r.status_code == 302, r.get_data(as_text=True)
    case = db.session.scalars(select(Case).where(Case.workflow == "partnership")).one()
    assert case.state == "draft" and case.goals == ["research", "culture"]
    assert case.data["partner_city"] == "Sao Paulo" and case.data["partner_country"] == "Brazil"
    assert case.data["focus_areas"] == ["Waste management", "Heritage maintenance"]
    assert case.data["sponsor_funding_secured"] is True and case.data["city_contribution"] == "15000.00"
    # Its page names the entry it revives, not "Partnership #12".
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'href="/partnerships/{entry("Sao Paulo").id}">Sao Paulo, Brazil (dormant)</a>' in page


def test_proposal_form_shows_the_engine_errors_beside_the_fields(people, browser_of):
    client = browser_of(people["chen"])
    r = client.post("/partnerships/propose", data={**PROPOSAL, "proposal_type": "new", "partner_city": "Durban",
                                                  "city_contribution": "12.345"})
    assert r.status_code == 422
    assert 'id="city_contribution-error"' in r.get_data(as_text=True)
    assert db.session.scalar(select(Case.id)) is None


@pytest.mark.parametrize("pid", ["²", "3000000000", "9" * 30, "1" * 5000])
def test_a_proposal_naming_no_inventory_row_is_refused_beside_the_field(people, browser_of, pid):
    # (The field is a list to choose from; a hand-made request can send anything.)
    r = browser_of(people["chen"]).post("/partnerships/propose", data={**PROPOSAL, "partnership_id": pid})
    assert r.status_code == 422 and 'id="partnership_id-error"' in r.get_data(as_text=True)
    assert db.session.scalar(select(Case.id)) is None


def test_only_councillors_propose(people, browser_of):
    assert browser_of(people["hana"]).get("/partnerships/propose").status_code == 403


def test_a_proposal_sent_back_for_revision_says_what_to_revise_where_it_is_edited(people, make_case, browser_of):
    case = make_case("revision_requested")
    page = browser_of(people["chen"]).get(f"/partnerships/proposals/{case.id}/edit").get_data(as_text=True)
    assert "Why it came back to you" in page and "Add a work plan." in page
    assert "then resubmit it from its page" in page and "saved as a draft" not in page


def test_owner_edits_a_draft_and_clears_an_optional_field(people, make_case, browser_of):
    case = make_case("draft")
    client = browser_of(people["chen"])
    page = client.get(f"/partnerships/proposals/{case.id}/edit").get_data(as_text=True)
    assert "Waste management" in page
    r = client.post(f"/partnerships/proposals/{case.id}/edit", data={
        **PROPOSAL, "version": case.version, "partnership_id": str(case.data["partnership_id"]),
        "sponsor_funding_secured": "", "sponsor_amount": "", "duration_months": "36", "city_contribution": "$16,500"})
    assert r.status_code == 302, r.get_data(as_text=True)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.data["duration_months"] == 36 and case.data["sponsor_amount"] is None
    assert case.data["city_contribution"] == "16500.00"  # typed as people do
    assert case.data["sponsor_funding_secured"] is False


def test_a_save_refused_as_stale_may_be_made_again_on_purpose(people, make_case, browser_of):
    # The page kept the version first loaded, so every later save was refused in the same way.
    from workflows import engine

    case = make_case("draft")
    loaded = case.version
    engine.update_case(db.session, people["chen"], case.id, loaded, data={"duration_months": 12})
    client = browser_of(people["chen"])
    form = {**PROPOSAL, "partnership_id": str(case.data["partnership_id"]), "duration_months": "36"}
    r = client.post(f"/partnerships/proposals/{case.id}/edit", data={**form, "version": loaded})
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and "saving it again replaces those changes" in page
    version = int(re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1))
    assert version == loaded + 1
    assert client.post(f"/partnerships/proposals/{case.id}/edit", data={**form, "version": version}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).data["duration_months"] == 36


def test_a_draft_may_be_emptied_again_and_submit_then_names_what_is_missing(people, make_case, browser_of):
    # (Each emptied field was refused: "Not a valid amount.", "Not a valid list.", "Must not be empty.")
    case = make_case("draft")
    client = browser_of(people["chen"])
    emptied = {**PROPOSAL, "version": case.version, "partnership_id": str(case.data["partnership_id"]),
               "rationale": "", "lead_department": "", "city_contribution": "", "duration_months": "",
               "focus_areas-0": "", "focus_areas-2": ""}
    r = client.post(f"/partnerships/proposals/{case.id}/edit", data=emptied)
    assert r.status_code == 302, r.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(Case, case.id)
    assert [saved.data.get(k) for k in ("rationale", "lead_department", "city_contribution", "duration_months",
                                        "focus_areas")] == [None] * 5
    r = client.post(f"/cases/{case.id}/actions/submit", data={"submit-version": saved.version})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    # Named as the form names them, in its order (they were keys: "city_contribution, duration_months").
    assert ("The proposal is not complete or not valid: City&#39;s contribution, focus areas, lead department, "
            "duration, rationale.") in page
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "draft"


def test_edit_page_is_for_the_owner_in_an_editable_state(people, make_case, browser_of):
    case = make_case("submitted")
    assert browser_of(people["chen"]).get(f"/partnerships/proposals/{case.id}/edit").status_code == 302
    assert browser_of(people["hana"]).get(f"/partnerships/proposals/{case.id}/edit").status_code == 403
    assert browser_of(people["rossi"]).get(f"/partnerships/proposals/{case.id}/edit").status_code == 404


def test_case_page_shows_the_proposal(people, make_case, browser_of):
    case = make_case("draft")
    page = browser_of(people["chen"]).get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Revival of a partnership" in page and "$15,000.00" in page and "Edit this request" in page


def test_an_entry_links_the_proposal_behind_a_change_only_for_those_who_may_see_it(people, make_case, browser_of,
                                                                                    make_user):
    case = make_case("adopted")
    path = f"/partnerships/{entry('Sao Paulo').id}"
    page = browser_of(people["hana"]).get(path).get_data(as_text=True)
    assert f'<a href="/cases/{case.id}">proposal #{case.id}</a>' in page
    stranger = make_user("sam", "staff")  # sees the inventory, not the councillor's proposal
    assert browser_of(stranger).get(f"/cases/{case.id}").status_code == 404
    page = browser_of(stranger).get(path).get_data(as_text=True)
    assert f"proposal #{case.id}" in page and f'href="/cases/{case.id}"' not in page


def test_an_entrys_changes_name_its_fields_and_statuses_as_its_page_does(people, make_case, browser_of):
    # The history read "Status: completed", "prospective → active" and "Established: ..." in the
    # data's own words, beside a list that says "Completed" and "Year established".
    make_case("adopted")
    page = " ".join(browser_of(people["hana"]).get(f"/partnerships/{entry('Sao Paulo').id}").get_data(
        as_text=True).split())
    history = page[page.index("Changes to this entry"):]
    assert "<strong>Accord</strong> · Added to the inventory" in history
    assert "<li>Status: Dormant → Active</li>" in history and "<li>Status: Dormant</li>" in history
    assert "<li>Year established: " in history and "<li>Originating municipality: " in history
    for raw in ("dormant →", "Established:", "Municipality:", "<strong>system</strong>"):
        assert raw not in history


def test_a_sponsor_amount_without_a_sponsor_is_marked_beside_the_field(people, browser_of):
    form = {k: v for k, v in PROPOSAL.items() if k != "sponsor_funding_secured"}
    r = browser_of(people["chen"]).post("/partnerships/propose", data={
        **form, "partnership_id": str(entry("Sao Paulo").id), "sponsor_organization": "none",
        "sponsor_amount": "5,000"})
    assert r.status_code == 422
    assert re.search(r'id="sponsor_amount-error">There is no sponsoring organization', r.get_data(as_text=True))
    assert db.session.scalar(select(Case.id)) is None


def test_a_new_proposal_for_a_dormant_city_is_marked_beside_the_partner_city(people, make_case, browser_of):
    from tests.workflows.partnership.conftest import new

    case = make_case("draft", data=new("Sao Paulo", "Brazil"), title="Sao Paulo anew")
    client = browser_of(people["chen"])
    r = client.post(f"/cases/{case.id}/actions/submit", data={"submit-version": case.version})
    refused = r.get_data(as_text=True)
    assert r.status_code == 422 and f"propose a revival of inventory #{entry('Sao Paulo').id}" in refused
    assert f"/partnerships/proposals/{case.id}/edit?check=submit" in refused
    # The refused submit leads to the edit page, which marks the field.
    page = client.get(f"/partnerships/proposals/{case.id}/edit?check=submit").get_data(as_text=True)
    assert re.search(r'id="partner_city-error">The City&#39;s partnership with Sao Paulo, Brazil is dormant', page)
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "draft"


def _read(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_decided_proposal_raises_no_alarm_no_one_can_act_on(api, people, make_case, browser_of):
    # Reviewers who disagreed stayed flagged on a declined proposal, on its owner's dashboard too;
    # an adopted one scored under earlier criteria asked its reviewers to score again.
    from sqlalchemy import update

    from models import Score
    from tests.workflows.partnership.conftest import DECISION, RATINGS
    from workflows import engine
    from workflows.scoring import submit_score

    case = make_case("under_review")
    submit_score(db.session, people["hana"], case.id, RATINGS)
    submit_score(db.session, people["omar"], case.id, {**RATINGS, "strategic_alignment": 1})
    case = engine.fire(db.session, people["hana"], case.id, "recommend", db.session.get(Case, case.id).version)
    assert api(people["pat"]).get(f"/api/v1/cases/{case.id}").get_json()["flags"] == ["reviewers_disagree"]
    case = engine.fire(db.session, people["pat"], case.id, "decline", case.version, comment="Not this term.",
                       payload=DECISION)
    assert api(people["pat"]).get(f"/api/v1/cases/{case.id}").get_json()["flags"] == []
    assert "reviewers disagree" not in browser_of(people["chen"]).get("/").get_data(as_text=True)
    assert "reviewers disagree" not in browser_of(people["cao"]).get(f"/cases/{case.id}").get_data(as_text=True)
    # Adopted before Accord kept the score a request is decided with (migration 0020).
    adopted = make_case("adopted", owner="rossi", title="Adopted under earlier criteria")
    db.session.execute(update(Score).where(Score.case_id == adopted.id).values(criteria_hash="0" * 64,
                                                                                criteria_version=0))
    db.session.execute(update(Case).where(Case.id == adopted.id).values(score_at_decision=None))
    db.session.commit()
    page = _read(browser_of(people["cao"]).get(f"/cases/{adopted.id}").get_data(as_text=True))
    assert "No figure under version 1 of the criteria: its scores were made under an earlier version" in page
    assert "score again" not in page and "incomplete" not in page and "No figure yet" not in page
