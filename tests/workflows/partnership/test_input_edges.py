"""Numbers and references a script may send oddly: refused naming the field, never read as
something else (12.9 as the entry 12, a vote of 7.9 as 7), and nothing changes."""
from __future__ import annotations

import pytest

from tests.workflows.partnership.conftest import DECISION, fire, revival, snapshot


def _create(client, data):
    return client.post("/api/v1/cases", json={"workflow": "partnership", "title": "Revive Sao Paulo",
                                              "goals": ["research"], "data": data})


@pytest.mark.parametrize("field, odd", [("duration_months", lambda n: n + 0.7), ("duration_months", str),
                                        ("partnership_id", lambda n: n + 0.9), ("partnership_id", str)])
def test_a_whole_number_sent_as_a_fraction_or_text_is_refused_naming_it(api, people, field, odd):
    data = revival()
    r = _create(api(people["chen"]), {**data, field: odd(data[field])})
    assert r.status_code == 422, r.get_json()
    assert list(r.get_json()["errors"]["data"]) == [field]


@pytest.mark.parametrize("change, field", [({"votes_for": 7.9}, "votes_for"), ({"votes_against": "1"}, "votes_against"),
                                           ({"meeting_reference": "2026.PF" + "1" * 6000 + ".5"}, "meeting_reference")])
def test_a_decision_with_an_odd_count_or_an_overlong_reference_is_refused(api, people, make_case, change, field):
    case = make_case("committee_review")
    before = snapshot(case.id)
    r = fire(api(people["pat"]), case.id, "defer", case.version, comment="Await the FCM.", data={**DECISION, **change})
    assert r.status_code == 422 and list(r.get_json()["errors"]["data"]) == [field]
    assert snapshot(case.id) == before


def test_a_reference_with_a_final_line_break_is_kept_without_it(api, people, make_case):
    case = make_case("committee_review")
    r = fire(api(people["pat"]), case.id, "defer", case.version, comment="Await the FCM.",
             data={**DECISION, "meeting_reference": "2026.PF13.5\n"})
    assert r.status_code == 200
    events = api(people["pat"]).get(f"/api/v1/cases/{case.id}/history").get_json()["events"]
    assert [e["payload"]["meeting_reference"] for e in events if e["action"] == "defer"] == ["2026.PF13.5"]
