"""Decisions of the Committee and Council: recorded with the transition, kept out of the
proposal's data, shown on the case, and searchable by meeting reference or motion."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent
from tests.workflows.partnership.conftest import DECISION, RATINGS, fire, revival, snapshot
from workflows.scoring import submit_score


def _decision_events(case_id):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                       AuditEvent.action.in_(("approve", "decline", "defer")))
                              .order_by(AuditEvent.seq)).all()


def test_a_decision_is_kept_in_the_audit_event_not_in_the_data(api, people, make_case):
    case = make_case("committee_review")
    data_before = dict(case.data)
    r = fire(api(people["pat"]), case.id, "defer", case.version, comment="Await FCM's answer.", data=DECISION)
    assert r.status_code == 200
    assert r.get_json()["data"] == data_before
    [event] = _decision_events(case.id)
    assert event.payload == DECISION
    history = api(people["pat"]).get(f"/api/v1/cases/{case.id}/history").get_json()
    assert history["events"][-1]["payload"]["meeting_reference"] == "2026.PF13.5"
    assert history["chain_valid"] is True


def test_search_by_reference_and_motion_text(api, people, make_case):
    sao = make_case("adopted")  # committee 2026.PF13.5 then Council 2026.CC14.2
    make_case("declined", data=revival("Lima"), owner="rossi", title="Revive the Lima exchange")
    client = api(people["cao"])
    by_ref = client.get("/api/v1/partnerships/decisions?q=2026.CC14").get_json()["items"]
    assert [(d["case_id"], d["body"], d["outcome"]) for d in by_ref] == [(sao.id, "Council", "Adopted")]
    by_motion = client.get("/api/v1/partnerships/decisions?q=REVIVE the partnership").get_json()["items"]
    assert [(d["case_id"], d["outcome"], d["votes_for"], d["votes_against"], d["interests_declared"])
            for d in by_motion] == [(sao.id, "Referred to Council", 7, 1, ["Councillor Ana Bailão"])]
    everything = client.get("/api/v1/partnerships/decisions").get_json()["items"]
    assert len(everything) == 3
    assert client.get("/api/v1/partnerships/decisions?q=nothing-like-this").get_json()["items"] == []


def test_search_shows_only_decisions_on_cases_the_caller_may_see(api, people, make_case):
    make_case("adopted", owner="rossi", title="Rossi's revival")
    assert api(people["chen"]).get("/api/v1/partnerships/decisions").get_json()["items"] == []
    assert len(api(people["rossi"]).get("/api/v1/partnerships/decisions").get_json()["items"]) == 2
    assert api(None).get("/api/v1/partnerships/decisions").status_code == 401


def test_case_page_lists_the_decisions(people, make_case, browser_of):
    case = make_case("adopted")
    page = browser_of(people["chen"]).get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Decisions of the Committee and Council" in page
    assert "2026.PF13.5" in page and "2026.CC14.2" in page and "Councillor Ana Bailão" in page


def test_decisions_name_who_recorded_them_as_the_timeline_does_and_say_when_no_interest_was_declared(
        people, make_case, browser_of):
    # The table said "by pat.committee" above a timeline saying "Pat ..."; an empty list of
    # interests read a bare "None", then "None declared", which a box left blank does not say.
    case = make_case("adopted")
    pat, jordan = people["pat"], people["jordan"]
    assert pat.full_name != pat.username
    for path in (f"/cases/{case.id}", "/partnerships/decisions"):
        page = " ".join(browser_of(people["hana"]).get(path).get_data(as_text=True).split())
        assert f"by {pat.full_name}</td>" in page and f"by {jordan.full_name}</td>" in page, path
        assert f"by {pat.username}" not in page, path
        assert "<td>None recorded</td>" in page and "<td>None</td>" not in page, path


def _outcomes(page: str) -> list[tuple[str, str]]:
    """Return the decision form's outcomes (value, label), in the page's order."""
    return re.findall(r'<input id="decision-outcome-\d+" name="decision-outcome"[^>]* value="(\w+)"> '
                      r'<label for="decision-outcome-\d+">([^<]+)</label>', page)


def test_one_form_records_the_decision_whichever_its_outcome(people, make_case, browser_of):
    # Three forms (approve, defer, decline) each asked for the meeting, the motion and the votes.
    case = make_case("committee_review")
    client = browser_of(people["pat"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert _outcomes(page) == [("approve", "Approve and refer to Council"), ("defer", "Defer"), ("decline", "Decline")]
    assert page.count('name="decision-meeting_reference"') == 1 and "approve-meeting_reference" not in page
    assert "Required to defer or decline." in page
    r = client.post(f"/cases/{case.id}/decision", data={
        "decision-version": case.version, "decision-outcome": "approve", "decision-meeting_reference": "2026.PF14.3",
        "decision-motion": "Refer to Council with support.", "decision-votes_for": "6", "decision-votes_against": "0",
        "decision-interests_declared": "Councillor A\n\nCouncillor B\n"})
    assert r.status_code == 302
    # The step as its button names it: not "approve and refer to council".
    page = html.unescape(client.get(r.location).get_data(as_text=True))
    assert "Done: approve and refer to Council. The request is now: At Council." in page
    [event] = _decision_events(case.id)
    assert event.payload == {"meeting_reference": "2026.PF14.3", "motion": "Refer to Council with support.",
                             "votes_for": 6, "votes_against": 0, "interests_declared": ["Councillor A", "Councillor B"]}


def test_decision_form_refuses_a_malformed_reference(people, make_case, browser_of):
    case = make_case("committee_review")
    r = browser_of(people["pat"]).post(f"/cases/{case.id}/actions/approve", data={
        "approve-version": case.version, "approve-meeting_reference": "PF14 item 3"})
    assert r.status_code == 422
    assert "2026.PF13.5" in r.get_data(as_text=True)
    assert _decision_events(case.id) == []


def test_an_item_of_a_list_refused_is_named_beside_its_field(people, make_case, browser_of):
    # The engine names the second name of the list; the form has one box for all the names.
    case = make_case("committee_review")
    r = browser_of(people["pat"]).post(f"/cases/{case.id}/decision", data={
        "decision-version": case.version, "decision-outcome": "approve", "decision-meeting_reference": "2026.PF14.3",
        "decision-interests_declared": "Councillor A\n" + "B" * 130})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    box = re.search(r'<textarea[^>]*name="decision-interests_declared"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in box and "decision-interests_declared-error" in box
    assert "Entry 2: Must be at most 120 characters long." in page
    assert _decision_events(case.id) == []


def test_decisions_page_searches(people, make_case, browser_of):
    make_case("adopted")
    page = browser_of(people["hana"]).get("/partnerships/decisions?q=CC14").get_data(as_text=True)
    assert "2026.CC14.2" in page and "2026.PF13.5" not in page


def test_a_deferral_tells_its_proposer_why(people, make_case, caplog):
    # The committee's deferral, with its required reason, reached only another committee member
    # ("awaits you"); the councillor whose proposal it was never heard of it.
    import logging

    from workflows import engine

    case = make_case("committee_review")
    with caplog.at_level(logging.INFO, logger="accord.mail"):
        engine.fire(db.session, people["pat"], case.id, "defer", case.version, comment="Await the FCM decision.",
                    payload=DECISION)
    to_owner = [m for m in caplog.messages if m.startswith("mail to cllr.chen@")]
    assert len(to_owner) == 1 and "to deferred" in to_owner[0] and "Await the FCM decision." in to_owner[0]


def test_council_chooses_between_adopting_and_declining(people, make_case, browser_of):
    case = make_case("council_review")
    client = browser_of(people["jordan"])
    assert _outcomes(client.get(f"/cases/{case.id}").get_data(as_text=True)) == [("approve", "Adopt"),
                                                                                 ("decline", "Decline")]
    r = client.post(f"/cases/{case.id}/decision", data={
        "decision-version": case.version, "decision-outcome": "decline", "decision-meeting_reference": "2026.CC15.4",
        "decision-comment": "Council declined: no budget this term."})
    assert r.status_code == 302
    assert "Done: decline. The request is now: Declined." in html.unescape(client.get(r.location).get_data(as_text=True))
    [*_, event] = _decision_events(case.id)
    assert (event.action, event.to_state, event.payload) == ("decline", "declined", {"meeting_reference": "2026.CC15.4"})


def test_a_decision_without_its_outcome_or_its_reason_is_refused_keeping_what_was_typed(people, make_case,
                                                                                       browser_of):
    case = make_case("committee_review")
    client = browser_of(people["pat"])
    typed = {"decision-version": case.version, "decision-meeting_reference": "2026.PF14.3",
             "decision-motion": "That the Committee defer the item."}
    r = client.post(f"/cases/{case.id}/decision", data=typed)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "Choose the decision." in page and 'href="#decision-outcome-0"' in page
    assert "That the Committee defer the item.</textarea>" in page and 'value="2026.PF14.3"' in page
    # Deferring needs its reason: refused naming the comment, the outcome chosen kept.
    r = client.post(f"/cases/{case.id}/decision", data={**typed, "decision-outcome": "defer"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "A comment is required for this step." in page
    assert re.search(r'<input checked id="decision-outcome-\d+" name="decision-outcome"[^>]* value="defer">', page)
    assert _decision_events(case.id) == []
    # An outcome no decision of this workflow has is no outcome.
    r = client.post(f"/cases/{case.id}/decision", data={**typed, "decision-outcome": "recommend"})
    assert r.status_code == 422 and "Choose the decision." in r.get_data(as_text=True)
    assert _decision_events(case.id) == []


def test_a_decision_recorded_meanwhile_by_another_is_refused_for_that(api, people, make_case, browser_of):
    case = make_case("committee_review")
    client = browser_of(people["pat"])
    client.get(f"/cases/{case.id}")
    assert fire(api(people["pat"]), case.id, "defer", case.version, comment="Await FCM.", data=DECISION).status_code == 200
    r = client.post(f"/cases/{case.id}/decision", data={
        "decision-version": case.version, "decision-outcome": "approve", "decision-meeting_reference": "2026.PF14.3"})
    assert r.status_code == 409
    assert "“Approve and refer to Council” is not available while the request is deferred." in html.unescape(
        r.get_data(as_text=True))
    assert [e.action for e in _decision_events(case.id)] == ["defer"]


def test_a_decision_sent_without_its_outcome_on_a_case_changed_meanwhile_says_so(api, people, make_case,
                                                                                   browser_of):
    # Sent back for its outcome, the form carried the new version, and the decision then sent was
    # recorded on a case its sender had never seen (a comment "Sponsor withdrew" added meanwhile).
    case = make_case("committee_review")
    seen = case.version  # (the version Pat's page was loaded at)
    assert api(people["hana"]).post(f"/api/v1/cases/{case.id}/comments",
                                    json={"comment": "Sponsor withdrew: do not approve."}).status_code == 201
    r = browser_of(people["pat"]).post(f"/cases/{case.id}/decision", data={
        "decision-version": seen, "decision-meeting_reference": "2026.PF14.3"})
    page = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 409 and "This request was changed since you opened this page" in page
    assert 'value="2026.PF14.3"' in page  # (what was typed, to send again once the change is read)


def test_when_one_outcome_is_left_what_was_typed_goes_to_its_own_form(people, make_case, browser_of):
    # Adoption ruled out meanwhile (another proposal adopted the same partnership): a decline sent
    # with a slip came back as a blank form, with no message; with no outcome chosen, the page said
    # there was no decision to record, above the Decline form.
    case = make_case("council_review")
    make_case("adopted", owner="rossi", title="Sao Paulo again")
    client = browser_of(people["jordan"])
    typed = {"decision-version": case.version, "decision-meeting_reference": "CC15 item 4",
             "decision-motion": "That Council decline the revival."}
    r = client.post(f"/cases/{case.id}/decision", data={**typed, "decision-outcome": "decline",
                                                         "decision-comment": "Already revived."})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and not _outcomes(page)
    assert 'name="decline-meeting_reference"' in page and 'value="CC15 item 4"' in page
    assert "That Council decline the revival.</textarea>" in page and 'href="#decline-meeting_reference"' in page
    r = client.post(f"/cases/{case.id}/decision", data=typed)
    page = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 409 and "Only one decision is open to you on this request now: Decline." in page
    assert "That Council decline the revival.</textarea>" in page
    assert _decision_events(case.id)[-1].action == "approve"  # (the committee's: nothing more recorded)


def test_a_step_sent_from_its_own_form_comes_back_in_the_one_decision_form(people, make_case, browser_of):
    # A page loaded when adoption was the only outcome (or from before the one form) posts to the
    # step's own address: refused, its fields were lost, and the summary linked to fields not on the page.
    case = make_case("committee_review")
    r = browser_of(people["pat"]).post(f"/cases/{case.id}/actions/defer", data={
        "defer-version": case.version, "defer-meeting_reference": "2026.PF14.3", "defer-motion": "To defer."})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'href="#decision-comment"' in page
    assert re.search(r'<input checked id="decision-outcome-\d+" name="decision-outcome"[^>]* value="defer">', page)
    assert 'value="2026.PF14.3"' in page and "To defer.</textarea>" in page


def test_a_workflow_with_no_such_decision_refuses_one(people, make_case, browser_of, api, make_user):
    owner = make_user("sam", "staff")
    trip = api(owner).post("/api/v1/cases", json={"workflow": "travel", "title": "Trip", "goals": ["research"],
                                                  "data": {}}).get_json()
    r = browser_of(owner).post(f"/cases/{trip['id']}/decision", data={"decision-outcome": "approve"})
    assert r.status_code == 409 and "There is no decision to record on this request." in r.get_data(as_text=True)


def test_a_decision_sent_without_its_outcome_after_a_colleague_decided_says_none_is_open(
        api, people, make_case, browser_of, make_user, caplog):
    # With nothing left to decide, the form asked about the workflow's first outcome, a
    # committee's: the Council's clerk was answered 403 "This step needs the role committee."
    # and the security log named a refusal no one had earned.
    import logging

    case = make_case("council_review")
    client = browser_of(people["jordan"])
    client.get(f"/cases/{case.id}")
    colleague = make_user("clerk.deputy", "council", department="City Clerk's Office")
    assert fire(api(colleague), case.id, "decline", case.version, comment="Not this term.",
                data={"meeting_reference": "2026.CC15.4"}).status_code == 200
    with caplog.at_level(logging.INFO):
        r = client.post(f"/cases/{case.id}/decision", data={
            "decision-version": case.version, "decision-meeting_reference": "2026.CC15.4"})
    page = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 409 and "No decision is open to you while the case is declined." in page
    assert "needs the role" not in page
    assert not [r for r in caplog.records if "403" in r.getMessage()]
    assert [e.action for e in _decision_events(case.id)][-1] == "decline"


@pytest.mark.parametrize("body", ["committee", "council"])
def test_an_officer_who_declared_a_conflict_takes_no_decision_on_it_at_committee_or_council(
        api, people, make_case, make_user, body):
    # An officer of the Healthy City Office who sits on the committee (or is a Council clerk too)
    # stepped aside in review, a colleague recommended the proposal, and the member in them then
    # decided what the officer in them had declared a conflict of interest on (as relief refuses).
    both = make_user("lee", "hco", body, department="City Clerk's Office")
    case = make_case("under_review")
    submit_score(db.session, both, case.id, {}, conflict="recused")
    submit_score(db.session, people["hana"], case.id, RATINGS)
    version = fire(api(people["hana"]), case.id, "recommend", case.version).get_json()["version"]
    if body == "council":
        version = fire(api(people["pat"]), case.id, "approve", version, data=DECISION).get_json()["version"]
    shown = api(both).get(f"/api/v1/cases/{case.id}").get_json()
    assert shown["allowed_transitions"] == [] and shown["version"] == version
    before = snapshot(case.id)
    decisions = (("approve", {}), ("decline", {"comment": "No."})) + (
        (("defer", {"comment": "Later."}),) if body == "committee" else ())
    for trigger, extra in decisions:
        r = fire(api(both), case.id, trigger, version, data=DECISION, **extra)
        assert r.status_code == 403 and "declared a conflict of interest" in r.get_json()["message"]
    assert snapshot(case.id) == before
    decider = people["pat" if body == "committee" else "jordan"]
    if body == "committee":  # nor, once a colleague deferred it, takes it up again
        version = fire(api(decider), case.id, "defer", version, comment="Later.", data=DECISION).get_json()["version"]
        before = snapshot(case.id)
        r = fire(api(both), case.id, "reconsider", version)
        assert r.status_code == 403 and "declared a conflict of interest" in r.get_json()["message"]
        assert snapshot(case.id) == before
        version = fire(api(decider), case.id, "reconsider", version).get_json()["version"]
    assert fire(api(decider), case.id, "approve", version, data=DECISION).status_code == 200
