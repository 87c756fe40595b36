"""End to end in the browser: a councillor revives the dormant Sao Paulo partnership through
the web forms; the Healthy City Office scores and recommends; the committee defers, reconsiders
and approves; Council adopts; the inventory shows Sao Paulo active. Every page passes axe."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Case

RATINGS = {"Strategic alignment": "4", "Exchange content": "4", "Community support": "3", "Partner capacity": "4",
           "Work plan": "3", "Cost reasonableness": "4"}


@pytest.fixture
def people(make_user):
    return {
        "chen": make_user("cllr.chen", "councillor", department="City Council", full_name="Councillor Grace Chen"),
        "hco": make_user("hana.hco", "hco", department="Strategic and Corporate Policy", full_name="Hana Lindqvist"),
        "committee": make_user("pat.committee", "committee", department="City Clerk's Office", full_name="Pat Nguyen"),
        "council": make_user("clerk.council", "council", department="City Clerk's Office", full_name="Jordan Blake"),
    }


def state_of(page) -> str:
    return page.locator(".summary .state").inner_text()


def action(page, legend: str):
    """Return the action form on the case page whose fieldset has this legend."""
    return page.get_by_role("group", name=legend, exact=True)


def act(page, axe_check, legend: str, **fields) -> None:
    """Fill an action form by its labels and press its button; check the page that follows."""
    form = action(page, legend)
    for label, value in fields.items():
        form.get_by_label(label.replace("_", " "), exact=False).first.fill(value)
    form.get_by_role("button", name=legend, exact=True).click()
    page.wait_for_load_state()
    axe_check(page)


def decide(page, axe_check, outcome: str, **fields) -> None:
    """Record a committee's or Council's decision through the case page's one decision form: its
    outcome chosen among the radio buttons, its fields filled by their labels."""
    form = action(page, "Record the decision")
    form.get_by_role("radio", name=outcome, exact=True).check()
    for label, value in fields.items():
        form.get_by_label(label.replace("_", " "), exact=False).first.fill(value)
    form.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()
    axe_check(page)


def score(page, case_id: int, people) -> None:
    """Score through the case page's scoring form, as the Healthy City Office officer does."""
    page.get_by_label("I have no conflict of interest").check()
    for label, value in RATINGS.items():
        # Each button names its point: "4 very good".
        page.get_by_role("group", name=re.compile(f"^{label}")).get_by_label(re.compile(rf"^{value} ")).check()
    page.get_by_role("button", name="Submit score").click()
    page.get_by_text("Your score has been recorded.").wait_for()


def propose_sao_paulo(page, axe_check) -> None:
    page.get_by_role("link", name="Propose a partnership").click()
    page.wait_for_url("**/partnerships/propose")
    axe_check(page)
    page.get_by_label("Title").fill("Revive the Toronto–Sao Paulo technical exchange")
    page.get_by_label("Centre for research excellence and knowledge development").check()
    page.get_by_label("Leading cultural capital").check()
    page.get_by_label("Revive a dormant or completed partnership of the inventory").check()
    page.get_by_label("Inventory partnership").select_option(label="Sao Paulo, Brazil (dormant)")
    page.get_by_label("Sponsoring organization").select_option("FCM")
    page.get_by_label("The sponsor's funding is secured").check()
    page.get_by_label("Sponsor's contribution (CAD)").fill("45000.00")
    page.get_by_label("City's contribution (CAD)").fill("15000.00")
    page.get_by_label("Focus area 1").fill("Waste management")
    page.get_by_label("Focus area 2").fill("Healthy City approach")
    page.get_by_label("Focus area 3").fill("Heritage maintenance")
    page.get_by_label("Lead department").fill("Solid Waste Management Services")
    page.get_by_label("Duration (months)").fill("24")
    page.get_by_label("Rationale").fill("Sao Paulo asks to revive the 1987 exchange; Toronto's Brazilian "
                                        "community and the Healthy City Office support it.")
    page.get_by_label("Expected outcomes").fill("A joint waste study and two staff exchanges a year.")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    axe_check(page)


def test_councillor_revives_sao_paulo_through_to_council_adoption(page, sign_in, axe_check, people):
    sign_in(page, people["chen"])
    axe_check(page)
    propose_sao_paulo(page, axe_check)
    case_id = int(page.url.rsplit("/", 1)[1])
    assert state_of(page) == "Draft"
    assert page.get_by_text("Sao Paulo, Brazil", exact=True).is_visible()
    assert page.get_by_role("link", name="Sao Paulo, Brazil (dormant)").is_visible()  # the entry revived
    act(page, axe_check, "Submit")
    assert state_of(page) == "Submitted"

    sign_in(page, people["hco"])
    axe_check(page)
    page.get_by_role("link", name="Revive the Toronto–Sao Paulo technical exchange").first.click()
    axe_check(page)
    act(page, axe_check, "Start review")
    assert state_of(page) == "Under review"
    score(page, case_id, people)
    axe_check(page)
    act(page, axe_check, "Recommend to committee", Comment="Recommended: FCM funding is secured.")
    assert state_of(page) == "At committee"

    sign_in(page, people["committee"])
    axe_check(page)
    page.goto(f"/cases/{case_id}")
    axe_check(page)
    # Sent without its reason, the deferral is refused naming the comment, and what was typed stays.
    decide(page, axe_check, "Defer", **{"Meeting and item reference": "2026.PF13.5", "Votes for": "6"})
    expect(page.get_by_role("link", name=re.compile("^Comment: A comment is required"))).to_be_visible()
    form = action(page, "Record the decision")
    expect(form.get_by_role("radio", name="Defer", exact=True)).to_be_checked()
    expect(form.get_by_label("Meeting and item reference")).to_have_value("2026.PF13.5")
    decide(page, axe_check, "Defer", Comment="Deferred for the Brazilian consulate's letter of support.",
           **{"Motion": "That the Committee defer the item to its next meeting.", "Votes against": "1"})
    assert state_of(page) == "Deferred"
    act(page, axe_check, "Reconsider")
    assert state_of(page) == "At committee"
    decide(page, axe_check, "Approve and refer to Council", **{
        "Meeting and item reference": "2026.PF14.2",
        "Motion": "That the Committee recommend that Council revive the partnership.", "Votes for": "7",
        "Votes against": "0", "Members who declared an interest": "Councillor Marco Rossi"})
    assert state_of(page) == "At Council"
    decisions = page.get_by_role("region", name="Decisions of the Committee and Council")
    assert decisions.get_by_text("2026.PF13.5").is_visible()
    assert decisions.get_by_text("Councillor Marco Rossi").is_visible()

    sign_in(page, people["council"])
    axe_check(page)
    page.goto(f"/cases/{case_id}")
    axe_check(page)
    decide(page, axe_check, "Adopt", **{"Meeting and item reference": "2026.CC15.4",
                                        "Motion": "That Council revive the technical exchange partnership with Sao Paulo."})
    assert state_of(page) == "Adopted"

    page.get_by_role("link", name="Partnerships", exact=True).click()
    page.wait_for_url("**/partnerships")
    axe_check(page)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Sao Paulo", exact=True))
    assert row.get_by_text("Active", exact=True).is_visible()
    page.get_by_role("link", name="Sao Paulo", exact=True).click()
    expect(page.get_by_role("link", name="Revive the Toronto–Sao Paulo technical exchange")).to_be_visible()
    axe_check(page)
    page.goto("/partnerships/decisions?q=2026.PF14")
    axe_check(page)
    assert page.get_by_text("2026.PF14.2").is_visible()
    db.session.rollback()  # end the test's read transaction: the server committed since
    case = db.session.scalar(select(Case).where(Case.id == case_id))
    assert case.state == "adopted" and case.data["partner_city"] == "Sao Paulo"
