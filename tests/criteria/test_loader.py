"""Loader tests: the shipped criteria sets load, and malformed files are refused clearly."""
import dataclasses
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from criteria import CriteriaError, check_all, load_all, load_criteria_set

ROOT = Path(__file__).resolve().parents[2]
CRITERIA_DIR = ROOT / "criteria"
MALFORMED = Path(__file__).parent / "malformed"

KNOWN_FIELDS = {
    "relief": {
        "requesting_party", "party_type", "city", "country", "disaster_type", "disaster_date",
        "affected_population", "assistance_types", "amount_requested", "channel",
        "other_government_support", "partnership_id", "description", "contact", "contact.name",
        "contact.email",
    },
    "partnership": {
        "partner_city", "partner_country", "proposal_type", "partnership_id", "sponsor_organization",
        "sponsor_funding_secured", "sponsor_amount", "city_contribution", "focus_areas",
        "lead_department", "duration_months", "rationale", "expected_outcomes",
    },
    "travel": {
        "event_name", "event_organizer", "event_city", "event_country", "start_date", "end_date",
        "purpose", "role_at_event", "estimated_cost", "estimated_cost.total", "funding",
        "sponsor_name", "overdue_reports",
    },
}

# filename -> substring the refusal must contain (besides the file name itself)
MALFORMED_CASES = {
    "unknown_key.yaml": "criterion 'need': colour: unknown key",
    "duplicate_id.yaml": "duplicate id 'need'",
    "duplicate_key.yaml": "duplicate key 'weight'",
    "zero_weight.yaml": "criterion 'severity': weight: must be greater than 0",
    "negative_weight.yaml": "criterion 'severity': weight: must be greater than 0",
    "unknown_field.yaml": "field 'people_affected' is not a known field",
    "unknown_rule_field.yaml": "knock-out 'recent': rule: field 'disaster_day' is not a known field",
    "thresholds_order.yaml": "thresholds: out of order",
    "thresholds_range.yaml": "thresholds.approve: must be a percent within 0..100",
    "unknown_operator.yaml": "unknown operator 'newer_than'",
    "nested_unknown_operator.yaml": "rule.all[1].op: unknown operator 'matches'",
    "operator_value.yaml": "rule.value: must be a whole number of days",
    "months_value.yaml": "rule.value: must be a whole number of months, 0 to 1200",
    "unknown_kind.yaml": "unknown kind 'scored'",
    "yaml_syntax.yaml": "YAML syntax error",
    # A tab is named, with its place (libyaml's words, "found character that cannot start any token", did not).
    "tab_indent.yaml": "YAML syntax error: found character '\\t' that cannot start any token (line 4, column 1)",
    "bands_not_ascending.yaml": "bands must be in ascending order",
    "min_outside_scale.yaml": "criterion 'need': min: 7 is outside the scale 0..5",
    "missing_label.yaml": "criterion 'need': label: missing (required)",
    "missing_thresholds.yaml": "thresholds: missing (required)",
    "computed_without_field.yaml": "field: required for a computed criterion",
    "computed_without_method.yaml": "needs exactly one of: map, bands",
    "rated_with_map.yaml": "map: not allowed on a rated criterion",
    "rating_outside_scale.yaml": "ratings [9] are outside the scale",
    "not_a_mapping.yaml": "must hold a mapping",
    # Each alias doubled the rule: a few lines took seconds to load and to check, a few more forever.
    "alias.yaml": "anchors and aliases (& and *) are not allowed in a criteria file; write it out in full "
                  "(line 11, column 11)",
    # A rule 100 levels deep overflowed Python's stack: a traceback of a thousand lines.
    "deep_rule.yaml": "knock-out 'deep': rule: nested 100 rules deep; a rule nests at most 20 "
                      "(all, any, when and then within each other)",
    # PostgreSQL's JSONB, where a decision keeps the criteria's labels, cannot store a NUL.
    "control_character.yaml": "criterion 'need': label: holds a control character (U+0000, character 5); "
                              "remove it",
    "exponent_weight.yaml": "criterion 'need': weight: not a number (YAML reads 1e3 as text: write 1000 or 1.0e+3)",
}


def test_every_malformed_file_has_an_expectation():
    assert {p.name for p in MALFORMED.glob("*.yaml")} == set(MALFORMED_CASES)


@pytest.mark.parametrize("name, expected", sorted(MALFORMED_CASES.items()))
def test_malformed_file_is_refused_with_its_fault(name, expected):
    with pytest.raises(CriteriaError) as info:
        load_criteria_set(MALFORMED / name, KNOWN_FIELDS["relief"])
    message = str(info.value)
    assert f"malformed/{name}" in message
    assert expected in message
    assert isinstance(info.value, ValueError)


def test_unknown_field_is_only_checked_when_known_fields_given():
    cset = load_criteria_set(MALFORMED / "unknown_field.yaml")
    assert cset.criteria[0].field == "people_affected"


@pytest.mark.parametrize("workflow", sorted(KNOWN_FIELDS))
def test_shipped_sets_load(workflow):
    cset = load_criteria_set(CRITERIA_DIR / f"{workflow}.yaml", KNOWN_FIELDS[workflow])
    assert cset.workflow == workflow
    # (relief's 2: its knock-out counts 12 calendar months, not 365 days)
    assert cset.version == {"relief": 2}.get(workflow, 1)
    assert (cset.scale_min, cset.scale_max) == (0, 5)
    assert sum(c.weight for c in cset.criteria) == 100
    assert (cset.thresholds.approve, cset.thresholds.decline) == (60, 45)
    assert all(c.help and c.label for c in cset.criteria)
    assert len(cset.digest) == 64


def test_check_all_passes_for_shipped_files():
    assert check_all(CRITERIA_DIR, KNOWN_FIELDS) == []
    assert set(load_all(CRITERIA_DIR, KNOWN_FIELDS)) == {"relief", "partnership", "travel"}


def test_shipped_weights_kinds_and_minimums():
    sets = load_all(CRITERIA_DIR, KNOWN_FIELDS)
    table = {w: [(c.id, int(c.weight), c.kind, c.min) for c in s.criteria] for w, s in sets.items()}
    assert table["relief"] == [
        ("severity", 20, "computed", 2), ("unmet_need", 15, "rated", 2), ("city_capability", 20, "rated", None),
        ("time_critical", 10, "rated", None), ("channel_accountability", 10, "rated", 2),
        ("relationship", 10, "rated", None), ("leverage", 10, "rated", None), ("recovery", 5, "rated", None)]
    assert table["partnership"] == [
        ("strategic_alignment", 20, "rated", 2), ("exchange_content", 20, "rated", 2),
        ("community_support", 15, "rated", None), ("partner_capacity", 15, "rated", 3),
        ("external_funding", 10, "computed", None), ("work_plan", 10, "rated", 2),
        ("cost_reasonableness", 10, "rated", None)]
    assert table["travel"] == [
        ("relevance", 30, "rated", None), ("official_role", 20, "computed", None),
        ("expected_value", 25, "rated", None), ("cost_reasonableness", 15, "computed", None),
        ("knowledge_sharing", 10, "rated", None)]
    assert [k.id for k in sets["travel"].eligibility] == ["no_overdue_reports"]


def test_to_dict_api_shape():
    cset = load_criteria_set(CRITERIA_DIR / "relief.yaml")
    shape = cset.to_dict()
    assert set(shape) == {"workflow", "version", "scale", "criteria", "eligibility", "thresholds"}
    assert shape["scale"] == {"min": 0, "max": 5}
    assert shape["thresholds"] == {"approve": 60, "decline": 45}
    assert shape["criteria"][0]["id"] == "severity" and shape["criteria"][0]["min"] == 2
    assert shape["criteria"][2] == {
        "id": "city_capability", "label": cset.criteria[2].label, "help": cset.criteria[2].help,
        "weight": 20, "kind": "rated"}
    assert shape["eligibility"][0] == {"id": "recent_disaster",
                                       "message": "The disaster happened more than 12 months ago."}
    assert cset.rated_ids[0] == "unmet_need" and "severity" not in cset.rated_ids


def test_set_is_immutable():
    cset = load_criteria_set(CRITERIA_DIR / "travel.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cset.version = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        cset.criteria[0].weight = Decimal(1)


def _write(path, doc):
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _doc(**changes):
    doc = {"version": 1, "workflow": "relief",
           "criteria": [{"id": "need", "label": "Need", "weight": 20, "kind": "rated"}],
           "thresholds": {"approve": 60, "decline": 45}}
    doc.update(changes)
    return doc


def test_digest_is_canonical_and_tracks_content(tmp_path):
    base = load_criteria_set(_write(tmp_path / "a.yaml", _doc())).digest
    same = _doc(criteria=[{"kind": "rated", "weight": 20.0, "label": "Need", "id": "need"}])
    assert load_criteria_set(_write(tmp_path / "b.yaml", same)).digest == base
    heavier = _doc(criteria=[{"id": "need", "label": "Need", "weight": 21, "kind": "rated"}])
    assert load_criteria_set(_write(tmp_path / "c.yaml", heavier)).digest != base


def test_defaults_scale_and_empty_eligibility(tmp_path):
    cset = load_criteria_set(_write(tmp_path / "a.yaml", _doc()))
    assert (cset.scale_min, cset.scale_max) == (0, 5)
    assert cset.eligibility == ()


def test_check_all_reports_each_bad_file_and_unknown_workflow(tmp_path):
    _write(tmp_path / "good.yaml", _doc())
    _write(tmp_path / "bad.yaml", _doc(workflow="travel", version=0))
    _write(tmp_path / "odd.yaml", _doc(workflow="catering"))
    errors = check_all(tmp_path, KNOWN_FIELDS)
    assert any("bad.yaml" in e and "version" in e for e in errors)
    assert any("odd.yaml" in e and "unknown workflow 'catering'" in e for e in errors)
    assert not any("good.yaml" in e for e in errors)
    with pytest.raises(CriteriaError):
        load_all(tmp_path, KNOWN_FIELDS)


def test_two_files_for_one_workflow_are_refused(tmp_path):
    _write(tmp_path / "a.yaml", _doc())
    _write(tmp_path / "b.yaml", _doc())
    assert any("more than one file" in e for e in check_all(tmp_path, KNOWN_FIELDS))


def test_an_archived_copy_beside_the_file_accord_reads_is_the_one_blamed(tmp_path, monkeypatch):
    # It sorts first; the fault named the live relief.yaml, which Accord reads and is fine.
    _write(tmp_path / "relief-2025-archive.yaml", _doc())
    _write(tmp_path / "relief.yaml", _doc(version=2))
    errors = [e for e in check_all(tmp_path, KNOWN_FIELDS) if "relief" in e]
    assert errors == [f"{tmp_path.name}/relief-2025-archive.yaml: workflow: 'relief' is defined by more than one "
                      f"file; Accord reads {tmp_path.name}/relief.yaml, so keep earlier versions out of the folder"]
    # The folder given as "." (its files named without a folder) blames the same one.
    monkeypatch.chdir(tmp_path)
    assert [e for e in check_all(Path("."), KNOWN_FIELDS) if "relief" in e] == [
        "relief-2025-archive.yaml: workflow: 'relief' is defined by more than one file; Accord reads relief.yaml, "
        "so keep earlier versions out of the folder"]


@pytest.mark.parametrize("scale, fault", [({"min": -4, "max": 0}, "min (-4) must be 0 or more"),
                                          ({"min": -1, "max": 5}, "min (-1) must be 0 or more"),
                                          ({"min": 0, "max": 0}, "min (0) must be below max (0)")])
def test_a_scale_below_zero_is_refused(tmp_path, scale, fault):
    # A scale of -4 to 0 loaded, then every score divided by its max of 0: a 500 for each reviewer.
    with pytest.raises(CriteriaError, match=re.escape(fault)):
        load_criteria_set(_write(tmp_path / "a.yaml", _doc(scale=scale)))


def test_a_merge_key_merges_a_mapping_written_out_and_a_key_beside_it_wins(tmp_path):
    (tmp_path / "a.yaml").write_text("""
version: 1
workflow: relief
criteria:
  - <<: {id: need, label: Need, weight: 20, kind: rated, help: Shared help.}
    label: Needs
thresholds: {approve: 60, decline: 45}
""")
    cset = load_criteria_set(tmp_path / "a.yaml")
    assert [(c.id, c.label, c.help, c.weight) for c in cset.criteria] == [("need", "Needs", "Shared help.", 20)]
    text = (tmp_path / "a.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text.replace("    label: Needs", "    label: Needs\n    label: Again"))
    with pytest.raises(CriteriaError, match="duplicate key 'label'"):
        load_criteria_set(tmp_path / "a.yaml")


def test_a_merge_key_naming_an_anchor_is_refused_as_aliases_are(tmp_path):
    # (<<: *rated) is an alias: allowed, it was the way to a rule of 2**40 comparisons.
    (tmp_path / "a.yaml").write_text("""version: 1
workflow: relief
criteria:
  - {id: need, label: Need, weight: 20, kind: rated, help: Shared help.}
  - <<: *rated
    id: reach
thresholds: {approve: 60, decline: 45}
""")
    with pytest.raises(CriteriaError, match=re.escape(
            "a.yaml: YAML syntax error: anchors and aliases (& and *) are not allowed in a criteria file; "
            "write it out in full (line 5, column 9)")):
        load_criteria_set(tmp_path / "a.yaml")


def test_anchors_are_refused_before_the_rule_they_double_is_expanded(tmp_path):
    # 2**40 comparisons in 45 lines: 16 levels took 28 s to load, 22 never finished.
    lines = ["  - id: doubled", "    message: Doubled.", "    rule:", "      any:",
             "        - &r0 {field: city, op: present}"]
    lines += [f"        - &r{i} {{all: [*r{i - 1}, *r{i - 1}]}}" for i in range(1, 41)]
    (tmp_path / "relief.yaml").write_text(yaml.safe_dump(_doc(), sort_keys=False) + "eligibility:\n"
                                          + "\n".join(lines) + "\n")
    started = time.perf_counter()
    with pytest.raises(CriteriaError, match=re.escape("anchors and aliases (& and *) are not allowed")):
        load_criteria_set(tmp_path / "relief.yaml")
    assert time.perf_counter() - started < 1


def test_dotted_field_must_match_exactly(tmp_path):
    crit = {"id": "cost", "label": "Cost", "weight": 1, "kind": "computed",
            "field": "estimated_cost.subtotal", "bands": [{"from": 0, "rating": 1}]}
    doc = _doc(workflow="travel", criteria=[crit])
    with pytest.raises(CriteriaError, match="estimated_cost.subtotal"):
        load_criteria_set(_write(tmp_path / "t.yaml", doc), KNOWN_FIELDS["travel"])


@pytest.mark.parametrize("bands, fault", [
    ([{"from": 0, "rating": 1}, {"upto": 5, "rating": 2}], "either 'from' bands or 'upto' bands"),
    ([{"above": True, "rating": 1}, {"upto": 5, "rating": 2}], "only the last band"),
    ([{"upto": 5, "rating": 2}, {"upto": 5, "rating": 1}], "ascending"),
    ([{"from": 0, "upto": 5, "rating": 2}], "one of 'from', 'upto' or 'above'"),
])
def test_band_shapes_are_checked(tmp_path, bands, fault):
    crit = {"id": "size", "label": "Size", "weight": 1, "kind": "computed",
            "field": "affected_population", "bands": bands}
    with pytest.raises(CriteriaError, match=fault):
        load_criteria_set(_write(tmp_path / "r.yaml", _doc(criteria=[crit])))


@pytest.mark.parametrize("rule, fault", [
    ({"field": "city", "op": "present", "value": 3}, "takes no value"),
    ({"field": "city", "op": "in", "value": "Lyon"}, "non-empty list"),
    ({"field": "city", "op": "eq"}, "required for operator 'eq'"),
    ({"field": "city", "op": "gt", "value": "soon"}, "number or a YYYY-MM-DD date"),
    ({"when": {"field": "city", "op": "present"}}, "then: required"),
    ({"all": []}, "all: shorter than minimum length 1"),
    ({}, "a rule is exactly one of"),
    ({"field": "city", "op": "present", "any": [{"field": "city", "op": "present"}]}, "exactly one of"),
    ({"field": "city", "op": "present", "code": "__import__('os')"}, "rule.code: unknown key"),
])
def test_rule_shapes_are_checked(tmp_path, rule, fault):
    doc = _doc(eligibility=[{"id": "k", "message": "No.", "rule": rule}])
    with pytest.raises(CriteriaError, match=fault.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_criteria_set(_write(tmp_path / "r.yaml", doc))


@pytest.mark.parametrize("doc, fault", [
    # A timestamp for a version loaded, then every score failed to store (a 32-bit column): a 500.
    (_doc(version=202406011200), "version: must be greater than or equal to 1 and less than or equal to 2147483647"),
    # An id longer than a score's ratings may name loaded, and the criterion could never be rated.
    (_doc(criteria=[{"id": "x" * 61, "label": "Long", "weight": 1, "kind": "rated"}]),
     f"criterion '{'x' * 61}': id: longer than maximum length 60"),
    # A final line break made "need\n" another id than "need".
    (_doc(criteria=[{"id": "need\n", "label": "Need", "weight": 1, "kind": "rated"}]),
     "id: must be a lowercase identifier"),
    # A scale of 0 to 20,000 made a case page of 27 MB: a radio button per point per criterion.
    (_doc(scale={"min": 0, "max": 20000}), "scale: a scale spans at most 10 points (a reviewer picks one); "
                                           "0 to 20000 spans 20000"),
])
def test_a_set_no_score_could_be_stored_or_made_under_is_refused(tmp_path, doc, fault):
    with pytest.raises(CriteriaError, match=re.escape(fault)):
        load_criteria_set(_write(tmp_path / "relief.yaml", doc))


def test_a_file_not_saved_as_utf8_is_named_not_a_traceback(tmp_path):
    path = tmp_path / "relief.yaml"
    path.write_bytes(yaml.safe_dump(_doc(), sort_keys=False).replace("Need", "Besoin pr\xe9cis").encode("cp1252"))
    with pytest.raises(CriteriaError) as info:
        load_criteria_set(path)
    assert str(info.value).startswith(f"{tmp_path.name}/relief.yaml: not UTF-8 text: byte ")
    assert "is 0xe9; save the file as UTF-8" in str(info.value)


def test_a_list_as_a_map_key_is_named_not_a_traceback(tmp_path):
    # (Meant as "presenter or panelist: 5".)
    (tmp_path / "relief.yaml").write_text("version: 1\nworkflow: relief\ncriteria:\n  - id: role\n    label: Role\n"
                                          "    weight: 1\n    kind: computed\n    field: party_type\n"
                                          "    map: {[ngo, agency]: 5}\nthresholds: {approve: 60, decline: 45}\n")
    with pytest.raises(CriteriaError, match=re.escape("a key must be a single value, not a list or a mapping "
                                                      "(line 9, column 11)")):
        load_criteria_set(tmp_path / "relief.yaml")


def _rule(depth, inner="{field: city, op: present}"):
    # all, any and when/then in turn, each one level more
    for level in range(depth - 1):
        inner = [f"{{all: [{inner}]}}", f"{{any: [{inner}]}}", f"{{when: {{field: city, op: present}}, then: {inner}}}"][level % 3]
    return inner


@pytest.mark.parametrize("depth", [20, 21, 1000])
def test_a_rule_nests_at_most_20_deep(tmp_path, depth):
    (tmp_path / "relief.yaml").write_text(yaml.safe_dump(_doc(), sort_keys=False)
                                          + f"eligibility:\n  - id: deep\n    message: Deep.\n    rule: {_rule(depth)}\n")
    if depth == 20:
        assert load_criteria_set(tmp_path / "relief.yaml").eligibility[0].id == "deep"
        return
    with pytest.raises(CriteriaError) as info:
        load_criteria_set(tmp_path / "relief.yaml")
    # (1,000 is deeper than the file may nest at all: named too, with its place)
    assert str(info.value) == (
        f"{tmp_path.name}/relief.yaml: knock-out 'deep': rule: nested 21 rules deep; a rule nests at most 20 "
        "(all, any, when and then within each other)" if depth == 21 else
        f"{tmp_path.name}/relief.yaml: YAML syntax error: nested more than 256 levels deep (line 14, column 2809)")


@pytest.mark.parametrize("deep, fault", [
    # 2,000 deep, then a fault: the second reading, by PyYAML's parser in Python, recursed
    ("    help: " + "[" * 2000 + "]" * 2000 + "\n\t- x", "nested more than 256 levels deep (line 9, column 264)"),
    ("    map: {? " + "[" * 2000 + "]" * 2000 + " : 1}", "nested more than 256 levels deep (line 9, column 265)"),
    # a key nested 250 deep, within that: PyYAML built it, recursively, before refusing it as a key
    ("    map: {? " + "[" * 250 + "]" * 250 + " : 1}", "a key must be a single value, not a list or a mapping "
                                                        "(line 9, column 13)"),
])
def test_a_file_nested_deeper_than_python_recurses_is_refused_not_a_traceback(tmp_path, deep, fault):
    (tmp_path / "relief.yaml").write_text("version: 1\nworkflow: relief\ncriteria:\n  - id: role\n    label: Role\n"
                                          "    weight: 1\n    kind: computed\n    field: party_type\n"
                                          f"{deep}\nthresholds: {{approve: 60, decline: 45}}\n")
    with pytest.raises(CriteriaError, match=re.escape(f"{tmp_path.name}/relief.yaml: YAML syntax error: {fault}")):
        load_criteria_set(tmp_path / "relief.yaml")


def test_no_recursion_error_leaves_the_loader(tmp_path, monkeypatch):
    # Whatever else recursed too deep (a deeper stack under a server, say): a fault named, not a traceback.
    from criteria import schemas

    def overflow(self, data, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")
    monkeypatch.setattr(schemas.CriteriaSetSchema, "load", overflow)
    with pytest.raises(CriteriaError, match=re.escape(f"{tmp_path.name}/relief.yaml: nested too deeply to read")):
        load_criteria_set(_write(tmp_path / "relief.yaml", _doc()))


_COMPUTED = {"id": "role", "label": "Role", "weight": 1, "kind": "computed", "field": "party_type",
             "map": {"ngo": 5}}


@pytest.mark.parametrize("doc, fault", [
    (_doc(criteria=[{"id": "need", "label": "Need\x00", "weight": 1, "kind": "rated"}]),
     "criterion 'need': label: holds a control character (U+0000, character 5); remove it"),
    (_doc(criteria=[{"id": "need", "label": "Need", "help": "\x1b[1mBold\x1b[0m", "weight": 1, "kind": "rated"}]),
     "criterion 'need': help: holds a control character (U+001B, character 1)"),
    (_doc(criteria=[{**_COMPUTED, "field": "party_type\x00"}]),
     "criterion 'role': field: holds a control character (U+0000, character 11)"),
    (_doc(criteria=[{**_COMPUTED, "map": {"ngo\x00": 5}}]),
     "criterion 'role': map: key 'ngo\\x00' holds a control character (U+0000, character 4)"),
    (_doc(eligibility=[{"id": "k", "message": "No.\x07", "rule": {"field": "city", "op": "present"}}]),
     "knock-out 'k': message: holds a control character (U+0007, character 4)"),
    (_doc(eligibility=[{"id": "k", "message": "No.", "rule": {"field": "city\x00", "op": "present"}}]),
     "knock-out 'k': rule.field: holds a control character (U+0000, character 5)"),
    (_doc(eligibility=[{"id": "k", "message": "No.", "rule": {"field": "city", "op": "eq", "value": "Lyon\x00"}}]),
     "knock-out 'k': rule.value: holds a control character (U+0000, character 5)"),
    (_doc(eligibility=[{"id": "k", "message": "No.", "rule": {"all": [
        {"field": "city", "op": "in", "value": ["Lyon", "Paris\r"]}]}}]),
     "knock-out 'k': rule.all[0].value: holds a control character (U+000D, character 6)"),
])
def test_a_control_character_in_a_text_is_refused_naming_the_field(tmp_path, doc, fault):
    # A NUL in a label loaded; every decision on a scored request then failed on PostgreSQL (a 500),
    # whose JSONB keeps the labels with the score and cannot store a NUL.
    with pytest.raises(CriteriaError, match=re.escape(fault)):
        load_criteria_set(_write(tmp_path / "relief.yaml", doc))


def test_tabs_and_line_breaks_in_a_text_are_allowed(tmp_path):
    doc = _doc(criteria=[{"id": "need", "label": "Need\tnow", "help": "Line one.\nLine two.\n", "weight": 1,
                          "kind": "rated"}])
    crit = load_criteria_set(_write(tmp_path / "relief.yaml", doc)).criteria[0]
    assert (crit.label, crit.help) == ("Need\tnow", "Line one.\nLine two.\n")


@pytest.mark.parametrize("old, new, fault", [
    ("weight: 20", "weight: 2e1", "criterion 'need': weight: not a number (YAML reads 2e1 as text: write 20 or 2.0e+1)"),
    ("weight: 20", "weight: 2.5E1", "weight: not a number (YAML reads 2.5E1 as text: write 25 or 2.5E+1)"),
    ("weight: 20", "weight: 25e-1", "weight: not a number (YAML reads 25e-1 as text: write 2.5 or 25.0e-1)"),
    ("weight: 20", 'weight: "20"', "weight: not a number (in quotes, YAML reads 20 as text: write it without quotes)"),
    ("approve: 60", "approve: 6e1", "thresholds.approve: not a number (YAML reads 6e1 as text: write 60 or 6.0e+1)"),
    ("version: 1", "version: 1e0", "version: not a valid integer (YAML reads 1e0 as text: write 1)"),
    ("kind: rated", "kind: computed, field: affected_population, bands: [{from: 1e3, rating: 1}]",
     "criterion 'need': bands[0].from: not a number (YAML reads 1e3 as text: write 1000 or 1.0e+3)"),
    ("kind: rated", "kind: computed, field: affected_population, bands: [{from: 1000, rating: 1e0}]",
     "criterion 'need': bands[0].rating: not a valid integer (YAML reads 1e0 as text: write 1)"),
    ("kind: rated", "kind: rated}]\neligibility: [{id: k, message: No., rule: {field: disaster_date, op: within_days, "
     "value: 3e1}", "knock-out 'k': rule.value: must be a whole number of days, 0 or more "
                   "(YAML reads 3e1 as text: write 30)"),
    ("weight: 20", "weight: heavy", "criterion 'need': weight: not a number\n"),
])
def test_a_number_yaml_reads_as_text_is_refused_saying_what_to_write(tmp_path, old, new, fault):
    # YAML 1.1's floats need a dot and a signed exponent: 1e3 is text, and "not a number" puzzled.
    text = "version: 1\nworkflow: relief\ncriteria: [{id: need, label: Need, weight: 20, kind: rated}]\n" \
           "thresholds: {approve: 60, decline: 45}\n"
    assert old in text
    (tmp_path / "relief.yaml").write_text(text.replace(old, new, 1))
    with pytest.raises(CriteriaError) as info:
        load_criteria_set(tmp_path / "relief.yaml")
    assert fault in str(info.value) + "\n"
