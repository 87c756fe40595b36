"""The scoring form and breakdown on the case page, and the page of the criteria in force."""
from __future__ import annotations

from functools import lru_cache

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from extensions import db
from web import bp
from web.cases import render_case
from web.forms import TextAreaField, refused
from workflows import registry
from workflows.errors import NotFound, WorkflowError
from workflows.queries import load_visible
from workflows.scoring import (SCORE_STANDS, aggregate_for, criteria_for, current_scores, earlier_versions, kept_score,
                               may_score, remember_scores, score_stands, submit_score, visible_scores)

CONFLICT_CHOICES = [SelectChoice("none", "I have no conflict of interest"),
                    SelectChoice("recused", "I have a conflict of interest and recuse myself")]


@lru_cache(maxsize=32)
def score_form_class(cset):
    """Return a form with one radio group per rated criterion of a criteria set.

    Made once per criteria set (they are frozen): making the class took as long as making the
    form from it, on every case page a reviewer opens.
    """

    class ScoreForm(FlaskForm):
        conflict = RadioField("Conflict of interest", choices=CONFLICT_CHOICES, default="none",
                              validators=[InputRequired()])

    # Each button names its point ("3 good"): a screen reader reads the label, not the scale's hint.
    scale = [SelectChoice(str(v), label) for v, label in cset.scale_labels.items()]
    for crit in cset.criteria:
        if crit.kind == "rated":
            setattr(ScoreForm, f"rating_{crit.id}",
                    RadioField(crit.label, choices=scale, validators=[Optional()], description=crit.help))
    # After the ratings, as on the page (a form's fields, and its error summary, keep this order).
    ScoreForm.comment = TextAreaField("Comment for the record", validators=[Optional(), Length(max=5000)])
    return ScoreForm


def scoring_context(case) -> dict:
    """Return what the scoring section of a case page shows to the current user.

    Made once per request and case (a workflow's own section may show the score too); the key
    holds the case's last audit event, so a score recorded in the request makes it again. The
    request's teardown forgets it (`g` outlives a request where an app context is held open).
    """
    made = g.setdefault("accord_scoring_context", {})
    key = (case.id, case.last_event_seq)
    if key not in made:
        made[key] = _scoring_context(case)
    return made[key]


def _scoring_context(case) -> dict:
    cset = criteria_for(case.workflow)
    if cset is None:
        return {}
    scores = current_scores(db.session, [case.id]).get(case.id, [])
    remember_scores([case], {case.id: scores})
    shown = visible_scores(current_user, case, scores)
    mine = next((s for s in scores if s.reviewer_id == current_user.id), None)
    refused_case, refused = g.pop(_REFUSED_FORM, (None, None))
    form = None
    stands = score_stands(cset, current_user.id, scores)
    scores_case = may_score(current_user, case)
    rates = scores_case and not (mine and mine.conflict == "recused") and not stands
    if rates and refused is not None and refused_case == case.id:
        form = refused  # as the reviewer sent it, with its errors
    elif rates:
        form = score_form_class(cset)(prefix="score", formdata=None)
        if mine:
            form.conflict.data = mine.conflict
            for cid, value in (mine.ratings or {}).items():
                if cid in cset.rated_ids:  # not a criterion removed since, or now computed
                    getattr(form, f"rating_{cid}").data = str(value)
    wf = registry.get(case.workflow)
    # A decided request shows the score it was decided with, under the criteria of its decision.
    kept = kept_score(case)
    return {"cset": cset, "scores": shown, "aggregate": aggregate_for(case, shown),
            "decided": case.state in wf.decided_states,
            "version": kept["criteria_version"] if kept else cset.version,
            "digest": kept["criteria_hash"] if kept else cset.digest,
            "scale": kept["scale"] if kept else (cset.scale_min, cset.scale_max),
            "score_form": form, "my_score": mine, "hidden_count": len(scores) - len(shown),
            # Blind while they may come to score it, but not theirs to score now (a trip's head
            # while the CAO reviews it): the reviews show once it is decided, not once they score.
            "may_score": scores_case,
            "score_stands": SCORE_STANDS if stands and scores_case else None}


@bp.post("/cases/<int:case_id>/score")
@login_required
def score_case(case_id: int):
    """Record the reviewer's score from the scoring form."""
    try:
        case = load_visible(db.session, current_user, case_id)
    except NotFound:
        abort(404)
    cset = criteria_for(case.workflow)
    if cset is None:
        abort(404)
    form = score_form_class(cset)(prefix="score")
    if not form.validate():
        flash("Please correct the scoring form.", "error")
        _show_again(case, form)
        return render_case(case, 422)
    # A rating sent as spaces passes Optional() as not given (which drops the choice's own check):
    # it is not given here either, not read as a number (a 500).
    ratings = {c.id: int(given) for c in cset.criteria
               if c.kind == "rated" and (given := (getattr(form, f"rating_{c.id}").data or "").strip())
               and given != "None"}
    try:
        submit_score(db.session, current_user, case_id, ratings, form.conflict.data, form.comment.data)
    except WorkflowError as err:
        flash(err.message + _mark_errors(err, cset, form), "error")
        _show_again(case, form)
        return render_case(load_visible(db.session, current_user, case_id), err.status)
    if form.conflict.data == "recused":
        # "Your score has been recorded" told a head who stepped aside nothing of who decides now.
        from web.cases import waiting_for

        now = waiting_for(load_visible(db.session, current_user, case_id))
        flash("Your declaration of a conflict of interest is recorded: your review is left out, and you take no "
              f"decision on this request.{f' It now waits for {now}.' if now else ''}", "success")
    else:
        flash("Your score has been recorded.", "success")
    # No "#scoring-h": a fragment takes the browser there and the focus away from the message, which
    # is then never heard (as the comment form already does).
    return redirect(url_for("web.case_page", case_id=case_id))


# The refused scoring form, bound to what the reviewer sent, for the case page shown again: without
# it the page offered an empty form, and a reviewer had to find and redo every rating from memory.
_REFUSED_FORM = "accord_refused_score_form"


def _show_again(case, form) -> None:
    """Keep the refused form for this case's page, with its errors listed at the top."""
    setattr(g, _REFUSED_FORM, (case.id, form))
    refused(form)


def _mark_errors(err: WorkflowError, cset, form) -> str:
    """Mark the refusal's rating and comment errors on the form, beside each field and in the page's
    error summary, which names each by its label; return, as text for the message, any that no field
    of the form shows."""
    if isinstance(comment := (err.errors or {}).get("comment"), list):
        form.comment.errors = list(comment)
    ratings = (err.errors or {}).get("ratings") or {}
    labels, unshown = {c.id: c.label for c in cset.criteria}, ""
    for cid, messages in ratings.items() if isinstance(ratings, dict) else ():
        if (field := getattr(form, f"rating_{cid}", None)) is not None:
            field.errors = list(messages)
        else:
            unshown += f" {labels.get(cid, cid)}: {', '.join(messages)}."
    return unshown


@bp.get("/criteria")
@login_required
def criteria_page():
    """Show every signed-in person the criteria sets in force."""
    workflows = {wf.name: wf for wf in registry.all_workflows() if criteria_for(wf.name)}
    return render_template("criteria.html", sets=[(criteria_for(name), wf) for name, wf in workflows.items()])


def init_app(app) -> None:
    """Put the scoring section on the case page and the criteria page in the navigation."""
    from web.nav import add_case_section, add_link

    add_case_section("scoring/section.html")
    add_link("Criteria", "web.criteria_page")

    @app.teardown_request
    def _forget_scoring_context(_exc) -> None:
        g.pop("accord_scoring_context", None)
        g.pop(_REFUSED_FORM, None)

    @app.context_processor
    def scoring_helpers():
        return {"scoring_context": scoring_context}

    from criteria.scorer import RECOMMENDATION_LABELS

    app.add_template_filter(lambda code: RECOMMENDATION_LABELS.get(code, code), "recommendation_label")
    app.add_template_global(earlier_versions)
