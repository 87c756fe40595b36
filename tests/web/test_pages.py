"""What a person using a screen reader hears first on any page: its title, and where they are in the menu."""
from __future__ import annotations

from tests.factories import TEST_PASSWORD


def test_an_error_page_is_titled_with_what_went_wrong(app, make_user):
    # A screen reader announces the title first: "404 · Accord" said only a number.
    make_user("ann", "staff")
    me = app.test_client()
    me.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    page = me.get("/cases/999999").get_data(as_text=True)
    assert "<title>Not found · Accord</title>" in page and "<h1>Not found</h1>" in page


def test_the_menu_marks_the_page_you_are_on(app, make_user):
    make_user("ann", "staff")
    me = app.test_client()
    me.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    dashboard, criteria = me.get("/").get_data(as_text=True), me.get("/criteria").get_data(as_text=True)
    assert '<a href="/" aria-current="page">Dashboard</a>' in dashboard and dashboard.count("aria-current") == 1
    assert '<a href="/criteria" aria-current="page">Criteria</a>' in criteria and criteria.count("aria-current") == 1
