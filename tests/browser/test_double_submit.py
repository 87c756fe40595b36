"""In the browser: a form sent again while its first sending is under way is sent once
(static/accord.js): a second click on a slow day made a second request."""
from __future__ import annotations

import time

from playwright.sync_api import expect
from sqlalchemy import func, select

from extensions import db
from models import Case
from workflows import engine


def _cases() -> int:
    db.session.remove()  # (a read begun before would not see what the server wrote)
    return db.session.scalar(select(func.count()).select_from(Case))


def test_a_second_click_while_the_first_is_answered_makes_no_second_request(page, make_user, sign_in, monkeypatch):
    sam = make_user("sam", "staff", full_name="Sam Okafor")
    create = engine.create_case

    def slow_create(*args, **kwargs):
        time.sleep(0.6)  # (a busy server: the page is still there to be clicked again)
        return create(*args, **kwargs)

    monkeypatch.setattr(engine, "create_case", slow_create)
    sign_in(page, sam, check=False)
    page.goto("/travel/new")
    page.get_by_label("Title of the request").fill("Metropolis congress")
    page.get_by_label("Highly skilled and competent leadership").check()
    page.get_by_label("Event", exact=True).fill("Metropolis congress")
    save = page.get_by_role("button", name="Save draft")
    save.scroll_into_view_if_needed()
    box = save.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    with page.expect_request(lambda r: r.method == "POST"):
        page.mouse.click(x, y)
    time.sleep(0.2)
    page.mouse.click(x, y)  # (the mouse, as a person would: the page is still there)
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    assert _cases() == 1
    # Back on the form from the history, it is sent again when asked.
    page.go_back()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    assert _cases() == 2
