"""The web form for each transition: a comment box, plus the fields its payload needs."""
from __future__ import annotations

from flask_wtf import FlaskForm

from web.forms import TransitionForm
from workflows.definition import Transition, Workflow

#: Forms registered by workflows for their transitions that carry a payload, by (workflow, trigger).
_forms: dict[tuple[str, str], type[FlaskForm]] = {}


def register_form(workflow: str, trigger: str, form: type[TransitionForm]) -> None:
    """Use a form (a TransitionForm with a payload() method) for a workflow's trigger."""
    _forms[(workflow, trigger)] = form


def payload_form(wf: Workflow, t: Transition) -> type[TransitionForm]:
    """Return the form class for a transition."""
    return _forms.get((wf.name, t.trigger), TransitionForm)
