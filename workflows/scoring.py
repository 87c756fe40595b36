"""Scoring cases against the criteria sets: the stored scores, the aggregate, and the guards."""
from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import current_app
from marshmallow import Schema, fields as mfields, validate
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

import clock
from criteria import (CriteriaError, CriteriaSet, FieldKind, aggregate, disagreement, load_criteria_set, score_one,
                      validate_ratings)
from models import Case, Score, User
from workflows import registry
from workflows.access import roles_in_words
from workflows.audit import jsonable
from workflows.definition import Guard, Workflow
from workflows.engine import lock_case, record_change, request_deciding, signals
from workflows.errors import Forbidden, InvalidTransition, ValidationFailed
from workflows.inputs import comment_text
from workflows.transaction import write_transaction

CONFLICTS = ("none", "recused")


def known_fields(wf: Workflow) -> dict[str, FieldKind]:
    """Return the data fields a workflow's criteria may name, with what they hold (so that the
    loader refuses a map key, a value or a rule the field can never match): its schema's fields,
    nested ones as dotted paths, and the values the workflow derives (counts)."""
    names: dict[str, FieldKind] = {name: FieldKind("number") for name in wf.derived_fields}

    def walk(schema: Schema, prefix: str) -> None:
        for name, field in schema.fields.items():
            names[prefix + name] = _kind(field)
            if isinstance(field, mfields.Nested) and isinstance(field.schema, Schema):
                walk(field.schema, f"{prefix}{name}.")

    walk(wf.data_schema(), "")
    return names


def _choices(field: mfields.Field) -> frozenset | None:
    for rule in getattr(field, "validators", ()):
        if isinstance(rule, validate.OneOf):
            return frozenset(rule.choices)
    return None


def _kind(field: mfields.Field) -> FieldKind:
    """Return what a schema field holds, as the criteria loader checks rules against it."""
    if isinstance(field, mfields.List):
        return FieldKind("list", _choices(field.inner))
    if isinstance(field, (mfields.Date, mfields.DateTime)):
        return FieldKind("date")
    if isinstance(field, mfields.Boolean):
        return FieldKind("bool")
    if isinstance(field, mfields.Number):  # (Decimal and Money among them)
        return FieldKind("number", _choices(field))
    if isinstance(field, mfields.String):
        return FieldKind("text", _choices(field))
    return FieldKind()


def load_criteria(app) -> dict[str, CriteriaSet]:
    """Load and validate every criteria file at start-up (a malformed one stops the app)."""
    folder = Path(app.config["ACCORD_CRITERIA_DIR"])
    sets, faults = {}, []
    for wf in registry.all_workflows():
        if not wf.scored:
            continue
        try:
            sets[wf.name] = load_criteria_set(folder / f"{wf.name}.yaml", known_fields(wf), wf.name)
        except CriteriaError as err:  # every file's faults, not the first file's alone
            faults.extend(err.errors)
    if faults:
        raise CriteriaError(faults)
    app.extensions["accord_criteria"] = sets
    return sets


def versions_in_use(session: Session, sets: dict[str, CriteriaSet], folder: str) -> list[str]:
    """Return a fault for each criteria set whose version scores already carry with another hash:
    a file changed without a new version. Its scores would read "version 1" beside others of
    "version 1" made under different criteria, and the page would say an earlier version is the
    one in force. (`flask criteria check` asks this, before a restart puts the sets in force.)"""
    used = session.execute(select(Case.workflow, Score.criteria_version, Score.criteria_hash)
                           .join(Case, Case.id == Score.case_id).distinct()).all()
    return sorted({f"{folder}/{workflow}.yaml: version: {version} is already used by scores made under other "
                   f"criteria; give the changed set a new version" for workflow, version, digest in used
                   if (cset := sets.get(workflow)) is not None and cset.version == version and cset.digest != digest})


def criteria_for(workflow: str) -> CriteriaSet | None:
    """Return the criteria set in force for a workflow."""
    return current_app.extensions.get("accord_criteria", {}).get(workflow)


def as_of(case: Case):
    """Return the day the criteria's date rules read for a case: the City's date of its submission,
    once submitted, so that the office's own time never makes a request ineligible (a disaster
    364 days before the request, triaged two days later, was "more than 12 months ago"); before
    it, today."""
    return clock.city_date(case.submitted_at) if case.submitted_at is not None else clock.today()


def _inputs(case: Case) -> tuple[dict, dict]:
    """Return the request's data and the figures the workflow derives for its criteria: those kept
    at its decision, once decided (a decided trip stays as eligible as its approver found it)."""
    wf = registry.get(case.workflow)
    if wf.derive is None:
        return case.data, {}
    if case.derived_at_decision is not None and case.state in wf.decided_states:
        return case.data, case.derived_at_decision
    return case.data, wf.derive(case)


def _counted(cset: CriteriaSet, scores: Sequence[Any]) -> list[dict]:
    """Return the ratings the aggregate combines: those of the reviewers who did not recuse, made
    under the criteria set in force. A score made under another version keeps its own figure, but
    its ratings are not read under this one: its scale or its criteria may differ (ratings of 5 on
    a scale of 0 to 5, read on one of 0 to 3, made 153%)."""
    return [s.ratings for s in scores if s.conflict != "recused" and s.criteria_hash == cset.digest]


def kept_score(case: Case) -> dict | None:
    """Return the score a decided request keeps from its decision (decision_score's record), or
    None: not decided, or decided before Accord kept one (migration 0020)."""
    wf = registry.get(case.workflow)
    return case.score_at_decision if case.score_at_decision is not None and case.state in wf.decided_states else None


def decision_score(workflow: str, *, case: Case) -> dict | None:
    """Return what a request being decided keeps as its score: the aggregate under the criteria in
    force, every reviewer's current score counted, with the set's version, digest and scale; so
    that criteria adopted later do not re-judge it (a request approved at 77% read "ineligible"
    under a knock-out rule added after). None for a workflow that is not scored."""
    cset = criteria_for(workflow)
    if cset is None:
        return None
    return jsonable({"criteria_version": cset.version, "criteria_hash": cset.digest,
                     "scale": [cset.scale_min, cset.scale_max], "knock_outs": eligibility_for(case),
                     "aggregate": _aggregate(cset, case, scores_of(case))})


request_deciding.connect(decision_score)


def _aggregate(cset: CriteriaSet, case: Case, scores: Sequence[Any]) -> dict:
    # scores: Score objects, or rows of _RATINGS (the same attribute names).
    if (kept := kept_score(case)) is not None:
        return kept["aggregate"]
    data, derived = _inputs(case)
    reviews = _counted(cset, scores)
    agg = aggregate(cset, reviews, data, derived, as_of(case))
    return {
        "percent": agg.percent, "recommendation": agg.recommendation, "eligible": agg.eligible,
        "reasons": agg.reasons, "complete": agg.complete, "disagreement": agg.disagreement,
        "breakdown": jsonable(agg.breakdown), "reviewers": len(reviews),
        "criteria_version": cset.version,
        "outdated": sorted({s.criteria_version for s in scores if s.criteria_hash != cset.digest}),
    }


# The current scores (one per reviewer) of the cases whose ids are bound as "ids".
_CURRENT_OF = (Score.case_id.in_(bindparam("ids", expanding=True)), Score.current.is_(True))
_CURRENT = select(Score).where(*_CURRENT_OF).order_by(Score.id)
# What the aggregate reads of each current score, as plain rows. The case JSON, the list and every
# transition's answer ask for the aggregate. Score objects with their reviewer joined in cost
# 0.27 ms there, rows 0.20 (a case without scores, in-process on PostgreSQL).
_RATINGS = (select(Score.case_id, Score.reviewer_id, Score.ratings, Score.conflict, Score.criteria_version,
                   Score.criteria_hash).where(*_CURRENT_OF).order_by(Score.id))


def _by_case(scores) -> dict[int, list]:
    """Return scores (objects or rows) grouped by their case's id, in the order given."""
    by_case: dict[int, list] = defaultdict(list)
    for s in scores:
        by_case[s.case_id].append(s)
    return by_case


def current_scores(session: Session, case_ids: list[int]) -> dict[int, list[Score]]:
    """Return each case's current scores (one per reviewer), in one query."""
    return _by_case(session.scalars(_CURRENT, {"ids": case_ids}) if case_ids else [])


def aggregate_for(case: Case, scores: list[Score] | None = None, user: User | None = None) -> dict | None:
    """Return the case's aggregate score for the API, or None when no one has scored it.

    Give the case's current scores when they are already read, to save reading them again, and
    the user it is shown to, if any: a reviewer who has not scored yet is shown none.
    """
    if scores is None:
        return aggregates_for([case], user).get(case.id)
    cset = criteria_for(case.workflow)
    return _aggregate(cset, case, scores) if cset is not None and scores else None


def unscored_aggregate(cset: CriteriaSet, case: Case) -> dict:
    """Return the aggregate of a case no one has scored (or whose scores the reader may not see yet):
    its eligibility, from the request alone, and no percent or recommendation."""
    found = _aggregate(cset, case, [])
    return {"percent": None, "recommendation": None, "eligible": found["eligible"], "reasons": found["reasons"],
            "complete": False, "criteria_version": found["criteria_version"]}  # (a kept score's, if decided)


def _ratings_of(cases: list[Case], user: User | None) -> tuple[list[Case], dict[int, list]]:
    """Return the scored cases among these, and the current scores of each as rows, in one query
    (those the user may read, if a user is given)."""
    scored = [c for c in cases if criteria_for(c.workflow) is not None]
    by_case = read_scores(scored)
    if user is not None:
        by_case = {c.id: visible_scores(user, c, rows) for c in scored if (rows := by_case.get(c.id))}
    return scored, by_case


def aggregates_for(cases: list[Case], user: User | None = None) -> dict[int, dict | None]:
    """Return the aggregate score of each case, by case id, in one query (as the user may see it)."""
    scored, by_case = _ratings_of(cases, user)
    return {c.id: _aggregate(criteria_for(c.workflow), c, by_case[c.id]) if by_case.get(c.id) else None
            for c in scored}


def disagreeing(cases: list[Case], user: User) -> set[int]:
    """Return the ids of the cases whose reviewers, as the user may see them, disagree on a criterion.

    What the lists flag: only the ratings are compared, not the whole aggregate worked out.
    """
    scored, by_case = _ratings_of(cases, user)
    return {c.id for c in scored if by_case.get(c.id) and (
        kept["aggregate"]["disagreement"] if (kept := kept_score(c)) is not None
        else disagreement(criteria_for(c.workflow), _counted(criteria_for(c.workflow), by_case[c.id])))}


def eligibility_for(case: Case) -> list[str]:
    """Return the knock-out messages the case fails now (empty when eligible)."""
    cset = criteria_for(case.workflow)
    if cset is None:
        return []
    if (kept := kept_score(case)) is not None:
        return kept["knock_outs"]
    from criteria import check_eligibility

    data, derived = _inputs(case)
    return check_eligibility(cset, data, derived, as_of(case))


def _reviewed_by(user: User, case: Case, later: bool = False) -> Workflow | None:
    """Return the case's workflow if the user is among its reviewers (the role, not their own
    request), whatever the state, or, given `later`, may come to be one (Workflow.may_review);
    else None."""
    wf = registry.get(case.workflow)
    if wf is None or not wf.scored or case.owner_id == user.id or not user.has_role(*wf.scorers):
        return None
    rule = wf.may_review if later and wf.may_review is not None else wf.reviews
    return wf if rule is None or rule(case, user) else None


def may_score(user: User, case: Case) -> bool:
    """Return whether the user may score this case now (role, state, not their own)."""
    return (wf := _reviewed_by(user, case)) is not None and case.state in wf.scoring_states


#: Sent inside the transaction once a reviewer declared a conflict of interest, which may hand
#: the case to others (the CAO decides a trip its head stepped aside from; every officer, a
#: request its officer did): sender is the workflow name, with session, case and actor.
conflict_recorded = signals.signal("conflict-recorded")
#: Sent after that declaration committed: sender is the workflow name, with case and actor.
conflict_committed = signals.signal("conflict-committed")


def submit_score(session: Session, actor: User, case_id: int, ratings: Any, conflict: str = "none",
                 comment: str | None = None) -> Score:
    """Record a reviewer's score (replacing their earlier one) and audit it."""
    with write_transaction(session):
        actor = session.merge(actor)
        case = lock_case(session, actor, case_id)
        wf = registry.get(case.workflow)
        cset = criteria_for(case.workflow)
        if cset is None or not wf.scored:
            raise InvalidTransition("This workflow is not scored.")
        if case.owner_id == actor.id:
            raise Forbidden("You cannot score your own request.")
        if not actor.has_role(*wf.scorers):
            raise Forbidden(f"Scoring needs the role {roles_in_words(wf.scorers)}.")
        if wf.reviews is not None and not wf.reviews(case, actor):
            raise Forbidden(getattr(wf.reviews, "refusal", "You do not review this request."))
        if case.state not in wf.scoring_states:
            raise InvalidTransition(f"The case cannot be scored while it is {wf.label_in_sentence(case.state)}.")
        if conflict not in CONFLICTS:
            raise ValidationFailed("Declare a conflict of interest.", {"conflict": ["Must be none or recused."]})
        comment = comment_text(comment)
        ratings = ratings or {}
        if conflict == "none" and (errors := validate_ratings(cset, ratings)):
            raise ValidationFailed("Some ratings are not valid.", {"ratings": errors})
        if conflict == "recused":
            ratings = {}
        data, derived = _inputs(case)
        # (A set of computed criteria alone takes no ratings, and its score still has a figure.)
        result = score_one(cset, ratings, data, derived, as_of(case)) if conflict == "none" else {
            "ratings": {}, "computed": {}, "percent": None, "recommendation": None}
        earlier = session.scalars(select(Score).where(Score.case_id == case.id, Score.reviewer_id == actor.id,
                                                      Score.current.is_(True))).all()
        if [(s.conflict, s.ratings, s.computed, s.percent, s.comment, s.criteria_hash) for s in earlier] == [
                (conflict, jsonable(result["ratings"]), jsonable(result["computed"]), result["percent"], comment,
                 cset.digest)]:
            return earlier[0]  # the same score sent again (a double click): nothing happened, nothing is recorded
        if conflict == "none" and any(old.conflict == "recused" for old in earlier):
            # Declaring a conflict showed them the others' reviews; it is not taken back to rate.
            raise Forbidden("You declared a conflict of interest on this request, so you may not rate it.")
        if score_stands(cset, actor.id, scores_of(case)):
            raise Forbidden(SCORE_STANDS)
        for old in earlier:
            old.current = False
        score = Score(case_id=case.id, reviewer_id=actor.id, conflict=conflict, ratings=jsonable(result["ratings"]),
                      computed=jsonable(result["computed"]), percent=result["percent"],
                      recommendation=result["recommendation"], comment=comment,
                      criteria_version=cset.version, criteria_hash=cset.digest)
        session.add(score)
        session.flush()
        record_change(session, actor, case, "score", comment=score.comment, payload={
            "score_id": score.id, "conflict": conflict, "ratings": score.ratings, "percent": score.percent,
            "recommendation": score.recommendation, "criteria_version": cset.version, "criteria_hash": cset.digest,
            # Makes the event's hash unsearchable by one who knows all but the ratings.
            "salt": secrets.token_hex(16)})
        if conflict == "recused":
            conflict_recorded.send(wf.name, session=session, case=case, actor=actor)
    if conflict == "recused":
        conflict_committed.send(wf.name, case=case, actor=actor)
    return score


SCORE_STANDS = ("Another reviewer's ratings have been open to you since you scored, so your score stands; explain "
                "a correction in a comment on the request.")


def score_stands(cset: CriteriaSet, reviewer_id: int, scores: Sequence[Any]) -> bool:
    """Return whether the reviewer's current score may no longer be replaced: they rated under the
    set in force, and another reviewer's ratings are current, which their score opened to them.

    Changed after reading the others, a score is no longer blind (one could rate anything, read,
    and rate again to agree). A score made under an earlier set is still replaced: the new set
    asks for it. (scores: the case's current scores, objects or rows.)
    """
    return any(s.reviewer_id == reviewer_id and s.conflict == "none" and s.criteria_hash == cset.digest
               for s in scores) and any(s.reviewer_id != reviewer_id and s.conflict == "none" for s in scores)


def score_dict(score: Score) -> dict:
    """Return a stored score as the API shows it."""
    return {"id": score.id, "reviewer": score.reviewer.username, "conflict": score.conflict,
            "ratings": score.ratings, "computed": score.computed, "percent": score.percent,
            "recommendation": score.recommendation, "criteria_version": score.criteria_version,
            "comment": score.comment, "created_at": score.created_at.isoformat(timespec="seconds") + "Z"}


def blind_to_reviews(user: User, case: Case, reviewer_ids: set[int | None]) -> bool:
    """Return whether the user may not see others' reviews of the case yet: a reviewer sees them
    only after submitting their own (reviewer_ids: who has scored it).

    Not only while the case may be scored now: also while it may come to be scored again (asked
    for information, returned), or a reviewer would read the others' and then score. Once it has
    gone past scoring for good, whoever may read reviews reads them. And not only for who reviews
    it now: also for who may come to (a trip's head, while the CAO reviews it, scores it again
    once it is returned), or they would read the reviews now and score later.

    And the request's owner reads its reviews once it is decided, as applicants read their
    reviewers' comments with the decision: not while the reviewers still weigh it, and not
    before an officer who has not scored yet could (their comments are written for colleagues).
    """
    if case.owner_id == user.id:
        wf = registry.get(case.workflow)
        return wf is not None and wf.scored and case.state not in wf.decided_states
    return (user.id not in reviewer_ids and (wf := _reviewed_by(user, case, later=True)) is not None
            and case.state in wf.before_scoring)


def _reviewed(conflict: str | None, criteria_hash: str | None, cset: CriteriaSet | None) -> bool:
    """Return whether a score opens the others' reviews to its reviewer: made under the set in
    force, or a declared conflict. One made under an earlier set is asked for again, and would
    otherwise let its reviewer read the new scores before making theirs (and then agree)."""
    return conflict == "recused" or cset is None or criteria_hash == cset.digest


def has_reviewed(user: User, case: Case) -> bool:
    """Return whether the user's score of the case counts as theirs: made under the set in force,
    or a declared conflict (a score made under an earlier set is asked for again)."""
    cset = criteria_for(case.workflow)
    return any(s.reviewer_id == user.id and _reviewed(s.conflict, s.criteria_hash, cset) for s in scores_of(case))


def visible_scores(user: User, case: Case, scores: list) -> list:
    """Return the scores (objects or rows) a user may read: a reviewer sees others' only after scoring."""
    cset = criteria_for(case.workflow)
    reviewed = {s.reviewer_id for s in scores if _reviewed(s.conflict, s.criteria_hash, cset)}
    return [s for s in scores if s.reviewer_id == user.id] if blind_to_reviews(user, case, reviewed) else scores


def hidden_reviews(user: User, case: Case, events: list) -> set[int]:
    """Return the ids of the case's score events whose ratings and comment the user may not read yet."""
    reviews = [e for e in events if e.action == "score"]
    cset = criteria_for(case.workflow)
    if not blind_to_reviews(user, case, {e.actor_id for e in reviews if _reviewed(
            e.payload.get("conflict"), e.payload.get("criteria_hash"), cset)}):
        return set()
    return {e.id for e in reviews if e.actor_id != user.id}  # (their own earlier review is theirs to read)


_SCORES_KEY = "_accord_scores"


def scores_of(case: Case) -> list:
    """Return the case's current scores as rows (of _RATINGS), every reviewer's: what its steps'
    rules read (who recused, whether a complete score is in).

    Read once per version of the case, or not at all when a list or page read them already
    (remember_scores): a score is recorded as a change, which moves the version on, so an
    earlier answer is never stale.
    """
    known = case.__dict__.get(_SCORES_KEY)
    if known is not None and known[0] == case.version:  # (the usual case: asked once per step of a list)
        return known[1]
    return read_scores([case]).get(case.id, [])


def read_scores(cases: list[Case]) -> dict[int, list]:
    """Return the current scores (rows) of these cases by case id, every reviewer's, reading in one
    query those not kept with their case at its version already; keep them there."""
    from extensions import db

    unread = [c for c in cases if (known := c.__dict__.get(_SCORES_KEY)) is None or known[0] != c.version]
    if unread:
        remember_scores(unread, _by_case(db.session.execute(_RATINGS, {"ids": [c.id for c in unread]})))
    return {c.id: rows for c in cases if (rows := c.__dict__[_SCORES_KEY][1])}


def remember_scores(cases: list[Case], by_case: dict[int, list]) -> None:
    """Keep, with each case, its current scores (objects or rows) read already: the steps a list
    offers then cost no query per case."""
    for case in cases:
        case.__dict__[_SCORES_KEY] = (case.version, list(by_case.get(case.id, ())))


def recused_reviewers(case: Case) -> frozenset[int]:
    """Return the ids of the reviewers who declared a conflict of interest on the case."""
    return frozenset(s.reviewer_id for s in scores_of(case) if s.conflict == "recused")


def not_recused(case: Case, user: User) -> bool:
    """Return whether the user has not declared a conflict of interest on the case: one who has
    takes no decision on it (a recommendation, a screening out, a request to its owner)."""
    return user.id not in recused_reviewers(case)


not_recused.refusal = ("You declared a conflict of interest on this request, so someone else takes its "
                       "decisions (separation of duties).")


def earlier_versions(outdated: Sequence[int], version: int) -> str:
    """Return the versions scores were made under, other than the set's in force, in words: "version
    1" or, when the file changed without a new version, "an earlier edition of version 2"."""
    return ", ".join(f"an earlier edition of version {v} (its file was changed without a new version)"
                     if v == version else f"version {v}" for v in outdated)


def _complete(case: Case) -> str | None:
    cset, scores = criteria_for(case.workflow), scores_of(case)
    agg = _aggregate(cset, case, scores) if cset is not None and scores else None
    if agg is None or not agg["complete"]:
        earlier = (f" The scores made under {earlier_versions(agg['outdated'], agg['criteria_version'])} do not "
                   f"count: the criteria in force are version {agg['criteria_version']}."
                   if agg and agg["outdated"] else "")
        return "The request needs at least one complete score before this step." + earlier
    return None


def _eligible(case: Case) -> str | None:
    failed = eligibility_for(case)
    return ("The request is not eligible: " + " ".join(failed)) if failed else None


# Both read the case alone, so a step they refuse is not offered: the page says why in its place.
has_complete_score = Guard("has_complete_score", _complete, "at least one complete score", ahead=True)
is_eligible = Guard("is_eligible", _eligible, "passes every knock-out rule of its criteria", ahead=True)


def _recommender_scored(case: Case, user: User) -> str | None:
    if has_reviewed(user, case):
        return None
    return ("Score the request before recommending it: reviewers recommend, having read the others' reviews, "
            "which show once you have scored it.")


#: Reviewers recommend (criteria-defaults.md): an officer who had not scored the request, and so
#: could not read its reviews, recommended it at the full amount over a colleague's scores of 1.
scored_by_recommender = Guard("scored_by_recommender", _recommender_scored,
                              "the recommender has scored it under the criteria in force", ahead=True, of_actor=True)
