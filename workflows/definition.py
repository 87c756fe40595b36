"""How a workflow is declared: states, transitions, who may fire them, guards, schemas.

A workflow is declared once, as data; ``Workflow.machine`` is the one ``transitions`` machine
shared by every case of that workflow, built when the definition is made.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from marshmallow import Schema, fields
from transitions import Machine

if TYPE_CHECKING:
    from models import Case, User
    from workflows.engine import Context

OWNER = "owner"


@functools.cache
def shared(schema: type[Schema]) -> Schema:
    """Return the one instance of a schema class that every load and validation uses.

    marshmallow schemas keep no state between calls, and making one deep-copies every declared
    field: on the engine's path that cost more than the validation itself.
    """
    return schema()


def incomplete(schema: type[Schema], data: dict[str, Any]) -> dict:
    """Return the field errors of a case's data in a full load of its schema (what a submit
    checks), a null field (a draft's cleared one) counting as missing."""
    return _say_required(shared(schema).validate({key: value for key, value in data.items() if value is not None}))


#: What a field missing at submit says, beside the field and in the list at the top of the page,
#: in place of marshmallow's "Missing data for required field.".
REQUIRED_TO_SUBMIT = "Fill this in to submit the request."


def _say_required(errors: dict) -> dict:
    required = fields.Field.default_error_messages["required"]
    return {key: _say_required(value) if isinstance(value, dict)
            else [REQUIRED_TO_SUBMIT if message == required else message for message in value]
            if isinstance(value, list) else value
            for key, value in errors.items()}

def field_error(field: str, message: str) -> tuple[str, dict]:
    """Return a guard's refusal naming one field of the request's data (GuardResult)."""
    return message, {"data": {field: [message]}}


def named(errors: dict, names: dict[str, str]) -> str:
    """Return the fields in error as a person reads them on the workflow's form (`names`, in the
    form's order), not by their keys: "people affected, kinds of help", not "affected_population"."""
    order = list(names)
    return ", ".join(names.get(k, k.replace("_", " "))
                     for k in sorted(errors, key=lambda k: (order.index(k) if k in order else len(order), k)))


def in_sentence(words: str) -> str:
    """Return a label ("Report submitted") as it reads within a sentence: its first letter lowered,
    unless the second is not lowercase (an acronym: "CAO review" stays so, where lower() made it
    "cao review"), and the rest as it is ("At Council" reads "at Council")."""
    return words[:1].lower() + words[1:] if words[1:2].islower() else words


# A guard returns None when the transition may go ahead, else a message (or a message and
# field errors) saying why not.
GuardResult = "str | tuple[str, dict] | None"


@dataclass(frozen=True)
class Guard:
    name: str
    check: Callable[..., Any]  # given the Context; given the Case alone if ahead (and the actor, if of_actor)
    description: str = ""
    # A guard that reads the case alone, not what its step sends (a trip not yet begun): it is
    # checked before the step is offered, so that a step bound to be refused is not offered, and
    # the reason is shown instead; and again when the step is fired.
    ahead: bool = False
    # An ahead guard that reads who would take the step too (a recommender who has not scored
    # yet): checked as check(case, actor).
    of_actor: bool = False

    def check_ahead(self, case: "Case", actor: "User") -> Any:
        return self.check(case, actor) if self.of_actor else self.check(case)


@dataclass(frozen=True)
class Transition:
    trigger: str
    source: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]  # role names, or (OWNER,) for the owner's own triggers
    label: str = ""
    # Extra permission test beyond the role, e.g. "the head of the traveller's own department".
    may: Callable[["Case", "User"], bool] | None = None
    # Routing condition when one trigger leads to several destinations from the same state.
    when: Callable[["Context"], bool] | None = None
    guards: tuple[Guard, ...] = ()
    comment_required: bool = False
    payload: type[Schema] | None = None
    # Runs after the state moved, inside the same transaction (may update data, assignee...).
    effect: Callable[["Context"], None] | None = None
    # Whether the loaded payload is merged into the case data.
    merge_payload: bool = True

    @property
    def by_owner(self) -> bool:
        return OWNER in self.roles

    @property
    def title(self) -> str:
        """Return the step as people read it: its label ("Start triage"), or its trigger in words."""
        return self.label or self.trigger.replace("_", " ").capitalize()

    def not_yet(self, case: "Case", actor: "User", memo: dict | None = None) -> str | None:
        """Return why this step cannot be taken now by this person, whatever is sent with it (the
        message of the first of its ahead guards to refuse), or None.

        Given a memo (one per case and person, for one look at its steps), a guard that several of
        its steps share (travel's two approvals, each checking eligibility) is checked once."""
        for guard in self.guards:
            if not guard.ahead:
                continue
            if memo is not None and guard.name in memo:
                result = memo[guard.name]
            else:
                result = guard.check_ahead(case, actor)
                if memo is not None:
                    memo[guard.name] = result
            if result is not None:
                return result if isinstance(result, str) else result[0]
        return None


@dataclass
class Workflow:
    name: str
    title: str
    states: tuple[str, ...]
    transitions: tuple[Transition, ...]
    data_schema: type[Schema]
    initial: str = "draft"
    # Roles that see every case of this workflow; owners always see their own.
    readers: tuple[str, ...] = ()
    # Roles that may open a case of this workflow (empty: anyone signed in).
    creators: tuple[str, ...] = ()
    # Whether a department head sees the cases of their own department (product.md: "a dept_head
    # sees their department's", in every workflow).
    department_heads_read: bool = True
    editable_states: tuple[str, ...] = ("draft",)
    # Copies figures from data into indexed columns (amounts, country, due date).
    project: Callable[["Case"], None] | None = None
    # Values a workflow derives for its criteria beside the case data.
    derive: Callable[["Case"], dict] | None = None
    # Conditions the API lists in a case's "flags".
    flags: Callable[["Case"], list[str]] | None = None
    state_labels: dict[str, str] = field(default_factory=dict)
    # Scoring against criteria/<name>.yaml: who scores, in which states, and what is derived.
    scored: bool = False
    scorers: tuple[str, ...] = ()
    scoring_states: tuple[str, ...] = ()
    # The states in which the request's decision is taken, or it ended (approved, declined,
    # withdrawn...): its scores guide no one any more, so what would call for a decider's or a
    # reviewer's eye (reviewers who disagree, a score to make again) is no longer raised.
    decided_states: tuple[str, ...] = ()
    # Which of the scorers review this case (reviews(case, user)), when not all of them do: a
    # committee member scores a councillor's trip, not a staff trip. None: every scorer.
    reviews: Callable[[Any, Any], bool] | None = None
    # Which of the scorers may come to review this case, now or after it is returned or changed
    # (may_review(case, user)), when reviews answers for now alone: they read no other review of it
    # while it may still be scored. None: as reviews.
    may_review: Callable[[Any, Any], bool] | None = None
    derived_fields: tuple[str, ...] = ()
    # The data fields as the request's form names them ("role at the event"), for pages that name
    # a field apart from its form: a refused submit's list, the criteria a score computes from.
    field_names: dict[str, str] = field(default_factory=dict)
    # Whether a case in one of the states that wait for its owner is theirs to move on now (a trip
    # approved months ahead is not yet to be marked taken); None: always.
    owner_turn: Callable[["Case"], bool] | None = None
    # The role whose officer takes a case up (start_triage, start_review make them its assignee),
    # and the states in which the case then waits for its assignee alone (access.left_to_assignee):
    # those of the officer's own review, before any decision; every step from them is by that role.
    claimed_by: tuple[str, ...] = ()
    claimed_states: tuple[str, ...] = ()
    # Conditions, in SQL, that a case in a state may wait for a person of these roles
    # (may_wait(state, shape) -> conditions; none: no narrowing): a superset of the finer rules
    # (access.waits_for), so that a person's waiting list is not filled with cases that wait for
    # others of their role (a CAO reads every trip, most of which wait for a department head).
    may_wait: Callable[[str, Any], list] | None = None
    machine: Machine = field(init=False, repr=False)
    # The states in which a case waits for its owner: only the owner can move it on (a draft, a
    # request for information or revision, a trip to mark taken or report on).
    waits_on_owner: tuple[str, ...] = field(init=False)
    # The states from which a case can still come to be scored: a scoring state, or one that leads
    # back to one (information asked for, a request returned). Reviewers are blind in all of them.
    before_scoring: frozenset[str] = field(init=False)

    def owners_turn(self, case) -> bool:
        """Return whether the case waits for its owner now: in a state only they move on, and
        their turn (owner_turn: an approved trip waits for its traveller from its first day)."""
        return case.state in self.waits_on_owner and (self.owner_turn is None or self.owner_turn(case))

    def field_label(self, path: str) -> str:
        """Return a data field, or a part of one ("estimated_cost.total"), as people read it:
        "role at the event", "estimated cost (total)"; a field the form does not name, in words."""
        if path in self.field_names:
            return self.field_names[path]
        head, _, rest = path.partition(".")
        words = self.field_names.get(head, head.replace("_", " "))
        return f"{words} ({rest.replace('.', ', ').replace('_', ' ')})" if rest else words

    def __post_init__(self) -> None:
        self.machine = Machine(
            model=None,
            states=list(self.states),
            initial=None,
            auto_transitions=False,
            send_event=True,
            model_attribute="state",
        )
        for t in self.transitions:
            unknown = {t.dest, *t.source} - set(self.states)
            if unknown:
                raise ValueError(f"workflow {self.name}: {t.trigger} names unknown states {unknown}")
            self.machine.add_transition(
                t.trigger,
                list(t.source),
                t.dest,
                conditions=[_route(t.when)] if t.when else [],
                after=[_after(t.effect)] if t.effect else [],
            )

        self.waits_on_owner = tuple(
            state for state in self.states
            if (moves := [t for t in self.transitions if state in t.source]) and all(t.by_owner for t in moves))
        reach = set(self.scoring_states)
        while grown := {s for t in self.transitions if t.dest in reach for s in t.source} - reach:
            reach |= grown
        self.before_scoring = frozenset(reach)
        for state in self.claimed_states:
            if any(not t.by_owner and not set(t.roles) <= set(self.claimed_by)
                   for t in self.transitions if state in t.source):
                raise ValueError(f"workflow {self.name}: a step from {state} is not by {self.claimed_by}")

    def candidates(self, trigger: str, state: str) -> list[Transition]:
        """Return the transitions a trigger may take from a state, in routing order."""
        return [t for t in self.transitions if t.trigger == trigger and state in t.source]

    def triggers(self) -> list[str]:
        """Return every trigger name of the workflow, in declaration order."""
        return list(dict.fromkeys(t.trigger for t in self.transitions))

    def may_create(self, user: "User") -> bool:
        """Return whether the user may open a case of this workflow."""
        return not self.creators or user.has_role(*self.creators)

    def label(self, state: str) -> str:
        """Return a person's name for a state."""
        return self.state_labels.get(state, state.replace("_", " ").capitalize())

    def label_in_sentence(self, state: str) -> str:
        """Return a person's name for a state as a sentence reads it ("while the request is CAO review")."""
        return in_sentence(self.label(state))


def _route(when: Callable[["Context"], bool]) -> Callable:
    return lambda event: when(event.kwargs["ctx"])


def _after(effect: Callable[["Context"], None]) -> Callable:
    return lambda event: effect(event.kwargs["ctx"])
