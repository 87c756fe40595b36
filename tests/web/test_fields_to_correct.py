"""A submit refused from the case page for the request's own fields leads to its edit page, where
each field to correct is marked and listed; the page changes nothing by showing them."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Case
from tests.factories import error_summary
from tests.workflows.relief.conftest import relief_data
from workflows import engine

# Each workflow's draft, with a title and goals but some of the fields a submission needs left out.
DRAFTS = {
    "travel": ("sam", {"event_name": "ICLEI World Congress", "funding": "city"}),
    "relief": ("sam", {"disaster_type": "flood"}),
    "partnership": ("chen", {"partner_city": "Chongqing", "partner_country": "China"}),
}
# Fields each draft lacks that its edit page must list, by the ids the page gives their controls.
MARKED = {
    "travel": {"event_city", "start_date", "purpose", "registration"},  # (the first cost line: none given)
    "relief": {"city", "country"},
    "partnership": {"rationale"},
}


@pytest.fixture
def people(app, make_user):
    return {"sam": make_user("sam", "staff"), "chen": make_user("chen", "councillor", department="City Council"),
            "hana": make_user("hana", "hco", department="Strategic and Corporate Policy")}


def _draft(people, workflow: str) -> Case:
    who, data = DRAFTS[workflow]
    return engine.create_case(db.session, people[who], workflow, f"A {workflow} draft", ["democracy"], data)


def _events(case_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == case_id))


@pytest.mark.parametrize("workflow", sorted(DRAFTS))
def test_a_refused_submit_leads_to_the_edit_page_with_each_field_marked(app, browse, people, workflow):
    # The case page said "check: event city, start date, ..." and the edit page marked nothing:
    # the person had to find each field again from the message.
    case = _draft(people, workflow)
    client = browse(people[DRAFTS[workflow][0]])
    r = client.post(f"/cases/{case.id}/actions/submit", data={"submit-version": case.version})
    page = r.get_data(as_text=True)
    assert r.status_code == 422, page[:300]
    link = re.search(r'<a href="([^"]+\?check=submit)">correct them on the edit page</a>', page)
    assert link, page
    assert 'aria-describedby="submit-fields-to-correct"' in page  # read out with the step's button
    events, version = _events(case.id), case.version
    r = client.get(link.group(1))
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "first correct the fields marked below." in page
    listed = {target for target, _ in error_summary(page)}
    assert {field for field in MARKED[workflow] if not any(field in target for target in listed)} == set(), listed
    for field in MARKED[workflow]:  # beside the field, and tied to it for a screen reader
        control = re.search(rf'<(input|select|textarea)\b[^>]*\bid="{field}"[^>]*>', page).group(0)
        assert f'id="{field}-error"' in page and 'aria-invalid="true"' in control, (field, control)
    # Looking changed nothing; without ?check= the page marks nothing.
    assert _events(case.id) == events and db.session.get(Case, case.id).version == version
    assert error_summary(client.get(link.group(1).split("?")[0]).get_data(as_text=True)) == []


def test_only_the_owner_is_led_there_and_only_for_a_step_that_names_fields(app, browse, people):
    case = _draft(people, "relief")
    # Another, even one who may see the request, has no edit page to be led to.
    assert browse(people["hana"]).get(f"/relief/{case.id}/edit?check=submit").status_code == 403
    sam = browse(people["sam"])
    for check in ("withdraw", "nope", "", "x" * 500):
        page = sam.get(f"/relief/{case.id}/edit", query_string={"check": check}).get_data(as_text=True)
        assert error_summary(page) == [] and "correct the fields marked below" not in page, check
    # A complete request is not refused: nothing is marked.
    done = engine.update_case(db.session, people["sam"], case.id, case.version, data=relief_data())
    page = sam.get(f"/relief/{done.id}/edit?check=submit").get_data(as_text=True)
    assert error_summary(page) == [], error_summary(page)


def test_looking_for_fields_takes_no_one_elses_step_nor_one_that_reads_what_its_form_sends(app, people, make_user):
    # Asked of a step that is not the owner's edit-state step, the engine would have run guards that
    # read the step's form (a disbursement's amount paid: KeyError) or lock the inventory.
    from tests.reports.scenario import RELIEF_RATINGS
    from workflows.scoring import submit_score

    finance = make_user("fay", "finance", department="Finance")
    cao = make_user("cara", "cao", department="Chief Administrative Officer")
    case = engine.update_case(db.session, people["sam"], _draft(people, "relief").id, 1, data=relief_data(
        amount_requested="5000.00"))
    case = engine.fire(db.session, people["sam"], case.id, "submit", case.version)
    case = engine.fire(db.session, people["hana"], case.id, "start_triage", case.version)
    submit_score(db.session, people["hana"], case.id, RELIEF_RATINGS)
    case = db.session.get(Case, case.id)
    case = engine.fire(db.session, people["hana"], case.id, "recommend", case.version, comment="Strong case.",
                       payload={"recommendation": "approve", "amount_granted": "5000.00"})
    case = engine.fire(db.session, cao, case.id, "approve", case.version)
    assert case.state == "approved"
    events, version = _events(case.id), case.version
    for who, trigger in ((finance, "disburse"), (people["sam"], "disburse"), (people["sam"], "submit"),
                         (people["hana"], "close")):
        assert engine.step_errors(db.session, who, case, trigger) == {}, trigger
    assert _events(case.id) == events and db.session.get(Case, case.id).version == version


EDIT_PAGES = {"travel": "/travel/{}/edit", "relief": "/relief/{}/edit", "partnership": "/partnerships/proposals/{}/edit"}


@pytest.mark.parametrize("workflow", sorted(DRAFTS))
def test_each_edit_page_answers_alike_for_a_request_past_editing_another_s_or_another_workflow_s(
        app, browse, people, workflow):
    # The relief page answered 403 for a request past editing (the others went back to the
    # request with a message), and the partnership page 403 for a request of another workflow.
    case = _draft(people, workflow)
    owner = browse(people[DRAFTS[workflow][0]])
    page = EDIT_PAGES[workflow].format(case.id)
    assert owner.get(page).status_code == 200
    engine.fire(db.session, people[DRAFTS[workflow][0]], case.id, "withdraw" if workflow != "travel" else "cancel",
                case.version)
    r = owner.get(page, follow_redirects=True)
    assert r.request.path == f"/cases/{case.id}"
    assert "The request cannot be edited while it is" in r.get_data(as_text=True)
    hana = browse(people["hana"])  # (who may read it, but it is not hers)
    assert hana.get(page).status_code == (404 if workflow == "travel" else 403)
    other = next(w for w in sorted(DRAFTS) if w != workflow)
    stranger = _draft(people, other)
    assert browse(people[DRAFTS[other][0]]).get(page.replace(str(case.id), str(stranger.id))).status_code == 404
