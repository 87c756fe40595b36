"""What a person using a screen reader hears first on any page: its title, and where they are in the menu."""
from __future__ import annotations

import html
import re

import pytest

from tests.factories import TEST_PASSWORD, error_summary


@pytest.fixture
def staff_and_councillor(app, make_user):
    """Return test clients signed in as a member of staff and as a councillor."""
    clients = []
    for username, role, department in (("ann", "staff", None), ("chen", "councillor", "City Council")):
        make_user(username, role, **({"department": department} if department else {}))
        client = app.test_client()
        client.post("/login", data={"username": username, "password": TEST_PASSWORD})
        clients.append(client)
    return clients


def test_an_error_page_is_titled_with_what_went_wrong(app, make_user):
    # A screen reader announces the title first: "404 · Accord" said only a number.
    make_user("ann", "staff")
    me = app.test_client()
    me.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    page = me.get("/cases/999999").get_data(as_text=True)
    assert "<title>Not found · Accord</title>" in page and "<h1>Not found</h1>" in page


@pytest.mark.parametrize("who, role, path, reason", [
    ("ann", "staff", "/relief/triage", "The triage queue is for the Healthy City Office's officers."),
    ("ann", "staff", "/reports/annual", "The annual report is read by the CAO's office and administrators."),
    ("ann", "staff", "/partnerships/propose", "Partnerships are proposed by Members of Council."),
    ("ann", "staff", "/travel/overdue", "for the CAO's office and administrators."),
    ("cara", "cao", "/travel/new", "Travel requests are made by City employees and Members of Council"),
    ("cara", "cao", "/partnerships/new", "Only administrators change the partnership inventory."),
])
def test_a_page_refused_says_who_may_use_it(app, make_user, who, role, path, reason):
    make_user(who, role, department="Chief Administrative Officer")
    me = app.test_client()
    me.post("/login", data={"username": who, "password": TEST_PASSWORD})
    r = me.get(path)
    assert r.status_code == 403 and reason.replace("'", "&#39;") in r.get_data(as_text=True)


def test_a_year_without_a_report_is_named_as_such(app, make_user):
    make_user("cara", "cao", department="Chief Administrative Officer")
    me = app.test_client()
    me.post("/login", data={"username": "cara", "password": TEST_PASSWORD})
    for year in ("abc", "2999"):
        r = me.get(f"/reports/annual?year={year}")
        assert r.status_code == 404 and "There is no annual report for that year: give a year from" in r.get_data(
            as_text=True)


def test_the_menu_marks_the_page_you_are_on(app, make_user):
    make_user("ann", "staff")
    me = app.test_client()
    me.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    dashboard, criteria = me.get("/").get_data(as_text=True), me.get("/criteria").get_data(as_text=True)
    assert '<a href="/" aria-current="page">Dashboard</a>' in dashboard and dashboard.count("aria-current") == 1
    assert '<a href="/criteria" aria-current="page">Criteria</a>' in criteria and criteria.count("aria-current") == 1


def test_the_criteria_page_names_the_fields_a_score_is_computed_from_as_the_forms_do(app, make_user):
    make_user("ann", "staff")
    me = app.test_client()
    me.post("/login", data={"username": "ann", "password": TEST_PASSWORD})
    page = html.unescape(" ".join(me.get("/criteria").get_data(as_text=True).split()))
    for words in ("computed from the request's role at the event", "computed from the request's estimated cost (total)",
                  "computed from the request's people affected",
                  "computed from the request's sponsor's funding secured", "Criteria of the travel request"):
        assert words in page
    for key in ("role_at_event", "estimated_cost", "affected_population", "sponsor_funding_secured", "Criteria of travel"):
        assert key not in page


def test_a_refused_form_says_so_at_the_top_once(staff_and_councillor):
    # The errors beside the fields are not enough for someone who cannot see which are marked.
    me, cllr = staff_and_councillor
    r = me.post("/account/password", data={"current": TEST_PASSWORD, "new": "short", "again": "short"})
    assert r.status_code == 422 and r.get_data(as_text=True).count("Please correct the fields marked below.") == 1
    r = cllr.post("/partnerships/propose", data={"title": ""})
    assert r.status_code == 422 and r.get_data(as_text=True).count("Please correct the fields marked below.") == 1
    assert "Please correct" not in me.get("/account/password").get_data(as_text=True)
    # Where the engine refused the form with its own message, that message is the one at the top.
    r = me.post("/travel/new", data={"title": ""})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and page.count('class="flash flash-error"') == 1 and "The title is not valid." in page


def test_a_refused_form_lists_each_field_to_mend_with_a_link_to_it(staff_and_councillor):
    # Someone who cannot see the red marks learns from the top of the page what to mend, and goes
    # there by the link: to the field, or to the first box of a group of checkboxes.
    me, cllr = staff_and_councillor
    r = me.post("/account/password", data={"current": TEST_PASSWORD, "new": "short", "again": "short"})
    assert error_summary(r.get_data(as_text=True)) == [
        ("new", "New password: The password is too weak: Use at least 10 characters.")]
    r = cllr.post("/partnerships/propose", data={"title": "", "proposal_type": "new"})
    links = dict(error_summary(r.get_data(as_text=True)))
    assert links["title"].startswith("Title: ") and links["goals-0"].startswith("Goals of the framework this proposal serves: ")
    # The engine's refusal of the focus areas as a whole leads to the first of them.
    too_many = {f"focus_areas-{n}": f"Area {n}" for n in range(13)}
    r = cllr.post("/partnerships/propose", data={"title": "Twinning with Kyiv", "goals": ["leadership"],
                                                 "proposal_type": "new", **too_many})
    assert r.status_code == 422
    assert dict(error_summary(r.get_data(as_text=True)))["focus_areas-0"].startswith("Focus areas: ")
    # A page that was not refused has no summary.
    assert error_summary(me.get("/account/password").get_data(as_text=True)) == []


def test_the_sign_in_form_refused_leads_to_its_field_and_gives_up_its_autofocus(app):
    r = app.test_client().post("/login", data={"username": "", "password": "x"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and [target for target, _ in error_summary(page)] == ["username"]
    assert page.count("autofocus") == 1 and '<h2 id="error-summary-title">There is a problem</h2>' in page
    assert 'autofocus' in app.test_client().get("/login").get_data(as_text=True)  # the username's, at first


def test_the_site_has_an_icon_where_pages_name_it_and_where_browsers_look(app):
    # Every page's request for /favicon.ico was a 404 in the browser's console.
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page).group(1)
    r = client.get(icon)
    assert r.status_code == 200 and r.mimetype == "image/svg+xml" and b"<svg" in r.data
    r.close()
    r = client.get("/favicon.ico")
    assert r.status_code == 301 and r.headers["Location"] == icon
