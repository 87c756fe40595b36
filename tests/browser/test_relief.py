"""End to end in the browser: relief requests from the request form to closed, within the CAO's
authority and above it (Council decides), with an axe scan of every page visited."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

import clock
from extensions import db
from models import Case
from workflows.fields import money_text

RATINGS = {"Unmet need": "4", "City capability": "4", "Time-critical": "4", "Channel accountability": "4",
           "Relationship": "4", "Leverage": "3", "Recovery": "3"}
POLICY = "Strategic and Corporate Policy"


@pytest.fixture
def people(make_user):
    return {
        "owner": make_user("sam", "staff", full_name="Sam Okafor"),
        "hco": make_user("hana", "hco", department=POLICY, full_name="Hana Lindqvist"),
        "cao": make_user("morgan", "cao", department="Chief Administrative Officer", full_name="Morgan Ellis"),
        "council": make_user("jordan", "council", department="City Clerk's Office", full_name="Jordan Blake"),
        "finance": make_user("ravi", "finance", department="Finance", full_name="Ravi Sharma"),
    }


def state_of(page) -> str:
    return page.locator(".summary .state").inner_text()


def action(page, button: str):
    """Return the action form on the case page whose button has this name."""
    return page.locator("form.action-form").filter(has=page.get_by_role("button", name=button, exact=True))


def fill_request(page, amount: str) -> None:
    page.get_by_label("City struck").fill("Soyapango")
    page.get_by_label("Country", exact=True).fill("El Salvador")
    page.get_by_label("Partner city in the inventory").select_option(label="Soyapango, El Salvador (active)")
    page.get_by_label("Kind of disaster").select_option("hurricane")
    page.get_by_label("Date of the disaster").fill((clock.today() - timedelta(days=2)).isoformat())
    page.get_by_label("People affected (estimate)").fill("180000")
    page.get_by_label("What happened and what is needed").fill("Flooding and landslides; water systems are down.")
    page.get_by_label("Financial help (a grant)").check()
    page.get_by_label("Technical help (advice, expertise)").check()
    page.get_by_label("Amount requested (CAD)").fill(amount)
    page.get_by_label("Delivering agency").fill("FCM municipal partnership fund")
    page.get_by_label("Who is asking for help").fill("Municipality of Soyapango")
    page.get_by_label("Kind of organisation").select_option("municipality")
    page.get_by_label("Contact name").fill("Ana Martinez")
    page.get_by_label("Contact email").fill("ana.martinez@soyapango.example")


def score(page, case_id: int, people) -> None:
    """Score through the case page's scoring form, as the Healthy City Office officer does."""
    page.get_by_label("I have no conflict of interest").check()
    for label, value in RATINGS.items():
        # Each button names its point: "4 very good".
        page.get_by_role("group", name=re.compile(f"^{label}")).get_by_label(re.compile(rf"^{value} ")).check()
    page.get_by_role("button", name="Submit score").click()
    # The message takes the focus, so that it is heard (the page once went to the scoring heading
    # instead, the message above it unseen and unheard).
    expect(page.locator("#messages")).to_be_focused()
    expect(page.locator("#messages")).to_contain_text("Your score has been recorded.")


def open_case(page, axe_check, case_id: int) -> None:
    page.goto(f"/cases/{case_id}")
    axe_check(page)


def request_to_closed(page, sign_in, axe_check, people, amount: str, proposed: str) -> int:
    sign_in(page, people["owner"])
    axe_check(page)
    page.get_by_role("link", name="New relief request").click()
    axe_check(page)
    fill_request(page, amount)
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    axe_check(page)
    assert state_of(page) == "Submitted"
    case_id = int(page.url.rsplit("/", 1)[1])

    sign_in(page, people["hco"], check=False)  # the login page was scanned once
    axe_check(page)
    page.get_by_role("link", name="Relief triage").click()
    axe_check(page)
    page.get_by_role("button", name=f"Start triage of request {case_id}").click()
    page.wait_for_url(f"**/cases/{case_id}")
    axe_check(page)
    assert state_of(page) == "In triage"
    score(page, case_id, people)
    axe_check(page)
    form = action(page, "Recommend")
    form.get_by_label("Recommendation to the CAO").select_option("approve")
    form.get_by_label("Amount proposed").fill(proposed)
    form.get_by_label("Comment").fill("Partner city; clear channel; time-critical.")
    form.get_by_role("button", name="Recommend").click()
    page.wait_for_load_state()
    axe_check(page)
    assert state_of(page) == "Recommended"

    sign_in(page, people["cao"], check=False)  # the login page was scanned once
    open_case(page, axe_check, case_id)
    action(page, "Approve").get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    axe_check(page)
    return case_id


def pay_and_close(page, sign_in, axe_check, people, case_id: int, paid: str) -> None:
    sign_in(page, people["finance"], check=False)  # the login page was scanned once
    open_case(page, axe_check, case_id)
    form = action(page, "Record disbursement")
    form.get_by_label("Amount paid").fill(paid)
    form.get_by_label("Paid on").fill(clock.today().isoformat())
    form.get_by_label("Payment reference").fill("EFT-RLF-0147")
    form.get_by_role("button", name="Record disbursement").click()
    page.wait_for_load_state()
    axe_check(page)
    assert state_of(page) == "Disbursed"

    sign_in(page, people["hco"], check=False)  # the login page was scanned once
    open_case(page, axe_check, case_id)
    form = action(page, "Close")
    form.get_by_label("Outcome").fill("Water systems restored in three districts; report received.")
    form.get_by_role("button", name="Close").click()
    page.wait_for_load_state()
    axe_check(page)
    assert state_of(page) == "Closed"
    assert page.get_by_text(f"${money_text(paid)} on").is_visible()


def test_request_within_the_cao_authority_goes_from_the_form_to_closed(page, sign_in, axe_check, people):
    case_id = request_to_closed(page, sign_in, axe_check, people, "20000.00", "20000.00")
    assert state_of(page) == "Approved"
    pay_and_close(page, sign_in, axe_check, people, case_id, "20000.00")
    db.session.rollback()  # end the snapshot read before the browser made its changes
    case = db.session.get(Case, case_id)
    assert (case.state, str(case.amount_granted), str(case.amount_paid)) == ("closed", "20000.00", "20000.00")


def test_request_above_the_cao_authority_is_decided_by_council(page, sign_in, axe_check, people):
    case_id = request_to_closed(page, sign_in, axe_check, people, "60000.00", "60000.00")
    assert state_of(page) == "Council review"
    sign_in(page, people["council"], check=False)  # the login page was scanned once
    open_case(page, axe_check, case_id)
    assert page.get_by_text("$60,000.00").first.is_visible()
    action(page, "Approve").get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    axe_check(page)
    assert state_of(page) == "Approved"
    pay_and_close(page, sign_in, axe_check, people, case_id, "60000.00")
    db.session.rollback()  # end the snapshot read before the browser made its changes
    assert db.session.get(Case, case_id).state == "closed"
