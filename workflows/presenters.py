"""The shape in which a case, and the events of a trail, are shown to a person or a script."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Callable, NamedTuple

from sqlalchemy import bindparam, select

from clock import city_date
from models import Case, User
from workflows import registry
from workflows.access import allowed_triggers, waits_for
from workflows.audit import settled


def _iso(dt) -> str:
    return dt.isoformat(timespec="seconds") + "Z"


def change_lines(payload: dict[str, Any], labels: dict[str, str],
                 shown: Callable[[str, Any], str] = lambda _name, value: str(value)) -> list[tuple[str, str]]:
    """Return what an audit event of a reference chain (an inventory entry's, an account's) set, as
    its page lists it: each field it names in `labels`, with its value or "from → to" (an empty
    one as "—"), in the payload's order; `shown(name, value)` says a value."""
    def said(name: str, value: Any) -> str:
        return "—" if value in (None, "", []) else shown(name, value)

    return [(labels[name], f"{said(name, value.get('from'))} → {said(name, value.get('to'))}"
             if isinstance(value, dict) else said(name, value))
            for name, value in payload.items() if name in labels]


def case_flags(case: Case, disagree: bool = False) -> list[str]:
    """Return the conditions the case carries now (report_overdue, triage_late, ...), with
    reviewers_disagree when its reviewers, as the reader may see them, disagree, while its
    decision is to come (a warning to whoever decides: on a decided request no one can act on it)."""
    wf = registry.get(case.workflow)
    flags = list(wf.flags(case)) if wf and wf.flags else []
    decided = wf is not None and case.state in wf.decided_states
    return flags + ["reviewers_disagree"] if disagree and not decided else flags


#: Triggers that send a request back or end it: shown after the others, on the case page and where a
#: list names the steps a request waits for (sorted is stable).
SENDS_BACK_OR_ENDS = frozenset({"cancel", "withdraw", "decline", "return", "return_report", "request_info",
                                "request_revision", "defer"})


def steps_waiting(user: User, case: Case) -> list[str]:
    """Return the steps the case waits for this person to take, as people read them, those that
    move it on first: an owner's own steps but cancelling or withdrawing (which are always open
    to them, and not what anyone waits for); someone else's steps that wait for them (not left
    to the assignee, nor waiting for a moment to come); and first "Score", when a step of theirs
    waits for a score (a recommendation) and they may give one and have not (under the criteria in
    force: one made under an earlier set no longer counts, and is asked for again)."""
    from workflows.scoring import has_complete_score, has_reviewed, may_score, scored_by_recommender

    wf = registry.get(case.workflow)
    memo: dict = {}
    if case.owner_id == user.id:
        theirs = [t for t in wf.transitions if case.state in t.source and t.by_owner
                  and t.trigger not in ("cancel", "withdraw")]
    else:
        theirs = [t for t in wf.transitions
                  if case.state in t.source and not t.by_owner and waits_for(user, case, t, memo)]
    found = [t for t in theirs if t.not_yet(case, user, memo) is None]
    titles = list(dict.fromkeys(t.title for t in sorted(found, key=lambda t: t.trigger in SENDS_BACK_OR_ENDS)))
    waits_for_a_score = any(memo.get(guard.name) is not None for guard in (has_complete_score, scored_by_recommender))
    if waits_for_a_score and may_score(user, case) and not has_reviewed(user, case):
        titles.insert(0, "Score")
    return titles


def either(titles: list[str]) -> str:
    """Say a choice of steps as a sentence does: "Approve, decline or defer" (a title's first
    letter lowered after the first, as "Done:" does, so that "Council" keeps its capital)."""
    words = [titles[0]] + [t[:1].lower() + t[1:] for t in titles[1:]] if titles else []
    return " or ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


class CaseRow(NamedTuple):
    """A case as a row of a table of cases shows it."""

    id: int
    title: str
    workflow: str
    state: str
    state_label: str
    owner: str
    updated_at: str  # ISO 8601, UTC
    updated_on: str  # the day, in the City's time zone
    flags: list[str]
    made_at: str  # ISO 8601, UTC
    made_on: str  # the day, in the City's time zone
    steps: str = ""  # the steps it waits for the reader to take ("Approve, decline or defer"), where asked


def case_tables(user: User, *tables: list[Case], waiting: Iterable[Case] = ()) -> list[list[CaseRow]]:
    """Return the rows of each table of cases as the user may see them (one query for all),
    worked out here rather than by the template; the rows of the cases `waiting` (for the user)
    name the steps they wait for.

    A dashboard shows up to a hundred rows; each call from a template costs several times the
    same call from Python.
    """
    from workflows.scoring import disagreeing

    disagree = disagreeing([case for table in tables for case in table], user)
    steps = {case.id: either(steps_waiting(user, case)) for case in waiting}
    return [_rows(table, disagree, steps) for table in tables]


def _rows(cases: list[Case], disagree: set[int], steps: dict[int, str]) -> list[CaseRow]:
    rows = []
    for case in cases:
        wf = registry.get(case.workflow)
        updated, made = case.updated_at, case.created_at
        rows.append(CaseRow(case.id, case.title, wf.title if wf else case.workflow, case.state,
                            wf.label(case.state) if wf else case.state, case.owner.full_name,
                            updated.isoformat() + "Z", city_date(updated).isoformat(),
                            [f.replace("_", " ") for f in case_flags(case, case.id in disagree)],
                            made.isoformat() + "Z", city_date(made).isoformat(), steps.get(case.id, "")))
    return rows


def case_score(case: Case, user: User) -> dict | None:
    """Return the case's aggregate score as the user may see it, or None when no one has scored it."""
    from workflows.scoring import aggregate_for

    return aggregate_for(case, user=user)


def case_dict(case: Case, user: User, *, score: dict | None | bool = False) -> dict[str, Any]:
    """Return a case as the API shows it to this user."""
    score = case_score(case, user) if score is False else score
    return {
        "id": case.id,
        "workflow": case.workflow,
        "title": case.title,
        "state": case.state,
        "goals": list(case.goals or []),
        "data": case.data,
        "owner": {"id": case.owner.id, "username": case.owner.username},
        "department": case.department.name,
        "assignee": {"id": case.assignee.id, "username": case.assignee.username} if case.assignee else None,
        "version": case.version,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "allowed_transitions": allowed_triggers(user, case),
        "score": score,
        "flags": case_flags(case, bool(score and score["disagreement"])),
    }


def edit_changes(events: list, wf) -> dict[int, list[str]]:
    """Return, for each edit among a case's events (in order), what it changed, as a person reads
    it: "Title", "Goals", then each field of the data ("Start date"); empty when nothing changed.

    Worked out by replaying the trail (the creation, the edits and the steps that merge their data),
    not read from the edit alone: an edit recorded before edits kept only their changes holds
    every field its form sent.
    """
    title, goals, data, changes = None, set(), {}, {}
    for e in events:
        payload = e.payload if isinstance(e.payload, dict) else {}
        if e.action == "create":
            title, goals, data = payload.get("title"), set(payload.get("goals") or ()), dict(payload.get("data") or {})
        elif e.action == "edit":
            names = []
            if "title" in payload and payload["title"] != title:
                names.append("Title")
            if "goals" in payload and set(payload["goals"] or ()) != goals:
                names.append("Goals")
            edited = payload.get("data") if isinstance(payload.get("data"), dict) else {}
            names += [key.replace("_", " ").capitalize() for key, value in edited.items()
                      if settled(value) != settled(data.get(key))]
            title, goals = payload.get("title", title), set(payload.get("goals") or goals)
            data.update(edited)
            changes[e.id] = names
        elif wf is not None and payload and any(t.merge_payload and t.payload is not None
                                                 for t in wf.candidates(e.action, e.from_state or "")):
            data.update(payload)
    return changes


def sent_back(case: Case, events: list, wf) -> Any:
    """Return the step by which someone else sent the request back to its owner with a comment
    (returned, information or a revision asked for, a report returned), while it still waits for
    the owner; else None. Its pages show why the request came back, not only its timeline."""
    last = next((e for e in reversed(events) if e.from_state != e.to_state), None)
    if (last is None or last.to_state != case.state or case.state not in wf.waits_on_owner
            or last.actor_id == case.owner_id or not last.comment):
        return None
    # A step that sends back asks for its reason (return, request_info...); an approval's comment
    # does not make an approved trip, which waits for its traveller too, one sent back.
    steps = wf.candidates(last.action, last.from_state or "")
    return last if steps and steps[0].comment_required else None


_NAMES = select(User.id, User.full_name).where(User.id.in_(bindparam("ids", expanding=True)))


def actor_names(session, events: list) -> dict[int, str]:
    """Return the full names of the people who made these events, by user id (one query): a
    timeline names people as every other page does, not by username ("system" has no id)."""
    ids = sorted({e.actor_id for e in events if e.actor_id})
    return dict(session.execute(_NAMES, {"ids": ids}).all()) if ids else {}


#: What the timeline calls the events that are not a workflow's steps.
EVENT_LABELS = {"create": "Created", "edit": "Edited", "comment": "Commented", "score": "Scored"}


def action_label(wf, action: str, from_state: str | None) -> str:
    """Return an event's action as the page names it: the step's own label ("Start triage",
    "Approve and refer to Council"), or what the event did ("Created", "Commented")."""
    if action in EVENT_LABELS:
        return EVENT_LABELS[action]
    steps = wf.candidates(action, from_state or "") if wf is not None else []
    return steps[0].title if steps else action.replace("_", " ").capitalize()


def event_dict(e) -> dict[str, Any]:
    """Return an audit event as the history API shows it."""
    return {
        "seq": e.seq, "at": _iso(e.at), "actor": e.actor_username, "action": e.action,
        "from_state": e.from_state, "to_state": e.to_state, "comment": e.comment,
        "payload": e.payload, "prev_hash": e.prev_hash, "hash": e.hash,
    }


def history(events: list, hidden: set[int]) -> list[dict[str, Any]]:
    """Return a case's events as the history API shows them, the hidden ones (reviews a reviewer
    may not read yet) without their comment and payload, and no hash from the first of them on.

    Every later hash covers the hidden review's through the chain, and a review's hash covers
    fields the reader knows or can narrow down: a search of every possible rating would find the
    one that gives a hash shown. (Reviews since carry a random salt in their payload as well.)
    """
    shown, chained_to_hidden = [], False
    for e in events:
        d = event_dict(e)
        if e.id in hidden:
            d.update(comment=None, payload=None, hash=None)
            chained_to_hidden = True
        if chained_to_hidden:
            d.update(prev_hash=None, hash=None)
        shown.append(d)
    return shown
