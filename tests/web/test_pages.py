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


def test_a_refused_form_says_so_at_the_top_once(app, make_user):
    # The errors beside the fields are not enough for someone who cannot see which are marked.
    make_user("ann", "staff")
    make_user("chen", "councillor", department="City Council")
    me = app.test_client()
    me.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    r = me.post("/account/password", data={"current": TEST_PASSWORD, "new": "short"})
    assert r.status_code == 422 and r.get_data(as_text=True).count("Please correct the fields marked below.") == 1
    cllr = app.test_client()
    cllr.post("/login", data={"username": "chen", "password": TEST_PASSWORD})
    r = cllr.post("/partnerships/propose", data={"title": ""})
    assert r.status_code == 422 and r.get_data(as_text=True).count("Please correct the fields marked below.") == 1
    assert "Please correct" not in me.get("/account/password").get_data(as_text=True)
    # Where the engine refused the form with its own message, that message is the one at the top.
    r = me.post("/travel/new", data={"title": ""})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and page.count('class="flash flash-error"') == 1 and "The title is not valid." in page
