"""The web form for each transition: a comment box, plus the fields its payload needs."""
from __future__ import annotations

import functools

from flask_wtf import FlaskForm
from wtforms import BooleanField
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
