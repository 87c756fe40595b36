"""The web form for each transition: a comment box, plus the fields its payload needs."""
from __future__ import annotations

import functools

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField
from wtforms.validators import InputRequired

from web.forms import TransitionForm
from workflows.definition import Transition, Workflow

#: Forms registered by workflows for their transitions that carry a payload, by (workflow, trigger).
_forms: dict[tuple[str, str], type[FlaskForm]] = {}


def register_form(workflow: str, trigger: str, form: type[TransitionForm]) -> None:
    """Use a form (a TransitionForm with a payload() method) for a workflow's trigger."""
    _forms[(workflow, trigger)] = form


def payload_form(wf: Workflow, t: Transition) -> type[TransitionForm]:
    """Return the form class for a transition: with a box to tick when the step ends the person's
    own request for good (cancel, withdraw), a button one click away from Submit."""
    form = _forms.get((wf.name, t.trigger), TransitionForm)
    return _confirmed(form) if ends_own_request(wf, t) else form


def ends_own_request(wf: Workflow, t: Transition) -> bool:
    """Return whether the step is the owner's and leads to a state no step leaves."""
    return t.by_owner and not any(t.dest in other.source for other in wf.transitions)


@functools.cache
def _confirmed(form: type[TransitionForm]) -> type[TransitionForm]:
    return type(f"Confirmed{form.__name__}", (form,), {"confirm": BooleanField(
        "Yes, end this request for good (it cannot be undone)",
        validators=[InputRequired("Tick the box to confirm.")])})


#: The prefix of the case page's one form for a decision of several outcomes, and its key.
DECISION = "decision"


def decision_triggers(wf: Workflow) -> list[str]:
    """Return the workflow's triggers whose forms are decided together (decided_together)."""
    return list(dict.fromkeys(t.trigger for t in wf.transitions if payload_form(wf, t).decided_together))


@functools.cache
def choosing(form: type[TransitionForm]) -> type[TransitionForm]:
    """Return the form of a decision of several outcomes: the shared form, with the outcome to choose
    (its choices are set where it is used: the steps offered, or every one the workflow has)."""
    outcome = RadioField("Decision", choices=[], validators=[InputRequired("Choose the decision.")])
    outcome.creation_counter = 0  # (first of the form's fields, as on its page: its errors are listed first)
    return type(f"Choosing{form.__name__}", (form,), {"outcome": outcome})
