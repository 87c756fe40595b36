"""Who may read the annual report, and how a bad request is answered."""
from __future__ import annotations

import json

import pytest

import clock
from tests.factories import TEST_PASSWORD


def web_client(app, user):
    """Return a test client signed in through the login form."""
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("role", ["staff", "hco", "dept_head", "committee", "council", "finance", "councillor"])
def test_the_api_refuses_other_roles_with_403(make_user, api, role):
    response = api(make_user("someone", role)).get("/api/v1/reports/annual?year=2025")
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


def test_the_api_needs_a_token(api):
    assert api(None).get("/api/v1/reports/annual?year=2025").status_code == 401


@pytest.mark.parametrize("role", ["cao", "admin"])
def test_the_cao_office_and_administrators_read_every_format(make_user, api, role):
    client = api(make_user("reader", role))
    assert client.get("/api/v1/reports/annual").get_json()["year"] == clock.today().year  # this year by default
    assert client.get("/api/v1/reports/annual?year=2025&format=csv").content_type == "text/csv; charset=utf-8"


@pytest.mark.parametrize("query, field", [("year=1999", "year"), ("year=next", "year"), ("year=3000", "year"),
                                          ("year=2025&format=xml", "format")])
def test_a_bad_year_or_format_is_refused_with_422(make_user, api, query, field):
    response = api(make_user("cara", "cao")).get(f"/api/v1/reports/annual?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_the_report_is_in_the_openapi_document(app):
    doc = app.test_client().get("/api/openapi.json").get_json()
    assert "/api/v1/reports/annual" in doc["paths"]


def test_the_web_page_and_downloads_are_for_the_cao_office(app, api, make_user):
    cara = make_user("cara", "cao")
    cao = web_client(app, cara)
    page = cao.get("/reports/annual?year=2025")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "annual report to Council, 2025" in html and "Annual report</a>" in html
    assert cao.get("/reports/annual.csv?year=2025").mimetype == "text/csv"
    # A CSV taken before its year ends says it is partial, as the JSON's "complete" does.
    assert "report,complete,,false" in cao.get(f"/reports/annual.csv?year={clock.today().year}").get_data(as_text=True)
    # The page offers every format the API does: the JSON file is the API's answer.
    assert 'href="/reports/annual.json?year=2025">Download JSON</a>' in html
    clock.set(clock.now())  # the same second for both: the report says when it was made
    as_file = cao.get("/reports/annual.json?year=2025")
    assert as_file.mimetype == "application/json"
    assert as_file.headers["Content-Disposition"] == 'attachment; filename="accord-annual-report-2025.json"'
    assert json.loads(as_file.data) == api(cara).get("/api/v1/reports/annual?year=2025").get_json()
    clock.set(None)
    pdf = cao.get("/reports/annual.pdf?year=2025")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert cao.get("/reports/annual?year=1999").status_code == 404
    staff = web_client(app, make_user("sam", "staff"))
    assert staff.get("/reports/annual?year=2025").status_code == 403
    assert staff.get("/reports/annual.csv?year=2025").status_code == 403
    assert staff.get("/reports/annual.json?year=2025").status_code == 403
    assert "Annual report</a>" not in staff.get("/").get_data(as_text=True)
