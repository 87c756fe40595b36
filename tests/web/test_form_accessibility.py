"""What a screen reader or keyboard user meets on a refused form and on a case page: the options of
a group in error are marked, the list of fields to mend is a named region, a form posts back to its
page's own address (never the fragment an error link added), and each case page has its own title."""
from __future__ import annotations

import re

from extensions import db
from workflows import engine


def _tags(page: str, pattern: str) -> list[str]:
    return re.findall(pattern, page)


def test_a_refused_form_marks_each_option_of_a_group_in_error_and_names_its_summary(browse, make_user):
    client = browse(make_user("sam", "staff"))
    r = client.post("/travel/new", data={"title": "", "funding": "sponsor"})  # no title, no goal ticked
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    goals = _tags(page, r'<input[^>]*name="goals"[^>]*>')
    assert len(goals) == 7 and all('aria-invalid="true"' in tag for tag in goals)
    funding = _tags(page, r'<input[^>]*name="funding"[^>]*>')  # its choice was valid
    assert funding and not any("aria-invalid" in tag for tag in funding)
    summary = _tags(page, r'<div class="error-summary"[^>]*>')
    assert len(summary) == 1 and 'role="region"' in summary[0] and 'aria-labelledby="error-summary-title"' in summary[0]


def test_a_form_posts_back_to_its_own_address_and_query(app, browse, make_user):
    # With no action, a form posted to the address as the browser showed it, with the "#title" an
    # error link had added: the page shown again went to that field, and its new errors went unheard.
    sam = make_user("sam", "staff")
    case = engine.create_case(db.session, sam, "travel", "ICLEI World Congress", ["research"], {"funding": "city"})
    client = browse(sam)
    for address in ("/travel/new", f"/travel/{case.id}/edit?check=submit", "/account/password"):
        page = client.get(address).get_data(as_text=True)
        assert f'<form method="post" action="{address}"' in page, address
    page = app.test_client().get("/login?next=/cases").get_data(as_text=True)
    assert '<form method="post" action="/login?next=/cases"' in page
    # Served under a path (SCRIPT_NAME), the form posts inside the application, as its links do.
    page = app.test_client().get("/login?next=/cases", base_url="http://localhost/accord").get_data(as_text=True)
    assert '<form method="post" action="/accord/login?next=/cases"' in page and 'href="/accord/static/' in page


def test_each_case_page_has_a_title_of_its_own(browse, make_user):
    # Two trips of one name read alike in a list of tabs or of windows: the title names the workflow
    # and the number, as the breadcrumb does.
    sam = make_user("sam", "staff")
    first, second = (engine.create_case(db.session, sam, "travel", "Metropolis 2026", ["research"], {})
                     for _ in range(2))
    client = browse(sam)
    titles = {re.search(r"<title>([^<]*)</title>", client.get(f"/cases/{c.id}").get_data(as_text=True)).group(1)
              for c in (first, second)}
    assert titles == {f"Metropolis 2026 (Travel request #{first.id}) · Accord",
                      f"Metropolis 2026 (Travel request #{second.id}) · Accord"}
