"""The dashboard and the list of what waits for a person name, for each request, the step it waits
for them to take: "Awaiting my action" listed requests, and a person opened each to learn whether it
wanted a decision, a score or their report."""
from __future__ import annotations

import re

from extensions import db
from tests.scoring.test_scores_api import _web
from tests.workflows.relief.conftest import RATINGS, make_case, people  # noqa: F401 (fixtures)
from workflows.scoring import submit_score


def your_steps(page: str) -> dict[int, str]:
    """Return each row's "Your step" cell, by case id, from a table that has the column."""
    assert '<th scope="col">Your step</th>' in page
    rows = re.findall(r'<a href="/cases/(\d+)">.*?<span class="state[^>]*>[^<]*</span></td>\s*<td>([^<]*)</td>',
                      page, re.S)
    return {int(case_id): step for case_id, step in rows}


def test_each_request_waiting_names_the_step_it_waits_for(app, people, make_case):
    draft, submitted, triage = make_case("draft"), make_case("submitted"), make_case("in_triage")
    recommended = make_case("recommended")
    hana, omar = _web(app, people["hco"]), _web(app, people["hco2"])
    # The officer who took the triage up: a recommendation waits for a score, so "Score" comes
    # first, then the steps that move it on before those that send it back or end it.
    steps = your_steps(hana.get("/").get_data(as_text=True))
    assert steps[submitted.id] == "Start triage"
    assert steps[triage.id] == "Score, request information or decline (screen out)"
    assert steps == your_steps(hana.get("/waiting").get_data(as_text=True))
    # A colleague's complete score in, the officer still scores it first: reviewers recommend, and
    # the officer reads the colleague's review only once theirs is in (their colleague does not see
    # the request: it is left to the officer who took it up).
    submit_score(db.session, people["hco2"], triage.id, RATINGS)
    assert your_steps(hana.get("/").get_data(as_text=True))[triage.id] == (
        "Score, request information or decline (screen out)")
    assert triage.id not in your_steps(omar.get("/").get_data(as_text=True))  # (left to its officer, Hana)
    submit_score(db.session, people["hco"], triage.id, RATINGS)
    assert your_steps(hana.get("/").get_data(as_text=True))[triage.id] == (
        "Recommend, request information or decline (screen out)")
    # The CAO decides; the owner's own draft waits for its submission (not for its withdrawal).
    assert your_steps(_web(app, people["cao"]).get("/").get_data(as_text=True)) == {recommended.id: "Approve or decline"}
    assert your_steps(_web(app, people["owner"]).get("/").get_data(as_text=True))[draft.id] == "Submit"


def test_my_requests_has_no_step_column(app, people, make_case):
    make_case("submitted")
    page = _web(app, people["owner"]).get("/").get_data(as_text=True)
    mine = page[page.index('id="mine-h"'):]
    assert "Your step" not in mine


def test_a_score_made_under_earlier_criteria_is_asked_for_again(app, people, make_case, tmp_path):
    # The officer's own score, made before the office changed the criteria, no longer counts (nor
    # unlocks the recommendation): the row read "Recommend, ..." and nothing said to score again.
    from tests.scoring.test_scores_api import _criteria_moved_on

    triage = make_case("in_triage")
    submit_score(db.session, people["hco"], triage.id, RATINGS)
    hana = _web(app, people["hco"])
    assert your_steps(hana.get("/").get_data(as_text=True))[triage.id].startswith("Recommend")
    _criteria_moved_on(app, tmp_path, lambda text: text.replace("version: 2", "version: 3", 1))
    assert your_steps(hana.get("/").get_data(as_text=True))[triage.id] == (
        "Score, request information or decline (screen out)")
