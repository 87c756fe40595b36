"""Relief under random use: random people fire random steps with random amounts on a few requests,
and after every step the grant, the payment, the CAO's limit and the four eyes still hold."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st
from sqlalchemy import select

import clock
from extensions import db
from models import AuditEvent, Case, Partnership
from tests.properties.conftest import ODD_MONEY, WorkflowMachine, cents, run_machine
from workflows.relief.definition import amount, cao_limit
from workflows.relief.schemas import ASSISTANCE_TYPES, DISASTER_TYPES, PARTY_TYPES, RECOMMENDATIONS

# Longer than the indexed country column (80) yet within the field (120): PostgreSQL must take it.
LONG_COUNTRY = "The Federal Democratic Republic of the Island Municipalities of the Southern Ocean Basin"
# Random integers lean small; the limit itself, a cent either side and large sums keep both routes in play.
AMOUNTS = st.sampled_from(["0.00", "5000.00", "24999.99", "25000.00", "25000.01", "40000.00", "250000.00"]) \
    | cents(0, 6_000_000)


@st.composite
def requests(draw, today: date, partnerships: list[int]) -> dict:
    """Return the data of a complete relief request."""
    types = draw(st.lists(st.sampled_from(ASSISTANCE_TYPES), min_size=1, max_size=3, unique=True))
    data = {
        "requesting_party": "Municipality of Soyapango", "party_type": draw(st.sampled_from(PARTY_TYPES)),
        "city": "Soyapango", "country": draw(st.sampled_from(["El Salvador", "Peru", LONG_COUNTRY])),
        "disaster_type": draw(st.sampled_from(DISASTER_TYPES)),
        "disaster_date": (today - timedelta(days=draw(st.integers(0, 400)))).isoformat(),
        "affected_population": draw(st.sampled_from([0, 800, 120_000, 2_500_000])),
        "assistance_types": types, "description": "Flooding and landslides after the hurricane.",
        "contact": {"name": "Ana Martinez", "email": "ana.martinez@soyapango.example"},
    }
    if "financial" in types or draw(st.booleans()):
        data["amount_requested"] = draw(AMOUNTS)
    if draw(st.integers(0, 5)):
        data["channel"] = "Canadian Red Cross appeal"
    if draw(st.booleans()):
        data["partnership_id"] = draw(st.sampled_from(partnerships))
    return data


def spoiled(data: dict) -> st.SearchStrategy[dict]:
    """Return the data with one field made invalid, or with decision data the owner may not set."""
    future = (clock.today() + timedelta(days=3)).isoformat()
    faults = st.sampled_from([
        {"disaster_date": future}, {"affected_population": -1}, {"affected_population": "many"},
        {"assistance_types": []}, {"assistance_types": ["financial", "financial"]}, {"party_type": "company"},
        {"contact": {"name": "Ana", "email": "not-mail"}}, {"partnership_id": 999_999}, {"partnership_id": True},
        {"amount_granted": "1.00"}, {"recommended_by": 1}, {"amount_paid": "0.00"},
    ]) | ODD_MONEY.map(lambda odd: {"amount_requested": odd})
    return faults.map(lambda fault: {**data, **fault})


def disbursements(granted: Decimal | None) -> st.SearchStrategy[dict]:
    """Return disbursements of the grant, of part of it, of nothing, or of a cent more."""
    base = granted or Decimal("0.00")
    paid = st.sampled_from([base, base - Decimal("0.01"), Decimal("0.00"), (base / 2).quantize(Decimal("0.01")),
                            base + Decimal("0.01")]).filter(lambda v: v >= 0).map(str) | cents(0, 6_000_000)
    return st.fixed_dictionaries({"amount_paid": paid, "paid_on": st.just(clock.today().isoformat())},
                                 optional={"payment_reference": st.sampled_from(["EFT-2026-0147", None])})


GOOD = {
    "recommend": st.fixed_dictionaries({"recommendation": st.sampled_from(RECOMMENDATIONS), "amount_granted": AMOUNTS}),
    "approve": st.sampled_from([None, {}]) | st.fixed_dictionaries({"amount_granted": AMOUNTS}),
    "close": st.just({"outcome": "Water systems restored in three districts."}),
    "provide_info": st.sampled_from([{}, {"channel": "Canadian Red Cross appeal"},
                                     {"description": "The delivering agency is the Red Cross."}])
    | AMOUNTS.map(lambda a: {"amount_requested": a}),
}
BAD = {
    "recommend": st.one_of(st.just({"recommendation": "maybe", "amount_granted": "100.00"}),
                           st.just({"recommendation": "approve"}),
                           ODD_MONEY.map(lambda odd: {"recommendation": "approve", "amount_granted": odd})),
    "approve": st.one_of(ODD_MONEY.map(lambda odd: {"amount_granted": odd}), st.just({"recommendation": "approve"})),
    "close": st.sampled_from([{"outcome": "   "}, {}, {"outcome": "x" * 5001}]),
    "provide_info": st.sampled_from([{"recommended_by": 1}, {"amount_granted": "1.00"}, {"affected_population": -5},
                                     {"disaster_date": "2999-01-01"}]),
}


class ReliefMachine(WorkflowMachine):
    workflow = "relief"
    # Staff, a councillor, someone holding hco and cao asking on their own account; finance may not ask.
    owners = ("staff", "cllr", "hco_cao", "finance")

    def prepare(self) -> None:
        self.partnerships = list(db.session.scalars(select(Partnership.id).order_by(Partnership.id)))

    def case_data(self, valid: bool) -> st.SearchStrategy[dict]:
        request = requests(clock.today(), self.partnerships)
        return request if valid else request.flatmap(spoiled)

    def edit_data(self, case: Case, valid: bool) -> st.SearchStrategy:
        request = requests(clock.today(), self.partnerships)
        return request if valid else request.flatmap(spoiled)

    def good_payload(self, trigger: str, case: Case):
        if trigger == "disburse":
            return disbursements(amount(case.data.get("amount_granted")))
        return GOOD.get(trigger)

    def bad_payload(self, trigger: str, case: Case):
        if trigger == "disburse":
            future = (clock.today() + timedelta(days=1)).isoformat()
            return st.one_of(disbursements(Decimal("100.00")).map(lambda d: {**d, "paid_on": future}),
                             ODD_MONEY.map(lambda odd: {"amount_paid": odd, "paid_on": "2026-03-02"}),
                             st.just({"amount_paid": "10.00"}))
        return BAD.get(trigger)

    def check_history(self, case: Case, events: list[AuditEvent]) -> None:
        limit = cao_limit()
        granted = paid = recommender = None
        for e in events:
            p = e.payload
            if e.action == "recommend":
                granted, recommender = Decimal(p["amount_granted"]), e.actor_id
            elif e.action == "approve":
                granted = Decimal(p["amount_granted"]) if "amount_granted" in p else granted
                if e.from_state == "recommended":
                    assert e.actor_id != recommender, f"case {case.id}: the recommender approved"
                    assert (e.to_state == "approved") == (granted <= limit), \
                        f"case {case.id}: {granted} went to {e.to_state} (CAO limit {limit})"
            elif e.action == "disburse":
                paid = Decimal(p["amount_paid"])
                assert paid <= granted, f"case {case.id}: paid {paid} of a grant of {granted}"
        # The decision data are exactly what the steps recorded, in the data and the report columns.
        assert (amount(case.data.get("amount_granted")), amount(case.data.get("amount_paid"))) == (granted, paid)
        assert (case.amount_granted, case.amount_paid) == (granted, paid)
        assert case.data.get("recommended_by") == recommender
        assert case.amount_requested == amount(case.data.get("amount_requested"))


def test_relief_keeps_its_rules_under_random_use(app, capsys):
    run_machine(ReliefMachine, capsys)
