"""A person signs in and sees their dashboard; both pages pass the axe scan."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.factories import TEST_PASSWORD


def test_sign_in_shows_the_dashboard(page, make_user, sign_in, axe_check):
    user = make_user("sam", "staff", full_name="Sam Okafor")
    sign_in(page, user)
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_role("heading", name="Awaiting my action").is_visible()
    assert page.get_by_text("Sam Okafor").is_visible()
    axe_check(page)


def test_wrong_password_is_refused_with_a_message(page, make_user, axe_check):
    make_user("sam", "staff")
    page.goto("/login")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Wrong username or password.").is_visible()
    axe_check(page)


def test_sign_out_ends_the_session(page, make_user, sign_in, live_server):
    user = make_user("sam", "staff")
    sign_in(page, user)
    cookies = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    # A copy of the old cookie no longer opens the dashboard.
    page.context.add_cookies(cookies)
    page.goto("/")
    assert "/login" in page.url


def test_a_refused_form_takes_the_focus_to_a_list_of_what_to_mend(page, make_user, sign_in, axe_check):
    # The marks beside the fields are found by looking; a keyboard or screen reader user starts at
    # the top of the page, so the focus goes to the list of refused fields, each a link to its field.
    sign_in(page, make_user("sam", "staff"))
    page.goto("/account/password")
    page.get_by_label("Current password").fill(TEST_PASSWORD)
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Change password").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Please correct the fields marked below.")
    axe_check(page)
    summary.get_by_role("link", name="New password:").click()
    expect(page.get_by_label("New password")).to_be_focused()
