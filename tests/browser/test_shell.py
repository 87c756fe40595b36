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
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
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
    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Current password").fill(TEST_PASSWORD)
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("short")
    page.get_by_role("button", name="Change password").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Please correct the fields marked below.")
    axe_check(page)
    summary.get_by_role("link", name="New password:").click()
    expect(page.get_by_label("New password", exact=True)).to_be_focused()
    # Sent again still wrong, from the address the link gave ("#new_password"), the page shown
    # again takes the focus to its new list, not to the field the old link named.
    page.get_by_label("Current password").fill(TEST_PASSWORD)
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("shorter")
    page.get_by_role("button", name="Change password").click()
    expect(summary).to_be_focused()
    assert "#" not in page.url


def test_the_list_of_requests_is_filtered_and_paged_from_the_menu(page, make_user, sign_in, axe_check, monkeypatch):
    # Older requests than the dashboard shows are found here: a person narrows the list and turns
    # its pages; a refused filter sends the focus to the summary naming it.
    from extensions import db
    from web import cases as case_views
    from workflows import engine

    monkeypatch.setattr(case_views, "PER_PAGE", 2)
    sam = make_user("sam", "staff")
    made = [engine.create_case(db.session, sam, "travel", f"Trip {n}", ["leadership"], {}).id for n in range(3)]
    sign_in(page, sam)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    expect(page.get_by_role("heading", name="Requests")).to_be_visible()
    expect(page.locator("caption")).to_have_text("3 requests, the most recently made first: page 1 of 2")
    axe_check(page)
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_role("link", name="Trip 0")).to_be_visible()
    page.get_by_label("Workflow").select_option(label="Travel request")
    page.get_by_label("State").select_option(label="Draft")
    page.get_by_label("Only requests I made").check()
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("caption")).to_have_text("3 requests match these filters, the most recently made first: page 1 of 2")
    expect(page.get_by_label("State")).to_have_value("draft")
    page.get_by_role("link", name="Trip 2").click()
    page.wait_for_url(f"**/cases/{made[2]}")
    page.goto("/cases?state=nowhere")
    expect(page.locator("#error-summary")).to_be_focused()
    axe_check(page)
    page.locator("#error-summary").get_by_role("link", name="State:").click()
    expect(page.get_by_label("State")).to_be_focused()


def test_an_administrator_adds_a_colleague_who_then_signs_in(page, make_user, sign_in, axe_check):
    make_user("ada", "admin", department="Information and Technology")
    make_user("sam", "staff", department="Toronto Public Health")
    from extensions import db
    from models import User

    sign_in(page, db.session.scalar(db.select(User).where(User.username == "ada")))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name="Add a user").click()
    axe_check(page)
    page.get_by_label("Username").fill("lee.wong")
    page.get_by_label("Full name").fill("Lee Wong")
    page.get_by_label("Department", exact=True).select_option(label="Toronto Public Health")
    page.get_by_role("checkbox", name="Department Head").check()
    page.get_by_label("Initial password").fill("short")
    page.get_by_role("button", name="Add the user").click()
    expect(page.get_by_text("The password is too weak").first).to_be_visible()  # said beside the field
    axe_check(page)
    page.get_by_label("Initial password").fill("a-long-first-passphrase")
    page.get_by_role("button", name="Add the user").click()
    expect(page.get_by_text("lee.wong (Department Head) has been added in Toronto Public Health.")).to_be_visible()
    history = page.get_by_role("region", name="Changes to this account")
    expect(history.get_by_text("Account created")).to_be_visible()
    expect(history.get_by_text("Roles: Department Head")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("lee.wong")
    page.get_by_label("Password").fill("a-long-first-passphrase")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    expect(page.get_by_text("Lee Wong")).to_be_visible()


def _tab_stops(page) -> list[str | None]:
    """Return each table box's tab index on the page, once the page's scripts have run."""
    page.wait_for_load_state("load")
    return page.eval_on_selector_all(".table-scroll", "boxes => boxes.map(b => b.getAttribute('tabindex'))")


def test_a_table_box_is_a_tab_stop_only_while_its_table_scrolls(page, make_user, sign_in):
    from extensions import db
    from workflows import engine

    user = make_user("sam", "staff", full_name="Sam Okafor")
    engine.create_case(db.session, user, "travel", "Metropolis annual meeting, Montreal, with a long title",
                       ["leadership"], {})
    sign_in(page, user)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/cases")
    # Wide enough: the table fits, and Tab does not stop on its box.
    assert _tab_stops(page) == [None]
    # On a phone's width the table is wider than its box: the box takes the focus, so that a
    # keyboard can scroll it to the columns out of sight.
    page.set_viewport_size({"width": 320, "height": 700})
    expect(page.locator(".table-scroll")).to_have_attribute("tabindex", "0")
    page.keyboard.press("Tab")
    while page.evaluate("document.activeElement.className") != "table-scroll":
        page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")
    for _ in range(50):  # (wait_for_function evaluates text, which the CSP forbids)
        if page.evaluate("document.querySelector('.table-scroll').scrollLeft") > 0:
            break
        page.wait_for_timeout(100)
    assert page.evaluate("document.querySelector('.table-scroll').scrollLeft") > 0
    # Back to a wide window, the box is no tab stop again once the focus has left it.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Dashboard").focus()
    expect(page.locator(".table-scroll")).not_to_have_attribute("tabindex", "0")
