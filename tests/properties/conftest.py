"""The machinery of the stateful property tests: a cast of people per example, random people taking
random steps on a few cases through the engine, and the invariants every workflow keeps.

A workflow's machine subclasses WorkflowMachine and says what its requests and steps look like,
valid or not: `case_data(valid)`, `edit_data(case, valid)`, `good_payload(trigger, case)` and
`bad_payload(trigger, case)` (strategies, or None for a step that takes no data), and what its
history must show: `check_history(case, events)`. A test runs it with `run_machine`.
"""
from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, NamedTuple

from hypothesis import HealthCheck, Phase, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)
from sqlalchemy import func, select, update

import clock
from extensions import db
from models import AuditEvent, Case, Department, Notification, Partnership, Role, Score, User
from tests.conftest import _HASH
from workflows import engine, registry
from workflows.access import allowed_triggers, can_view
from workflows.audit import check_chain, verify_all
from workflows.errors import WorkflowError
from workflows.scoring import criteria_for, may_score, submit_score

# No shrinking: it replays hundreds of examples against a database that keeps their rows, for minutes;
# a failure prints its steps as they ran, and the invariant's message names the case and the rule.
SETTINGS = settings(max_examples=15, stateful_step_count=30, deadline=None, database=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])
START = datetime(2026, 3, 2, 15, 0)
#: The owner's own triggers (product.md §1): on their own case an owner fires these and nothing else.
OWNER_TRIGGERS = frozenset({"submit", "withdraw", "cancel", "provide_info", "resubmit", "complete_trip",
                            "submit_report"})
POLICY, CLERK = "Strategic and Corporate Policy", "City Clerk's Office"
#: Every role, and the combinations that tempt separation of duties: key -> (department, *roles).
CAST = {
    "staff": ("Toronto Public Health", "staff"),
    "head": ("Toronto Public Health", "staff", "dept_head"),
    "other_head": ("Economic Development and Culture", "dept_head"),
    "stranger": ("Economic Development and Culture", "staff"),
    "cllr": ("City Council", "councillor"),
    "cllr_committee": ("City Council", "councillor", "committee"),
    "hco": (POLICY, "hco"),
    "hco2": (POLICY, "hco"),
    "hco_cao": (POLICY, "staff", "hco", "cao"),
    "committee": (CLERK, "committee"),
    "council": (CLERK, "council"),
    "cao": ("Chief Administrative Officer", "cao"),
    "finance": ("Finance", "finance"),
    "admin": ("Information and Technology", "admin"),
}
_casts = itertools.count(1)


def cents(low: int = 0, high: int = 5_000_000) -> st.SearchStrategy[str]:
    """Return amounts as clients send them ("1250.00"), between low and high cents."""
    return st.integers(low, high).map(lambda c: f"{Decimal(c) / 100:.2f}")


#: Amounts a careless or hostile client sends: negative, fractions of a cent, beyond any bound, not money.
ODD_MONEY = st.sampled_from(["-1.00", "-0.01", "12.345", "0.001", "1000000000.01", "1e3", "abc", "", "NaN",
                             "Infinity", True, None, [1], {"x": 1}, 12.5])
COMMENT_TEXT = ("Discussed with the requester.", "See the minutes of the meeting.")
COMMENTS = st.sampled_from(COMMENT_TEXT) | st.sampled_from([None, "", "   ", "x" * 5001, "bad\x00comment", 42])
JUNK = st.sampled_from(["not an object", [], 7, {"unknown_field": "x"}])
BAD_TITLES = st.sampled_from(["   ", "x" * 201, "a\x00b", 12, None])
BAD_GOALS = st.sampled_from([[], ["tourism"], "research", None, [7]])
#: Steps that end a case or send it back: allowed, just less often, so that examples go deep.
DETOURS = ("cancel", "withdraw", "decline", "return", "return_report", "request_info", "request_revision",
           "defer")
VERSIONS = ("current",) * 6 + ("stale", "ahead", "text", "none", "bool", "float")
#: What a step of `act` does: an action someone may take now, any step by someone who sees the case,
#: any step by anyone with any version, or time passing.
MODES = ("allowed",) * 6 + ("viewer",) * 2 + ("anything",) + ("wait",)


def local_day(at: datetime) -> date:
    """Return the City's day of a stored (naive UTC) moment."""
    return at.replace(tzinfo=timezone.utc).astimezone(clock.zone()).date()


def count(model, *where) -> int:
    """Return how many rows of a model match."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


class Snapshot(NamedTuple):
    """A case's columns and the counts of everything a call may add to."""

    case: tuple
    case_events: int
    events: int
    scores: int
    notifications: int
    inventory: tuple


def _count(model, *where):
    """Return the count of matching rows as a subquery."""
    return select(func.count()).select_from(model).where(*where).scalar_subquery()


def snapshot(case_id: int) -> Snapshot:
    """Return everything a refused call must leave as it was."""
    *row, case_events, events, scores, notifications = db.session.execute(select(
        Case.state, Case.version, Case.title, Case.goals, Case.data, Case.assignee_id, Case.last_event_hash,
        Case.amount_requested, Case.amount_granted, Case.amount_paid, Case.due_on, Case.submitted_at,
        Case.state_entered_at, _count(AuditEvent, AuditEvent.case_id == case_id), _count(AuditEvent),
        _count(Score), _count(Notification)).where(Case.id == case_id)).one()
    inventory = db.session.execute(select(Partnership.id, Partnership.status, Partnership.city, Partnership.focus)
                                   .order_by(Partnership.id))
    return Snapshot(tuple(row), case_events, events, scores, notifications, tuple(inventory))


@dataclass(frozen=True)
class Person:
    """A cast member as the access rules read them, kept apart from the session (which a refusal expires)."""

    id: int
    username: str
    department_id: int
    role_names: frozenset[str]

    def has_role(self, *names: str) -> bool:
        return not self.role_names.isdisjoint(names)


def new_cast() -> tuple[dict[str, User], dict[str, Person]]:
    """Create the people of one example; earlier examples' people leave (no mail goes to them)."""
    session = db.session
    session.execute(update(User).where(User.active.is_(True)).values(active=False))
    n = next(_casts)
    roles = {r.name: r for r in session.scalars(select(Role))}
    departments = {d.name: d for d in session.scalars(select(Department))}
    people = {}
    for key, (dept, *names) in CAST.items():
        if dept not in departments:
            departments[dept] = Department(name=dept)
        people[key] = User(username=f"p{n}.{key}", full_name=key.replace("_", " ").title(), password_hash=_HASH,
                           department=departments[dept], roles=[roles[r] for r in names],
                           email=f"p{n}.{key}@toronto.example")
    session.add_all(people.values())
    session.flush()
    seen = {key: Person(u.id, u.username, u.department_id, frozenset(CAST[key][1:])) for key, u in people.items()}
    session.commit()
    return people, seen


@dataclass
class Stats:
    """What a run did, printed at its end."""

    examples: int = 0
    steps: int = 0
    accepted: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    states: set = field(default_factory=set)

    def __str__(self) -> str:
        return (f"{self.examples} examples, {self.steps} steps, {sum(self.accepted.values())} accepted "
                f"{dict(sorted(self.accepted.items()))}, "
                f"{sum(self.refused.values())} refusals {dict(sorted(self.refused.items()))}; "
                f"states reached: {' '.join(sorted(self.states))}")


class WorkflowMachine(RuleBasedStateMachine):
    """Random people take random steps on a few cases of one workflow, and nothing breaks the rules."""

    workflow = ""
    owners: tuple[str, ...] = ()
    max_cases, max_open = 6, 2
    stats: Stats

    def __init__(self) -> None:
        super().__init__()
        self.wf = registry.get(self.workflow)
        self.people: dict[str, User] = {}
        self.state_of: dict[int, str] = {}  # the example's cases, and the state each was last seen in
        self.ends = set(self.wf.states) - {s for t in self.wf.transitions for s in t.source}

    def prepare(self) -> None:
        """Set up what a workflow's example needs beside its people (nothing by default)."""

    @initialize()
    def begin(self) -> None:
        clock.set(START)
        self.people, self.seen = new_cast()
        self.key_of = {p.id: key for key, p in self.seen.items()}
        self.prepare()
        self.stats.examples += 1

    def teardown(self) -> None:
        try:
            self.check_waiting()
        finally:
            clock.set(None)

    def check_waiting(self) -> None:
        """Check that each person's waiting list (its SQL, narrowed by role and workflow) holds
        this example's cases that wait for them by the finer rules: no more, no fewer."""
        from workflows import queries

        ids = set(self.state_of)
        cases = list(db.session.scalars(select(Case).where(Case.id.in_(ids)).execution_options(populate_existing=True)))
        for person in self.people.values():
            found = queries.waiting_for(db.session, person)
            if found.more or not found.complete:
                continue  # (the earlier examples' cases fill the page: nothing to compare)
            listed = {case.id for case in found.cases} & ids
            assert listed == {case.id for case in cases if queries._waits_for(person, case)}, person.username

    @precondition(lambda self: len(self.state_of) < self.max_cases and len(self.open_cases()) < self.max_open)
    @rule(data=st.data())
    def create(self, data) -> None:
        self.stats.steps += 1
        owner = self.people[data.draw(st.sampled_from(self.owners), label="owner")]
        fault = data.draw(st.sampled_from((None,) * 6 + ("title", "goals", "data")), label="fault")
        title = data.draw(BAD_TITLES, label="title") if fault == "title" else "International request"
        goals = data.draw(BAD_GOALS, label="goals") if fault == "goals" else ["research", "democracy"]
        values = data.draw(self.case_data(valid=fault != "data"), label="data")
        before = (count(Case), count(AuditEvent))
        try:
            case = engine.create_case(db.session, owner, self.workflow, title, goals, values)
        except WorkflowError as err:
            assert (count(Case), count(AuditEvent)) == before, f"refused create ({err.message}) left rows"
            self.stats.refused[err.code] += 1
            return
        self.state_of[case.id] = case.state
        self.stats.states.add(case.state)

    def open_cases(self) -> list[int]:
        """Return the example's cases that may still move."""
        return [case_id for case_id, state in self.state_of.items() if state not in self.ends]

    @precondition(lambda self: self.state_of)
    @rule(data=st.data())
    def act(self, data) -> None:
        self.stats.steps += 1
        mode = data.draw(st.sampled_from(MODES), label="mode")
        if mode == "wait":
            clock.advance(hours=data.draw(st.integers(1, 24 * 10), label="hours"))
            return
        # Mostly a case that may still move, sometimes any (finished cases must refuse everything).
        case_id = data.draw(st.sampled_from(self.open_cases() * 3 + list(self.state_of)), label="case")
        options = self.allowed(case_id) if mode == "allowed" else []
        if options:
            who, action = data.draw(st.sampled_from(options), label="who, action")
            valid = data.draw(st.sampled_from((True,) * 9 + (False,)), label="valid")
            version, comment = "current", data.draw(st.sampled_from(COMMENT_TEXT * 5 + (None,)), label="comment")
        else:
            viewers = sorted(self.people) if mode == "anything" else self.viewers(case_id)
            who = data.draw(st.sampled_from(viewers), label="who")
            action = data.draw(st.sampled_from([*self.wf.triggers(), "score", "edit", "no_such_step"]),
                               label="action")
            version = data.draw(st.sampled_from(VERSIONS), label="version") if mode == "anything" else "current"
            comment, valid = data.draw(COMMENTS, label="comment"), False
        self.perform(case_id, self.people[who], action, version, comment, valid, data)

    def viewers(self, case_id: int) -> list[str]:
        """Return the people who may see the case (its owner among them)."""
        case = db.session.get(Case, case_id)
        return [key for key, person in self.seen.items() if can_view(person, case)]

    def allowed(self, case_id: int) -> list[tuple[str, str]]:
        """Return the (person, action) pairs the rules let people take on the case now."""
        case = db.session.get(Case, case_id)
        scored = set(db.session.scalars(select(Score.reviewer_id).where(Score.case_id == case_id)))
        options = []
        for key, person in self.seen.items():
            for trigger in allowed_triggers(person, case, self.wf):
                options += [(key, trigger)] * (1 if trigger in DETOURS else 4)
            # A reviewer scores once here; scoring again is left to the other modes.
            if person.id not in scored and may_score(person, case) and can_view(person, case):
                options += [(key, "score")] * 2
        if case.state in self.wf.editable_states:
            options += [(self.key_of[case.owner_id], "edit")] * 3
        return options

    def perform(self, case_id: int, user: User, action: str, version: str, comment: Any, valid: bool,
                data) -> None:
        case = db.session.get(Case, case_id)
        v = case.version
        v = {"current": v, "stale": v - 1, "ahead": v + 1, "text": str(v), "none": None, "bool": True,
             "float": float(v)}[version]
        if action == "score":
            ratings = data.draw(self.ratings(valid), label="ratings")
            conflict = "none" if valid else data.draw(st.sampled_from(["none"] * 4 + ["recused", "maybe"]))
            self.attempt(case_id, action,
                         lambda: submit_score(db.session, user, case_id, ratings, conflict=conflict))
        elif action == "edit":
            changes = data.draw(self.edit_data(case, True) if valid else
                                self.edit_data(case, False) | self.edit_data(case, True) | JUNK, label="changes")
            self.attempt(case_id, action, lambda: engine.update_case(db.session, user, case_id, v, data=changes))
        else:
            payload = data.draw(self.payload(action, case, valid), label="payload")
            self.attempt(case_id, action, lambda: engine.fire(db.session, user, case_id, action, v,
                                                              comment=comment, payload=payload))

    def payload(self, trigger: str, case: Case, valid: bool) -> st.SearchStrategy:
        """Return payloads for a step: good ones when valid, anything otherwise."""
        good, bad = self.good_payload(trigger, case), self.bad_payload(trigger, case)
        good = st.sampled_from([None, {}]) if good is None else good
        bad = JUNK if bad is None else bad
        return good if valid else st.one_of(good, bad, JUNK)

    def ratings(self, valid: bool) -> st.SearchStrategy:
        """Return one reviewer's ratings: every rated criterion within the scale, or faulty ones."""
        cset = criteria_for(self.workflow)
        good = st.fixed_dictionaries({cid: st.integers(0, 5) for cid in cset.rated_ids})
        if valid:
            return good
        bad = st.one_of(
            st.fixed_dictionaries({cid: st.integers(-1, 6) for cid in cset.rated_ids}),
            good.map(lambda r: dict(list(r.items())[1:])),
            good.map(lambda r: {**r, cset.computed_ids[0]: 3}),
            good.map(lambda r: {**r, "charm": 5}),
            good.map(lambda r: {k: str(v) for k, v in r.items()}),
            st.just("five stars"),
        )
        return good | bad

    def attempt(self, case_id: int, action: str, call: Callable[[], Any]) -> None:
        """Make a call; a refusal must change nothing, an acceptance exactly one event's worth (or,
        for an edit that sent only what is stored already, nothing at all)."""
        before = snapshot(case_id)
        try:
            call()
        except WorkflowError as err:
            after = snapshot(case_id)
            assert after == before, f"refused {action} ({err.code}: {err.message}) changed {before} to {after}"
            self.stats.refused[err.code] += 1
            return
        after = snapshot(case_id)
        self.state_of[case_id] = after.case[0]
        if action == "edit" and after == before:
            self.stats.accepted["edit that changed nothing"] += 1
            return
        assert after.case_events == before.case_events + 1, f"{action} made {after.case_events - before.case_events}"
        if action == "score":
            assert after.case[0] == before.case[0] and after.scores == before.scores + 1
        assert after.case[1] == before.case[1] + 1, f"{action} took version {before.case[1]} to {after.case[1]}"
        self.stats.accepted[action] += 1
        self.stats.states.add(after.case[0])

    @invariant()
    def histories_hold(self) -> None:
        ids = list(self.state_of)
        cases = db.session.scalars(select(Case).where(Case.id.in_(ids)).execution_options(populate_existing=True))
        events = defaultdict(list)
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id.in_(ids))
                                    .order_by(AuditEvent.case_id, AuditEvent.seq)):
            events[e.case_id].append(e)
        states = {}
        for case in cases:
            states[case.id] = case.state
            self.check_case(case, events[case.id])
            self.check_history(case, events[case.id])
        # No case moved but by the calls that were answered with success.
        assert states == self.state_of

    def check_case(self, case: Case, events: list[AuditEvent]) -> None:
        """Check what every workflow promises of a case and its trail."""
        wf = self.wf
        first = events[0]
        assert (first.action, first.to_state, first.actor_id) == ("create", wf.initial, case.owner_id)
        assert wf.may_create(self.seen[self.key_of[case.owner_id]]), f"case {case.id}: opened by a non-creator"
        assert check_chain(events, case.last_event_hash) is None, f"case {case.id}: chain broken"
        state = None
        for e in events:
            assert e.chain == f"case:{case.id}"
            if e.action != "create":
                assert e.from_state == state, f"case {case.id}: {e.action} from {e.from_state}, was {state}"
            state = e.to_state if e.to_state is not None else state
            self.check_actor(case, e)
        assert case.state == state, f"case {case.id} is {case.state}; its last transition went to {state}"
        assert case.version == len(events), f"case {case.id}: version {case.version} after {len(events)} changes"
        assert case.assignee_id is None or case.assignee_id != case.owner_id

    def check_actor(self, case: Case, e: AuditEvent) -> None:
        """Check that whoever took the step of an event was allowed to (separation of duties)."""
        wf, own = self.wf, e.actor_id == case.owner_id
        actor = self.seen[self.key_of[e.actor_id]]
        assert can_view(actor, case), f"case {case.id}: {e.action} by {actor.username}, who may not see it"
        if e.action == "score":
            assert not own and actor.has_role(*wf.scorers) and e.from_state in wf.scoring_states
        elif e.action == "edit":
            assert own and e.from_state in wf.editable_states
        elif e.action != "create":
            t = next((t for t in wf.transitions
                      if t.trigger == e.action and e.from_state in t.source and t.dest == e.to_state), None)
            assert t is not None, f"case {case.id}: {e.action} {e.from_state} -> {e.to_state} is no transition"
            assert own == t.by_owner == (e.action in OWNER_TRIGGERS), f"case {case.id}: {e.action} by {actor}"
            if not own:
                assert actor.has_role(*t.roles) and (t.may is None or t.may(case, actor)), \
                    f"case {case.id}: {e.action} by {actor} {sorted(actor.role_names)}"


def run_machine(machine: type[WorkflowMachine], capsys, **attributes) -> Stats:
    """Run a workflow's machine in the test's app context, check every chain, and print what ran."""
    stats = Stats()
    runner = type(machine.__name__, (machine,), {"stats": stats, **attributes})
    run_state_machine_as_test(runner, settings=SETTINGS)
    assert verify_all(db.session)[2] == []
    with capsys.disabled():
        print(f"\n{machine.workflow} stateful: {stats}")
    assert stats.accepted and stats.refused
    return stats
