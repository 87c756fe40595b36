"""In the browser: a comment on a request's page goes on its timeline; an empty one is refused
beside the box. Both pages pass the axe scan."""
from __future__ import annotations

from playwright.sync_api import expect

from extensions import db
from tests.workflows.relief.conftest import relief_data
from workflows import engine


def test_a_comment_from_the_case_page_appears_on_its_timeline(page, make_user, sign_in, axe_check):
    sam = make_user("sam", "staff", full_name="Sam Okafor")
    hana = make_user("hana", "hco", department="Strategic and Corporate Policy", full_name="Hana Lindqvist")
    case = engine.create_case(db.session, sam, "relief", "Flood relief for Soyapango", ["compassion"], relief_data())
    case = engine.fire(db.session, sam, case.id, "submit", case.version)
    sign_in(page, hana)
    page.goto(f"/cases/{case.id}")
    box = page.get_by_label("Your comment")
    page.get_by_role("button", name="Add comment").click()
    assert page.locator(".comment-form .error-text").inner_text() == "Write a comment."
    axe_check(page)
    page.get_by_label("Your comment").fill("Is the Red Cross appeal still open?")
    page.get_by_role("button", name="Add comment").click()
    # (expect waits for the page after the click; a bare read could see the page before it.)
    expect(page.get_by_text("Your comment is on the record")).to_be_visible()
    timeline = page.locator("ol.timeline li").last
    expect(timeline).to_contain_text("Hana Lindqvist")
    expect(timeline).to_contain_text("Commented")
    expect(timeline.locator("blockquote")).to_have_text("Is the Red Cross appeal still open?")
    expect(page.locator(".summary .state")).to_have_text("Submitted")
    expect(box).to_have_value("")
    axe_check(page)
