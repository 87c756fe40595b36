"""The CAO office's dashboard panel: this year's figures so far and what needs attention."""
from __future__ import annotations

from tests.reports.scenario import build
from tests.reports.test_access import web_client


def test_the_cao_dashboard_shows_the_year_so_far_and_what_waits(app, make_user):
    scenario = build(make_user)  # the clock stands at 1 February 2026
    html = web_client(app, scenario.people["cara"]).get("/").get_data(as_text=True)
    assert "International activities in 2026 so far" in html
    assert "Post-trip reports overdue</th><td class=\"num\">2</td>" in html  # T3 and T6
    assert "Partnerships adopted</th><td class=\"num\">1</td>" in html  # P5, in January
    assert html.count("report overdue</span>") >= 2
    assert "relief R4</a>" in html and "triage late</span>" in html  # submitted 31 December, never triaged
    assert "Waiting longest" in html and "partnership P4</a>" in html  # deferred since November
    staff_html = web_client(app, scenario.people["sam"]).get("/").get_data(as_text=True)
    assert "so far" not in staff_html
