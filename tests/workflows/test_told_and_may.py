"""Who is told a request awaits them, and who may take its step: the same people, in every workflow
and every state it waits in.

A cast holding every role and the combinations that tempt separation of duties (an officer who is
also the CAO, Council's clerk or on the committee; a department's second head; a councillor on the
committee; accounts closed) meets requests driven into each state that waits for someone, with the
edge cases of each workflow: a conflict of interest declared, a head's own trip, a trip above the
CAO's threshold, a councillor's trip, relief above the CAO's delegated authority, a request an
officer took up, a request of an officer's own. For each person it compares what the engine lets
them do now (access.allowed_triggers, which fire checks step by step) with what tells them: the
waiting list (the dashboard's and /waiting's query), the API's waiting list, the "awaits you" mail
sent when the request came to its state, whom the case page says it waits for, and the steps the
case page offers them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

import pytest
from flask import current_app
from sqlalchemy import select

import clock
from extensions import db
from models import AuditEvent, Case, Notification, User
from notifications import people_who_can_act
from tests.factories import TEST_PASSWORD
from tests.workflows.partnership.conftest import DECISION, RATINGS as PARTNERSHIP_RATINGS, revival
from tests.workflows.relief.conftest import RATINGS as RELIEF_RATINGS, relief_data
from tests.workflows.travel.conftest import REPORT, trip_data
from workflows import engine, queries, registry
from workflows.access import allowed_triggers, can_view
from workflows.presenters import steps_waiting
from workflows.scoring import recused_reviewers, submit_score

TPH, EDC, COUNCIL, CLERK = "Toronto Public Health", "Economic Development and Culture", "City Council", \
    "City Clerk's Office"
POLICY, CAO, FINANCE, IT = "Strategic and Corporate Policy", "Chief Administrative Officer", "Finance", \
    "Information and Technology"
#: key -> (department, roles...). The "gone" accounts are closed before any request is made, but
#: gone_hco, closed once it has taken requests up.
CAST = {
    "sam": (TPH, "staff"), "tess": (TPH, "staff"), "dana": (TPH, "staff", "dept_head"), "dora": (TPH, "dept_head"),
    "eli": (EDC, "dept_head"), "erin": (EDC, "staff"),
    "chen": (COUNCIL, "councillor"), "cora": (COUNCIL, "councillor", "committee"),
    "pat": (CLERK, "committee"), "pia": (CLERK, "committee"), "jordan": (CLERK, "council"), "june": (CLERK, "council"),
    "cao": (CAO, "cao"), "cato": (CAO, "cao"),
    "hana": (POLICY, "hco"), "omar": (POLICY, "hco", "staff"), "kim": (POLICY, "hco", "cao", "staff"),
    "lee": (POLICY, "hco", "council", "staff"), "hal": (POLICY, "hco", "committee"),
    "ravi": (FINANCE, "finance"), "ada": (IT, "admin"),
    "gone_hco": (POLICY, "hco"), "gone_cao": (CAO, "cao"), "gone_head": (TPH, "dept_head"),
    "gone_cttee": (CLERK, "committee"),
}
#: The owner's steps that end their own request: always open to them, and not what anyone waits for.
OWNER_ENDS = frozenset({"cancel", "withdraw"})
TODAY = date(2026, 3, 2)
NOON = datetime(2026, 3, 2, 15, 0)


@pytest.fixture
def cast(make_user):
    people = {key: make_user(key, *roles, department=dept) for key, (dept, *roles) in CAST.items()}
    _close(people, "gone_cao", "gone_head", "gone_cttee")
    return people


def _close(people: dict[str, User], *keys: str) -> None:
    """Close accounts as an administrator does (`flask users deactivate`)."""
    for key in keys:
        r = current_app.test_cli_runner().invoke(args=["users", "deactivate", people[key].username])
        assert r.exit_code == 0, r.output
        db.session.refresh(people[key])


@dataclass
class Driver:
    """Moves requests through the engine as the cast, one step at a time."""

    people: dict[str, User]

    def case(self, case_id: int) -> Case:
        return db.session.get(Case, case_id)

    def step(self, case: Case, who: str, trigger: str, comment: str | None = None, payload=None) -> Case:
        clock.advance(minutes=1)  # (each state entered at a moment of its own)
        return engine.fire(db.session, self.people[who], case.id, trigger, self.case(case.id).version,
                           comment=comment, payload=payload)

    def score(self, case: Case, who: str, ratings: dict | None = None) -> Case:
        clock.advance(minutes=1)
        submit_score(db.session, self.people[who], case.id, ratings or {}, conflict="recused" if ratings is None
                     else "none")
        return self.case(case.id)

    def new(self, who: str, workflow: str, title: str, data: dict) -> Case:
        clock.advance(minutes=1)
        return engine.create_case(db.session, self.people[who], workflow, title, ["research"], data)


# ------------------------------------------------------------------------------------ scenarios

def _trip(d: Driver, who: str, title: str, start: date | None = None, **costs) -> Case:
    return d.new(who, "travel", title, trip_data(start or TODAY + timedelta(days=30), **costs))


ABOVE = {"registration": "650.00", "transport": "6400.00"}


def _taken(d: Driver, case: Case, approver: str) -> Case:
    """Approve a trip that begins today, mark it taken and file its report."""
    case = d.step(case, approver, "approve")
    owner = case.owner.username
    return d.step(d.step(case, owner, "complete_trip"), owner, "submit_report", payload=REPORT)


def travel_scenarios(d: Driver) -> dict[str, Case]:
    s = {}
    s["draft"] = _trip(d, "sam", "draft")
    s["submitted"] = d.step(_trip(d, "sam", "submitted"), "sam", "submit")
    s["returned"] = d.step(d.step(_trip(d, "sam", "returned"), "sam", "submit"), "dana", "return", "Add the agenda.")
    s["submitted, head recused"] = d.score(d.step(_trip(d, "sam", "head recused"), "sam", "submit"), "dana")
    s["submitted, above threshold"] = d.step(_trip(d, "sam", "above", **ABOVE), "sam", "submit")
    s["cao_review"] = d.step(d.step(_trip(d, "sam", "cao review", **ABOVE), "sam", "submit"), "dana", "approve")
    s["cao_review, a CAO recused"] = d.score(d.step(d.step(_trip(d, "sam", "cao recused", **ABOVE), "sam", "submit"),
                                                    "dora", "approve"), "cao")
    s["approved, ahead"] = d.step(d.step(_trip(d, "sam", "approved"), "sam", "submit"), "dana", "approve")
    s["submitted, other department"] = d.step(_trip(d, "erin", "erin's"), "erin", "submit")
    s["head's own, submitted"] = d.step(_trip(d, "dana", "dana's own"), "dana", "submit")
    s["head's own, above threshold"] = d.step(_trip(d, "dana", "dana's own above", **ABOVE), "dana", "submit")
    s["councillor's, submitted"] = d.step(_trip(d, "chen", "chen's"), "chen", "submit")
    s["councillor's, member recused"] = d.score(d.step(_trip(d, "chen", "chen's recused"), "chen", "submit"), "pat")
    s["committee member's own"] = d.step(_trip(d, "cora", "cora's"), "cora", "submit")
    s["headless department's"] = d.step(_trip(d, "omar", "omar's"), "omar", "submit")
    # Trips under way: requested twenty days before they begin today.
    clock.set(NOON - timedelta(days=20))
    later = {
        "approved, begun": d.step(_trip(d, "sam", "begun", TODAY), "sam", "submit"),
        "travelled": d.step(_trip(d, "sam", "travelled", TODAY), "sam", "submit"),
        "report_submitted": d.step(_trip(d, "sam", "reported", TODAY), "sam", "submit"),
        "report, head recused": d.score(d.step(_trip(d, "sam", "reported recused", TODAY), "sam", "submit"), "dana"),
        "report, above threshold": d.step(_trip(d, "sam", "reported above", TODAY, **ABOVE), "sam", "submit"),
        "report, head's own": d.step(_trip(d, "dana", "dana's reported", TODAY), "dana", "submit"),
        "report, councillor's": d.step(_trip(d, "chen", "chen's reported", TODAY), "chen", "submit"),
        "report returned": d.step(_trip(d, "sam", "report returned", TODAY), "sam", "submit"),
        "report, councillor's, member recused": d.score(d.step(_trip(d, "chen", "chen's recused reported", TODAY),
                                                               "chen", "submit"), "pat"),
    }
    later["approved, begun"] = d.step(later["approved, begun"], "dana", "approve")
    later["travelled"] = d.step(later["travelled"], "dana", "approve")
    later["report, above threshold"] = d.step(later["report, above threshold"], "dana", "approve")
    later["report, above threshold"] = d.step(later["report, above threshold"], "cao", "approve")
    clock.set(NOON)
    later["travelled"] = d.step(later["travelled"], "sam", "complete_trip")
    for key, approver in (("report_submitted", "dana"), ("report, head recused", "cao"), ("report, head's own", "cao"),
                          ("report, councillor's", "pat"), ("report returned", "dora"),
                          ("report, councillor's, member recused", "pia")):
        later[key] = _taken(d, later[key], approver)
    case = d.step(later["report, above threshold"], "sam", "complete_trip")
    later["report, above threshold"] = d.step(case, "sam", "submit_report", payload=REPORT)
    later["report returned"] = d.step(later["report returned"], "dora", "return_report", "Give the costs.")
    s.update(later)
    return s


PROPOSAL = {"recommendation": "approve", "amount_granted": "20000.00"}


def relief_scenarios(d: Driver) -> dict[str, Case]:
    def new(who: str = "sam", title: str = "Hurricane relief", **changes) -> Case:
        return d.new(who, "relief", title, relief_data(**changes))

    def triage(who: str = "hana", owner: str = "sam", **changes) -> Case:
        return d.step(d.step(new(owner, **changes), owner, "submit"), who, "start_triage")

    def recommended(who: str = "hana", amount: str = "20000.00", owner: str = "sam", **changes) -> Case:
        case = d.score(triage(who, owner, amount_requested=amount, **changes), who, RELIEF_RATINGS)
        return d.step(case, who, "recommend", "Strong case.", {"recommendation": "approve", "amount_granted": amount})

    s = {}
    s["draft"] = new()
    s["submitted"] = d.step(new(), "sam", "submit")
    s["an officer's own, submitted"] = d.step(new("omar"), "omar", "submit")
    s["in_triage"] = triage()
    s["in_triage, answered"] = d.step(d.step(triage(), "hana", "request_info", "Which agency?"), "sam", "provide_info",
                                      payload={"channel": "Canadian Red Cross appeal"})
    s["in_triage, officer recused"] = d.score(triage(), "hana")
    s["in_triage, a colleague recused"] = d.score(triage(), "omar")
    s["in_triage, officer's account closed"] = triage("gone_hco")
    s["info_requested"] = d.step(triage(), "hana", "request_info", "Which agency?")
    s["recommended"] = recommended()
    s["recommended by an officer who is CAO too"] = recommended("kim")
    recused = d.score(triage(), "kim")
    s["recommended, a CAO recused in triage"] = d.step(d.score(recused, "hana", RELIEF_RATINGS), "hana", "recommend",
                                                       "Strong case.", PROPOSAL)
    s["council_review"] = d.step(recommended(amount="30000.00"), "cao", "approve")
    s["council_review, recommended by Council's clerk"] = d.step(recommended("lee", amount="30000.00"), "cao",
                                                                 "approve")
    s["approved"] = d.step(recommended(), "cao", "approve")
    s["approved by Council"] = d.step(d.step(recommended(amount="30000.00"), "cao", "approve"), "jordan", "approve")
    s["an officer's own, disbursed"] = d.step(d.step(recommended(owner="omar"), "cao", "approve"), "ravi", "disburse",
                                              payload={"amount_paid": "20000.00", "paid_on": clock.today().isoformat(),
                                                       "payment_reference": "EFT-2"})
    s["the CAO's own, recommended"] = recommended(owner="kim")
    s["Council's clerk's own, council_review"] = d.step(recommended(owner="lee", amount="30000.00"), "cao", "approve")
    s["disbursed"] = d.step(d.step(recommended(), "cao", "approve"), "ravi", "disburse",
                            payload={"amount_paid": "20000.00", "paid_on": clock.today().isoformat(),
                                     "payment_reference": "EFT-1"})
    _close(d.people, "gone_hco")
    return s


def partnership_scenarios(d: Driver) -> dict[str, Case]:
    def new(who: str = "chen") -> Case:
        return d.new(who, "partnership", "Revive Sao Paulo", revival())

    def review(who: str = "hana", owner: str = "chen") -> Case:
        return d.step(d.step(new(owner), owner, "submit"), who, "start_review")

    def committee(owner: str = "chen", recuser: str | None = None) -> Case:
        case = review(owner=owner)
        if recuser:
            case = d.score(case, recuser)
        case = d.score(case, "hana", PARTNERSHIP_RATINGS)
        return d.step(case, "hana", "recommend")

    s = {}
    s["draft"] = new()
    s["submitted"] = d.step(new(), "chen", "submit")
    s["under_review"] = review()
    s["under_review, resubmitted"] = d.step(d.step(review(), "hana", "request_revision", "Add a work plan."), "chen",
                                            "resubmit", payload={})
    s["under_review, officer recused"] = d.score(review(), "hana")
    s["under_review, officer's account closed"] = review("gone_hco")
    s["revision_requested"] = d.step(review(), "hana", "request_revision", "Add a work plan.")
    s["committee_review"] = committee()
    s["committee_review, a member recused in review"] = committee(recuser="hal")
    s["committee member's own, committee_review"] = committee(owner="cora")
    s["deferred"] = d.step(committee(), "pat", "defer", "Await the FCM.", DECISION)
    s["reconsidered"] = d.step(d.step(committee(), "pat", "defer", "Await the FCM.", DECISION), "pia", "reconsider")
    s["council_review"] = d.step(committee(), "pat", "approve", payload=DECISION)
    s["council_review, Council's clerk recused in review"] = d.step(committee(recuser="lee"), "pat", "approve",
                                                                    payload=DECISION)
    _close(d.people, "gone_hco")
    return s


SCENARIOS: dict[str, Callable[[Driver], dict[str, Case]]] = {
    "travel": travel_scenarios, "relief": relief_scenarios, "partnership": partnership_scenarios}


# ------------------------------------------------------------------------------------ reading what tells

def _listed(user: User) -> set[int]:
    """Return every case on the person's waiting list (the dashboard's and /waiting's query), every page."""
    ids, after = set(), None
    while True:
        found = queries.waiting_for(db.session, user, after=after)
        assert found.complete
        ids |= {c.id for c in found.cases}
        if found.next is None:
            return ids
        after = found.next


def _api_listed(client) -> set[int]:
    ids, url = set(), "/api/v1/cases/waiting"
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        ids |= {item["id"] for item in body["items"]}
        url = f"/api/v1/cases/waiting?after={body['next']}" if body["next"] else None
    return ids


def _buttons(page: str, case_id: int) -> set[str]:
    """Return the steps the case page offers: each action's form, and each outcome of its decision form."""
    steps = set(re.findall(rf'action="/cases/{case_id}/actions/([a-z_]+)"', page))
    if f'action="/cases/{case_id}/decision"' in page:
        steps |= set(re.findall(r'name="decision-outcome"[^>]*value="([a-z_]+)"', page))
    return steps


def _mailed(case: Case) -> set[int]:
    """Return who was mailed "awaits you" about the case since it came to its state (its entry, or a
    conflict declared since: a message's key is the case's version it was queued at)."""
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                     .order_by(AuditEvent.seq)))
    entered = max(n for n, e in enumerate(events, 1) if e.from_state != e.to_state)
    notes = db.session.scalars(select(Notification).where(Notification.case_id == case.id))
    # A trip approved ahead tells its traveller it is approved, and from which day they mark it taken.
    later = registry.get(case.workflow).waits_on_owner
    return {n.user_id for n in notes if int(n.key.split(":")[1]) >= entered
            and (n.kind == "awaits" or n.kind == "outcome" and case.state in later and n.user_id == case.owner_id)}


def _movers(case: Case) -> set[int]:
    """Return who brought the case to its state, or declared a conflict on it since: told by their
    own step, not by mail."""
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                     .order_by(AuditEvent.seq)))
    entered = max(n for n, e in enumerate(events) if e.from_state != e.to_state)
    return {e.actor_id for e in events[entered:] if e.action != "comment"}


@dataclass(frozen=True)
class Mismatch:
    scenario: str
    state: str
    person: str
    may: tuple[str, ...]
    listed: bool
    api: bool
    mailed: bool
    summary: bool
    buttons: tuple[str, ...]
    api_allowed: tuple[str, ...]
    step_named: bool

    def __str__(self) -> str:
        return (f"{self.scenario} [{self.state}] {self.person}: may {list(self.may)}, buttons {list(self.buttons)}, "
                f"API allowed_transitions {list(self.api_allowed)}; listed {self.listed} (its step named "
                f"{self.step_named}), API waiting {self.api}, mailed {self.mailed}, page says it waits for them "
                f"{self.summary}")


def mismatches(app, api, people: dict[str, User], cases: dict[str, Case]) -> list[Mismatch]:
    """Return, for each case and each active person, where what tells them and what they may do differ.

    Told and may differ by design in three places, which are expected here: a colleague of the
    officer who took a request up may act on it but is not told (it waits for that officer alone);
    one mailed when it came to them who declared a conflict since may no longer act; and a trip
    approved ahead is told to its traveller as approved, with the day from which it is theirs."""
    active = {key: user for key, user in people.items() if user.active}
    listed = {key: _listed(user) for key, user in active.items()}
    api_clients = {key: api(user) for key, user in active.items()}
    api_listed = {key: _api_listed(client) for key, client in api_clients.items()}
    clients = {}
    found = []
    for name, case in cases.items():
        case = db.session.get(Case, case.id)
        db.session.refresh(case)
        wf = registry.get(case.workflow)
        mailed = _mailed(case)
        movers = _movers(case)
        waiting = {p.id for p in people_who_can_act(db.session, case)}
        for key, user in people.items():
            if not user.active:  # (never told; gone_hco was, before it was closed)
                assert user.id not in waiting and (user.id not in mailed or key == "gone_hco"), (name, key)
                continue
            own = case.owner_id == user.id
            may = tuple(t for t in allowed_triggers(user, case, wf) if not (own and t in OWNER_ENDS))
            buttons: tuple[str, ...] = ()
            if can_view(user, case):
                if key not in clients:
                    clients[key] = _signed_in(app, user)
                page = clients[key].get(f"/cases/{case.id}")
                assert page.status_code == 200
                buttons = tuple(sorted(t for t in _buttons(page.get_data(as_text=True), case.id)
                                       if not (own and t in OWNER_ENDS)))
            # What the API says may be done, and what the lists say the request waits for ("Your step").
            offered: tuple[str, ...] = ()
            if can_view(user, case):
                r = api_clients[key].get(f"/api/v1/cases/{case.id}")
                offered = tuple(t for t in r.get_json()["allowed_transitions"] if not (own and t in OWNER_ENDS))
            on_list = case.id in listed[key]
            # Who brought the request to its state (or stepped aside since) is told by their own step.
            row = Mismatch(name, case.state, key, may, on_list, case.id in api_listed[key],
                           user.id in mailed or user.id in movers and bool(may), user.id in waiting, buttons,
                           offered, on_list and bool(steps_waiting(user, case)))
            expected = bool(may)
            if may and _left_to_its_officer(case, user):
                expected = False  # (any officer may still take it up: product.md's assignee, README)
            mail_expected = expected
            if user.id in mailed and not may and user.id in recused_reviewers(case):
                mail_expected = True  # (told when it came to them; they stepped aside since)
            if user.id in mailed and case.owner_id == user.id and not wf.owners_turn(case) \
                    and case.state in wf.waits_on_owner:
                mail_expected = True  # (a trip approved ahead: told so, with the day it is theirs)
            if {row.listed, row.api, row.summary} != {expected} or row.mailed != mail_expected \
                    or set(buttons) != set(may) or set(offered) != set(may) or row.step_named != row.listed:
                found.append(row)
    return found


def _left_to_its_officer(case: Case, user: User) -> bool:
    """Return whether the request waits for the officer who took it up, and not for this colleague:
    in the states of the officer's review, while they may still carry it on."""
    wf = registry.get(case.workflow)
    officer = case.assignee
    return (case.state in wf.claimed_states and officer is not None and officer.id != user.id and officer.active
            and officer.has_role(*wf.claimed_by) and officer.id not in recused_reviewers(case))


def _signed_in(app, user: User):
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert r.status_code == 302
    return client


@pytest.mark.parametrize("workflow", list(SCENARIOS))
def test_who_is_told_a_request_awaits_them_is_who_may_act_on_it(app, api, cast, workflow):
    clock.set(NOON)
    try:
        cases = SCENARIOS[workflow](Driver(cast))
        found = mismatches(app, api, cast, cases)
    finally:
        clock.set(None)
    wf = registry.get(workflow)
    waiting_states = {state for t in wf.transitions for state in t.source}
    assert {db.session.get(Case, case.id).state for case in cases.values()} == waiting_states
    print("\n".join(str(m) for m in found))
    assert not found
