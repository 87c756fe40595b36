"""Scorer tests: hand-computed examples, aggregation rules and percent properties."""
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from criteria import (CriteriaSet, Criterion, Thresholds, aggregate, check_eligibility, compute,
                      load_criteria_set, percent, score_one, validate_ratings)
from criteria.rules import months_before

CRITERIA_DIR = Path(__file__).resolve().parents[2] / "criteria"
TODAY = date(2024, 6, 1)
RELIEF = load_criteria_set(CRITERIA_DIR / "relief.yaml")
PARTNERSHIP = load_criteria_set(CRITERIA_DIR / "partnership.yaml")
TRAVEL = load_criteria_set(CRITERIA_DIR / "travel.yaml")

RELIEF_CASE = {"disaster_date": "2024-03-01", "affected_population": 50000,
               "assistance_types": ["financial", "expertise"], "channel": "Red Cross appeal"}
PARTNER_CASE = {"proposal_type": "new", "sponsor_organization": "Friends of Lyon",
                "sponsor_funding_secured": True}
TRAVEL_CASE = {"role_at_event": "panelist", "estimated_cost": {"total": "2500.00"}}
NO_OVERDUE = {"overdue_reports": 0}


def _all(cset, rating):
    return {cid: rating for cid in cset.rated_ids}


def _plain_set(weights, scale_max=5):
    crits = tuple(Criterion(id=f"c{i}", label=f"C{i}", help="", weight=Decimal(w), kind="rated")
                  for i, w in enumerate(weights))
    return CriteriaSet(workflow="test", version=1, scale_min=0, scale_max=scale_max, criteria=crits,
                       eligibility=(), thresholds=Thresholds(Decimal(60), Decimal(45)))


# ------------------------------------------------------------ hand-computed examples
def test_relief_all_threes_is_exactly_sixty_and_approves():
    # severity: 50000 people falls in the 10000 band -> 3; every rated criterion 3.
    # Σw·r = 100·3 = 300; 300 / (5·100) · 100 = 60.00 -> approve (60 >= 60).
    agg = aggregate(RELIEF, [_all(RELIEF, 3)], RELIEF_CASE, today=TODAY)
    assert compute(RELIEF, RELIEF_CASE) == {"severity": 3}
    assert agg.percent == Decimal("60.00")
    assert agg.recommendation == "approve"
    assert agg.eligible and agg.reasons == [] and agg.complete



@pytest.mark.parametrize("ratings, pct, verdict", [({"c0": 5, "c1": 0}, "45.00", "review"),
                                                   ({"c0": 0, "c1": 4}, "44.00", "decline")])
def test_the_decline_threshold_is_strictly_below_it(ratings, pct, verdict):
    # criteria-defaults.md: decline < 45, so 45.00 itself is review. Weights 9 and 11: Σw·r is the percent.
    agg = aggregate(_plain_set([9, 11]), [ratings], {}, today=TODAY)
    assert (agg.percent, agg.recommendation) == (Decimal(pct), verdict)

def test_travel_single_reviewer():
    # official_role: panelist -> 4; cost "2500.00" <= 3000 -> 4.
    # 30·4 + 20·4 + 25·3 + 15·4 + 10·5 = 120+80+75+60+50 = 385; 385/500·100 = 77.00 -> approve.
    ratings = {"relevance": 4, "expected_value": 3, "knowledge_sharing": 5}
    result = score_one(TRAVEL, ratings, TRAVEL_CASE, NO_OVERDUE, TODAY)
    assert result == {"ratings": ratings, "computed": {"official_role": 4, "cost_reasonableness": 4},
                      "percent": Decimal("77.00"), "recommendation": "approve"}


def test_percent_rounds_half_up():
    # weights 1 and 159, ratings 1 and 0: 1/(5·160)·100 = 0.125 -> 0.13 (banker's rounding would give 0.12).
    assert percent(_plain_set([1, 159]), {"c0": 1, "c1": 0}) == Decimal("0.13")
    # weights 1,1,1, ratings 1,0,0: 1/15·100 = 6.666… -> 6.67
    assert percent(_plain_set([1, 1, 1]), {"c0": 1}) == Decimal("6.67")


def test_missing_rating_counts_as_scale_minimum():
    # only c0 (weight 2) rated 5: 2·5 / (5·4) · 100 = 50.00
    assert percent(_plain_set([2, 2]), {"c0": 5}) == Decimal("50.00")


@pytest.mark.parametrize("total, rating", [
    ("1500.00", 5), ("1500.01", 4), (3000, 4), ("5000", 3), ("10000.00", 2), ("10000.01", 1), (250000, 1)])
def test_cost_bands_are_inclusive_upper_bounds(total, rating):
    assert compute(TRAVEL, {"estimated_cost": {"total": total}})["cost_reasonableness"] == rating


@pytest.mark.parametrize("people, rating", [(0, 1), (999, 1), (1000, 2), ("10000", 3), (999999, 4), (10**7, 5)])
def test_severity_bands_pick_highest_lower_bound(people, rating):
    assert compute(RELIEF, {"affected_population": people}) == {"severity": rating}


@pytest.mark.parametrize("secured, rating", [(True, 5), ("true", 5), (False, 1), ("False", 1), ("maybe", None)])
def test_boolean_map_keys(secured, rating):
    assert compute(PARTNERSHIP, {"sponsor_funding_secured": secured}) == {"external_funding": rating}


def test_derived_values_win_and_missing_fields_give_none():
    assert compute(TRAVEL, {}) == {"official_role": None, "cost_reasonableness": None}
    agg = aggregate(TRAVEL, [_all(TRAVEL, 5)], {}, NO_OVERDUE, TODAY)
    # 30·5 + 25·5 + 10·5 = 325, computed ones count as 0: 325/500·100 = 65.00
    assert agg.percent == Decimal("65.00")
    assert "criterion 'official_role' could not be computed: 'role_at_event' is missing" in agg.reasons


# ------------------------------------------------------------ aggregation
def test_aggregate_means_and_disagreement():
    a = {"relevance": 5, "expected_value": 4, "knowledge_sharing": 2}
    b = {"relevance": 2, "expected_value": 4, "knowledge_sharing": 4}
    case = {"role_at_event": "attendee", "estimated_cost": {"total": "12000.00"}}
    agg = aggregate(TRAVEL, [a, b], case, NO_OVERDUE, TODAY)
    # means: relevance 3.5, expected_value 4, knowledge_sharing 3; attendee -> 1; 12000 -> 1
    # 30·3.5 + 20·1 + 25·4 + 15·1 + 10·3 = 105+20+100+15+30 = 270; 270/500·100 = 54.00 -> review
    assert agg.percent == Decimal("54.00")
    assert agg.recommendation == "review"
    assert agg.disagreement == ["relevance"]  # spread 3; knowledge_sharing spread 2 is not flagged
    rows = {row["id"]: row for row in agg.breakdown}
    assert rows["relevance"]["value"] == Decimal("3.5")
    assert rows["relevance"]["contribution"] == Decimal("21.00")  # 30·3.5/500·100
    assert sum(r["contribution"] for r in agg.breakdown) == agg.percent
    assert agg.complete


def test_minimum_caps_approve_to_review():
    ratings = {"strategic_alignment": 5, "exchange_content": 5, "community_support": 5,
               "partner_capacity": 2, "work_plan": 5, "cost_reasonableness": 5}
    # 20·5 + 20·5 + 15·5 + 15·2 + 10·5 (funding secured) + 10·5 + 10·5 = 455 -> 91.00, but 2 < min 3
    agg = aggregate(PARTNERSHIP, [ratings], PARTNER_CASE, today=TODAY)
    assert agg.percent == Decimal("91.00")
    assert agg.recommendation == "review"
    assert agg.reasons == ["Partner capacity: 2, below its minimum of 3"]  # the label people read, not the id



def test_a_rating_at_its_minimum_does_not_cap():
    # min is a floor: BELOW it the recommendation is at best review (criteria-defaults.md); a rating
    # of exactly the minimum meets it.
    ratings = {"strategic_alignment": 5, "exchange_content": 5, "community_support": 5,
               "partner_capacity": 3, "work_plan": 5, "cost_reasonableness": 5}
    agg = aggregate(PARTNERSHIP, [ratings], PARTNER_CASE, today=TODAY)
    assert (agg.percent, agg.recommendation, agg.reasons) == (Decimal("94.00"), "approve", [])

def test_a_mean_below_a_minimum_is_given_as_read():
    low = {"strategic_alignment": 5, "exchange_content": 5, "community_support": 5, "partner_capacity": 2,
           "work_plan": 5, "cost_reasonableness": 5}
    agg = aggregate(PARTNERSHIP, [low, {**low, "partner_capacity": 3}, {**low, "partner_capacity": 2}], PARTNER_CASE,
                    today=TODAY)
    assert agg.reasons == ["Partner capacity: 2.33, below its minimum of 3"]


def test_minimum_does_not_rescue_a_decline():
    ratings = {**_all(PARTNERSHIP, 1), "strategic_alignment": 1}
    agg = aggregate(PARTNERSHIP, [ratings], {**PARTNER_CASE, "sponsor_funding_secured": False}, today=TODAY)
    assert agg.percent == Decimal("20.00")  # every rating 1: 100/500·100
    assert agg.recommendation == "decline"


def test_computed_minimum_counts_too():
    # severity min 2: 500 people -> 1. Rated all 5: 80·5 + 20·1 = 420 -> 84.00, capped to review.
    agg = aggregate(RELIEF, [_all(RELIEF, 5)], {**RELIEF_CASE, "affected_population": 500}, today=TODAY)
    assert (agg.percent, agg.recommendation) == (Decimal("84.00"), "review")
    assert "Severity: 1, below its minimum of 2" in agg.reasons


def test_knock_out_makes_case_ineligible():
    agg = aggregate(TRAVEL, [_all(TRAVEL, 5)], TRAVEL_CASE, {"overdue_reports": 1}, TODAY)
    assert agg.recommendation == "ineligible" and not agg.eligible
    assert agg.reasons == ["The traveller has a post-trip report overdue."]
    assert agg.percent is not None


def test_no_reviews_gives_no_recommendation():
    agg = aggregate(RELIEF, [], RELIEF_CASE, today=TODAY)
    assert agg.percent is None and agg.recommendation is None
    assert agg.eligible and not agg.complete and agg.reasons == []


def test_incomplete_reviews():
    agg = aggregate(TRAVEL, [{"relevance": 5}, {"expected_value": 5}], TRAVEL_CASE, NO_OVERDUE, TODAY)
    assert not agg.complete


# ------------------------------------------------------------ knock-outs
@pytest.mark.parametrize("when, ok", [
    ("2024-06-01", True), ("2023-06-02", True), ("2023-06-01", True), ("2023-05-31", False), ("2024-06-02", False),
    ("soon", False)])
def test_disaster_within_12_months(when, ok):
    # "Within the last 12 months" (criteria-defaults.md), not 365 days: a disaster of 1 June 2023
    # was 366 days before 1 June 2024 (a leap year between), and the request was ineligible.
    failed = check_eligibility(RELIEF, {**RELIEF_CASE, "disaster_date": when}, today=TODAY)
    assert (failed == []) is ok


@pytest.mark.parametrize("today, earliest", [("2024-02-29", "2023-02-28"), ("2024-03-31", "2023-03-31"),
                                             ("2025-03-01", "2024-03-01"), ("2024-01-15", "2023-01-15")])
def test_twelve_months_before_a_day_is_the_same_day_or_the_months_last(today, earliest):
    today, earliest = date.fromisoformat(today), date.fromisoformat(earliest)
    assert months_before(today, 12) == earliest
    assert check_eligibility(RELIEF, {**RELIEF_CASE, "disaster_date": earliest.isoformat()}, today=today) == []
    assert check_eligibility(RELIEF, {**RELIEF_CASE, "disaster_date": (earliest - timedelta(days=1)).isoformat()},
                             today=today) == [RELIEF.eligibility[0].message]


def test_financial_help_needs_a_channel():
    case = {**RELIEF_CASE, "channel": ""}
    assert check_eligibility(RELIEF, case, today=TODAY) == [RELIEF.eligibility[1].message]
    in_kind = {**case, "assistance_types": ["expertise"]}
    assert check_eligibility(RELIEF, in_kind, today=TODAY) == []


def test_partnership_knock_outs():
    revival = {**PARTNER_CASE, "proposal_type": "revival"}
    assert len(check_eligibility(PARTNERSHIP, revival, today=TODAY)) == 1
    assert check_eligibility(PARTNERSHIP, {**revival, "partnership_id": 12}, today=TODAY) == []
    assert len(check_eligibility(PARTNERSHIP, {}, today=TODAY)) == 1  # sponsor missing only


def test_overdue_reports_missing_is_not_eligible():
    # the workflow must supply the derived count; without it we cannot vouch for the traveller
    assert check_eligibility(TRAVEL, TRAVEL_CASE, today=TODAY) == ["The traveller has a post-trip report overdue."]


# ------------------------------------------------------------ reviewer input
def test_validate_ratings():
    assert validate_ratings(TRAVEL, {"relevance": 3, "expected_value": 0, "knowledge_sharing": 5}) == {}
    errors = validate_ratings(TRAVEL, {"relevance": 6, "expected_value": 2.5, "official_role": 5,
                                       "charm": 4, "knowledge_sharing": True})
    assert errors == {"relevance": ["must be between 0 and 5"], "expected_value": ["must be an integer"],
                      "official_role": ["computed from the case data; it cannot be rated"],
                      "charm": ["unknown criterion"], "knowledge_sharing": ["must be an integer"]}
    missing = ["Rate it from 0 to 5, or declare a conflict of interest."]
    assert validate_ratings(TRAVEL, {"relevance": 3}) == {"expected_value": missing, "knowledge_sharing": missing}


# ------------------------------------------------------------ properties
weights_st = st.lists(st.integers(min_value=1, max_value=500), min_size=1, max_size=8)
PROPS = settings(max_examples=200, deadline=None)


@st.composite
def weighted_ratings(draw):
    weights = draw(weights_st)
    ratings = draw(st.lists(st.integers(0, 5), min_size=len(weights), max_size=len(weights)))
    return weights, {f"c{i}": r for i, r in enumerate(ratings)}


@PROPS
@given(weighted_ratings())
def test_percent_stays_within_0_and_100(case):
    weights, ratings = case
    assert Decimal(0) <= percent(_plain_set(weights), ratings) <= Decimal(100)


@PROPS
@given(weighted_ratings(), st.data())
def test_percent_never_falls_when_a_rating_rises(case, data):
    weights, ratings = case
    cid = data.draw(st.sampled_from(sorted(ratings)))
    raised = {**ratings, cid: min(5, ratings[cid] + data.draw(st.integers(1, 5)))}
    cset = _plain_set(weights)
    assert percent(cset, raised) >= percent(cset, ratings)


@PROPS
@given(weighted_ratings(), st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2))
def test_percent_ignores_a_common_weight_factor(case, factor):
    weights, ratings = case
    scaled = _plain_set([Decimal(w) * factor for w in weights])
    assert percent(scaled, ratings) == percent(_plain_set(weights), ratings)


@PROPS
@given(weighted_ratings())
def test_percent_is_the_weighted_mean_for_one_reviewer(case):
    weights, ratings = case
    exact = Fraction(sum(w * ratings[f"c{i}"] for i, w in enumerate(weights)), sum(weights)) / 5 * 100
    cents = int(exact * 100 + Fraction(1, 2))  # round half up, exactly (value is never negative)
    cset = _plain_set(weights)
    assert percent(cset, ratings) == Decimal(cents) / 100
    assert aggregate(cset, [ratings], {}, today=TODAY).percent == Decimal(cents) / 100


def test_the_mean_of_several_reviewers_is_rounded_once_at_the_end():
    # Weights 18 and 14, six reviewers rating A 2,2,2,2,2,1 and B 0: 18·(11/6)·100 / (5·32) is
    # 20.625, half up 20.63; the mean rounded to 28 digits first made 20.62.
    cset = _plain_set([18, 14])
    reviews = [{"c0": r, "c1": 0} for r in (2, 2, 2, 2, 2, 1)]
    agg = aggregate(cset, reviews, {}, today=TODAY)
    assert agg.percent == Decimal("20.63")
    assert [row["value"] for row in agg.breakdown] == [Decimal("1.83"), Decimal("0.00")]


@PROPS
@given(st.lists(st.integers(1, 50), min_size=1, max_size=4),
       st.lists(st.lists(st.integers(0, 5), min_size=4, max_size=4), min_size=1, max_size=7))
def test_percent_of_several_reviewers_is_the_exact_weighted_mean_rounded_half_up(weights, rows):
    reviews = [{f"c{i}": row[i] for i in range(len(weights))} for row in rows]
    exact = sum(Fraction(w) * Fraction(sum(r[f"c{i}"] for r in reviews), len(reviews))
                for i, w in enumerate(weights)) / (5 * sum(weights)) * 100
    cents = int(exact * 100 + Fraction(1, 2))  # round half up, exactly (value is never negative)
    assert aggregate(_plain_set(weights), reviews, {}, today=TODAY).percent == Decimal(cents) / 100


def test_operator_tree_evaluates(tmp_path):
    rule = {"all": [
        {"field": "amount_requested", "op": "le", "value": 25000},  # money text compared as Decimal
        {"any": [{"field": "country", "op": "in", "value": ["Ukraine", "Türkiye"]},
                 {"field": "disaster_type", "op": "ne", "value": "drought"}]},
        {"field": "party_type", "op": "not_in", "value": ["private"]},
        {"field": "contact.email", "op": "present"},
        {"field": "partnership_id", "op": "absent"},
    ]}
    doc = {"version": 1, "workflow": "relief", "thresholds": {"approve": 60, "decline": 45},
           "criteria": [{"id": "need", "label": "Need", "weight": 1, "kind": "rated"}],
           "eligibility": [{"id": "fit", "message": "Does not fit.", "rule": rule}]}
    path = tmp_path / "relief.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    cset = load_criteria_set(path)
    case = {"amount_requested": "25000.00", "country": "Chile", "disaster_type": "flood",
            "party_type": "government", "contact": {"email": "a@b.c"}}
    assert check_eligibility(cset, case, today=TODAY) == []
    for change in ({"amount_requested": "25000.01"}, {"disaster_type": "drought"},
                   {"party_type": "private"}, {"contact": {}}, {"partnership_id": 7}):
        assert check_eligibility(cset, {**case, **change}, today=TODAY) == ["Does not fit."], change
