"""A trip from request to accepted report through the web forms: the staff path, the councillor path
and the above-threshold path, with an axe scan of every page visited."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import expect

import clock

TODAY = date(2026, 3, 2)
START = TODAY + timedelta(days=30)
END = START + timedelta(days=4)


def at(day: date) -> None:
    """Move the clock (the live server runs in this process) to the middle of a day in Toronto."""
    clock.set(datetime.combine(day, datetime.min.time()) + timedelta(hours=16))


@pytest.fixture
def cast(make_user):
    at(TODAY)
    yield {
        "sam": make_user("sam", "staff", full_name="Sam Okafor"),
        "dana": make_user("dana", "dept_head", full_name="Dana Whitfield"),
        "chen": make_user("chen", "councillor", department="City Council", full_name="Grace Chen"),
        "pat": make_user("pat", "committee", department="City Clerk's Office", full_name="Pat Nguyen"),
        "cao": make_user("morgan", "cao", department="Chief Administrative Officer", full_name="Morgan Ellis"),
    }
    clock.set(None)


def request_trip(page, axe_check, title: str, costs: dict[str, str], total: str) -> str:
    """Fill in the new request form, save the draft and submit it; return the case page's URL."""
    page.get_by_role("link", name="New travel request").click()
    expect(page.get_by_role("heading", name="New travel request")).to_be_visible()
    axe_check(page)
    page.get_by_label("Title of the request").fill(title)
    page.get_by_label("Highly skilled and competent leadership").check()
    page.get_by_label("Advocate for local democratic government").check()
    page.get_by_label("Event", exact=True).fill(title)
    page.get_by_label("Organizer").fill("Metropolis")
    page.get_by_label("City", exact=True).fill("Sao Paulo")
    page.get_by_label("Country").fill("Brazil")
    page.get_by_label("First day").fill(START.isoformat())
    page.get_by_label("Last day").fill(END.isoformat())
    page.get_by_label("Your role at the event").select_option("presenter")
    page.get_by_label("Purpose of the trip").fill("Present the Healthy City work; meet the Sao Paulo delegation.")
    for label, amount in costs.items():
        page.get_by_label(label, exact=True).fill(amount)
    expect(page.locator("#cost-total")).to_have_text(total)  # added up as typed, in the browser
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    expect(page.locator("tfoot")).to_contain_text(total)  # the server's total
    axe_check(page)
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator(".summary")).to_contain_text("Submitted")
    axe_check(page)
    return page.url


def act(page, sign_in, axe_check, user, title: str, button: str, state: str, comment: str | None = None) -> None:
    """Sign in, open the request from the dashboard, take a step and see the new state."""
    sign_in(page, user, check=False)  # the login page was scanned at the first sign-in
    axe_check(page)
    page.get_by_role("link", name=title).first.click()
    axe_check(page)
    if comment:
        page.locator(f"form[action$='/{button_trigger(button)}'] textarea[name$='comment']").fill(comment)
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.locator(".summary")).to_contain_text(state)
    axe_check(page)


TRIGGERS = {"Approve": "approve", "Accept the report": "accept_report", "Mark as travelled": "complete_trip",
            "Return for changes": "return", "Return the report": "return_report"}


def button_trigger(button: str) -> str:
    return TRIGGERS[button]


def travel_and_report(page, sign_in, axe_check, traveller, title: str, by_enter: bool = False) -> None:
    """The traveller marks the trip as taken, then files the report with contacts (one added by
    script), by its button or (by_enter) by Enter in the last field."""
    at(START)
    act(page, sign_in, axe_check, traveller, title, "Mark as travelled", "Travelled")
    at(END + timedelta(days=5))  # days later, so the traveller signs in again (a sign-in lasts a day)
    sign_in(page, traveller, check=False)
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_text(f"Post-trip report due by {(END + timedelta(days=30)).isoformat()}")).to_be_visible()
    page.get_by_label("Summary of the event").fill("Three days of sessions on metropolitan health governance.")
    page.get_by_label("What the City can learn from it").fill("Participatory budgeting for health centres.")
    page.locator("#submit_report-contacts-0-name").fill("Ana Souza")
    page.locator("#submit_report-contacts-0-organization").fill("Prefeitura de Sao Paulo")
    page.locator("#submit_report-contacts-0-email").fill("ana.souza@example.org")
    page.get_by_role("button", name="Add another contact").click()
    page.locator("#submit_report-contacts-3-name").fill("Joan Puig")
    page.locator("#submit_report-contacts-3-organization").fill("Metropolis Secretariat")
    page.get_by_label("Actual cost").fill("2875.40")
    axe_check(page)
    if by_enter:  # (not the "Add another contact" button, the form's first)
        # The Enter that picks a character in an input method files nothing.
        page.locator("#submit_report-contacts-3-name").dispatch_event("keydown", {"key": "Enter", "isComposing": True})
        page.wait_for_timeout(300)
        expect(page.locator("#submit_report-contacts-3-name")).to_have_value("Joan Puig")
        page.get_by_label("Actual cost").press("Enter")
    else:
        page.get_by_role("button", name="File the post-trip report").click()
    expect(page.locator(".summary")).to_contain_text("Report submitted")
    expect(page.get_by_role("cell", name="Joan Puig")).to_be_visible()
    expect(page.locator("tfoot")).to_contain_text("2,875.40")
    axe_check(page)


def test_staff_path(page, cast, sign_in, axe_check):
    at(TODAY)
    sign_in(page, cast["sam"])
    request_trip(page, axe_check, "Metropolis World Congress", {"Registration": "650", "Transport": "1400.50",
                                                                "Accommodation": "900"}, "2,950.50")
    act(page, sign_in, axe_check, cast["dana"], "Metropolis World Congress", "Approve", "Approved")
    travel_and_report(page, sign_in, axe_check, cast["sam"], "Metropolis World Congress")
    act(page, sign_in, axe_check, cast["dana"], "Metropolis World Congress", "Accept the report", "Closed",
        comment="Forwarded to the CAO's annual report.")
    expect(page.get_by_text("Forwarded to the CAO's annual report.")).to_be_visible()


def test_councillor_path(page, cast, sign_in, axe_check):
    at(TODAY)
    sign_in(page, cast["chen"])
    # Amounts as people type them, which the server takes: the live total adds them up the same.
    request_trip(page, axe_check, "IULA World Congress",
                 {"Transport": "1,800.", "Per diem (meals and incidentals)": ".25", "Other": "420.000"}, "2,220.25")
    act(page, sign_in, axe_check, cast["pat"], "IULA World Congress", "Approve", "Approved")
    travel_and_report(page, sign_in, axe_check, cast["chen"], "IULA World Congress", by_enter=True)
    act(page, sign_in, axe_check, cast["pat"], "IULA World Congress", "Accept the report", "Closed")


def test_above_threshold_path_goes_to_the_cao(page, cast, sign_in, axe_check):
    at(TODAY)
    sign_in(page, cast["sam"])
    request_trip(page, axe_check, "ICLEI World Congress", {"Registration": "1200", "Transport": "2900",
                                                           "Accommodation": "1400", "Other": "0.75"}, "5,500.75")
    act(page, sign_in, axe_check, cast["dana"], "ICLEI World Congress", "Approve", "CAO review")
    act(page, sign_in, axe_check, cast["cao"], "ICLEI World Congress", "Approve", "Approved")
    travel_and_report(page, sign_in, axe_check, cast["sam"], "ICLEI World Congress")
    act(page, sign_in, axe_check, cast["dana"], "ICLEI World Congress", "Accept the report", "Closed")
    at(TODAY)
    sign_in(page, cast["cao"])
    page.get_by_role("link", name="Overdue reports").click()
    expect(page.get_by_text("No report is overdue.")).to_be_visible()
    assert re.search(r"/travel/overdue$", page.url)
    axe_check(page)


def test_a_returned_request_and_a_returned_report_wait_for_the_traveller_to_mend(page, cast, sign_in, axe_check):
    # What only the traveller can move on is on their dashboard; the timeline says what they
    # mended; a returned report comes back as filed, to change rather than type again.
    title = "UCLG World Summit"
    at(TODAY)
    sign_in(page, cast["sam"])
    request_trip(page, axe_check, title, {"Transport": "1400"}, "1,400.00")
    act(page, sign_in, axe_check, cast["dana"], title, "Return for changes", "Draft",
        comment="Add the registration fee.")
    sign_in(page, cast["sam"], check=False)
    waiting = page.locator("section[aria-labelledby='awaiting-h']")
    waiting.get_by_role("link", name=title).click()
    # Why it came back is said at the top of the page (and in the timeline), and where it is edited.
    expect(page.get_by_role("region", name="Why it came back to you")).to_contain_text("Add the registration fee.")
    page.get_by_role("link", name="Edit this request").click()
    expect(page.get_by_role("region", name="Why it came back to you")).to_contain_text("Add the registration fee.")
    page.get_by_label("Registration", exact=True).fill("650")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Changed: Estimated cost.")).to_be_visible()
    expect(page.get_by_text("the seals check out")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator(".summary")).to_contain_text("Submitted")
    act(page, sign_in, axe_check, cast["dana"], title, "Approve", "Approved")
    travel_and_report(page, sign_in, axe_check, cast["sam"], title)
    act(page, sign_in, axe_check, cast["dana"], title, "Return the report", "Travelled",
        comment="Say what the City should take from the sessions.")
    sign_in(page, cast["sam"], check=False)
    page.locator("section[aria-labelledby='awaiting-h']").get_by_role("link", name=title).click()
    expect(page.get_by_label("Summary of the event")).to_have_value(
        "Three days of sessions on metropolitan health governance.")
    expect(page.locator("#submit_report-contacts-1-name")).to_have_value("Joan Puig")  # the empty rows left out
    page.get_by_label("What the City can learn from it").fill("Participatory budgeting for Toronto's health centres.")
    axe_check(page)
    page.get_by_role("button", name="File the post-trip report").click()
    expect(page.locator(".summary")).to_contain_text("Report submitted")
    expect(page.get_by_text("Participatory budgeting for Toronto's health centres.")).to_be_visible()
    act(page, sign_in, axe_check, cast["dana"], title, "Accept the report", "Closed")
