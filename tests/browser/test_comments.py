"""In the browser: a comment on a request's page goes on its timeline; an empty one is refused
beside the box. Both pages pass the axe scan."""
from __future__ import annotations

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
    assert page.get_by_text("Your comment is on the record").is_visible()
    timeline = page.locator("ol.timeline li").last
    assert "Hana Lindqvist" in timeline.inner_text() and "Commented" in timeline.inner_text()
    assert timeline.locator("blockquote").inner_text() == "Is the Red Cross appeal still open?"
    assert page.locator(".summary .state").inner_text() == "Submitted"
    assert box.input_value() == ""
    axe_check(page)
