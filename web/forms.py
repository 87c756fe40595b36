"""Forms shared by every page (Flask-WTF gives each its CSRF token)."""
from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from flask import Flask, abort, flash, g, render_template, request, session
from flask_login import current_user
from flask_wtf import FlaskForm
from marshmallow import Schema
from wtforms import (BooleanField, FieldList, Form, FormField, HiddenField, IntegerField, PasswordField, SelectField,
                     StringField)
from wtforms import TextAreaField as _TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, RadioInput

from extensions import db
from workflows import engine, registry
from workflows.errors import Forbidden, NotFound
from workflows.fields import MAX_ROW_ID
from workflows.queries import load_visible


class TextAreaField(_TextAreaField):
    """A text area whose line breaks count as the browser counted them.

    A browser sends each line break of a text area as CR LF, two characters, but its `maxlength`
    counts one: a comment of paragraphs that the page let a person type was then refused as too
    long. Line breaks are read, checked and kept as LF alone.
    """

    def process_formdata(self, valuelist):
        super().process_formdata([v.replace("\r\n", "\n") if isinstance(v, str) else v for v in valuelist])


THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d*)?")


def typed_amount(text: str | None) -> str | None:
    """Return an amount as the engine takes it ("1250.50") from what people type ("$1,250.50"), or
    None when empty. Anything else ("1250,50") goes to the engine as typed, to be refused there,
    beside its field, rather than guessed at here."""
    text = (text or "").strip().removeprefix("$").strip()
    return (text.replace(",", "") if THOUSANDS.fullmatch(text) else text) or None


def whole_number(text: str, maximum: int = MAX_ROW_ID) -> int | None:
    """Return the number from 1 to maximum that text writes in ASCII digits, or None.

    (str.isdigit takes "²" too, which int() refuses, and int() refuses over 4,300 digits.)
    """
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    number = int(text)
    return number if 0 < number <= maximum else None


class LoginForm(FlaskForm):
    # (NUL too: PostgreSQL cannot compare text holding it, and the username is looked up.)
    username = StringField("Username", validators=[DataRequired(), Length(max=80),
                                                   Regexp(r"^[^\x00]*$", message="Must not contain NUL characters.")],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class TransitionForm(FlaskForm):
    """The form behind each action button: the version the person saw, and a comment."""

    #: Set (to the form's legend) on a form that several steps share, one for each outcome of a
    #: decision (a committee's approval, deferral or refusal): the case page then offers one form
    #: with a choice of outcome, rather than the same fields once per outcome.
    decided_together: str | None = None

    version = IntegerField(widget=HiddenField.widget)
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=5000)])

    @classmethod
    def starting_data(cls, case) -> dict:
        """Return what the form holds when the case page first shows it: nothing, for most steps."""
        return {}

    def shown_again(self) -> bool:
        """Return whether the form was sent to be shown again, grown, rather than to take its step
        (a button that adds a row): nothing for most steps."""
        return False


class CommentForm(FlaskForm):
    """The case page's comment box: a note for the record, which moves nothing."""

    comment = TextAreaField("Your comment", validators=[DataRequired("Write a comment."), Length(max=5000)])
    # The version the page showed: the same comment sent twice from it (a double click) is recorded once.
    seen = IntegerField(widget=HiddenInput(), validators=[Optional()])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("New password", validators=[DataRequired(), Length(max=1024)],
                        render_kw={"autocomplete": "new-password"})
    # Typed twice, since it is typed unseen: a slip would lock the person out (the change signs them out).
    again = PasswordField("New password again", validators=[
        DataRequired("Type the new password again."), EqualTo("new", "The two new passwords differ: type them again.")],
        render_kw={"autocomplete": "new-password"})


class CaseFilterForm(FlaskForm):
    """The case list's filters. They are sent in the page's address (GET) and change nothing, so
    they carry no CSRF token; choices come from the workflows registered (set_choices)."""

    class Meta:
        csrf = False

    workflow = SelectField("Workflow", default="")
    state = SelectField("State", default="")
    mine = BooleanField("Only requests I made")

    def set_choices(self, workflows) -> "CaseFilterForm":
        """Offer every registered workflow, and every state of them, named as the workflows name
        it (a state some workflows name differently shows both names)."""
        self._workflows = {wf.name: wf for wf in workflows}
        self.workflow.choices = [("", "Any workflow")] + [(wf.name, wf.title) for wf in workflows]
        labels: dict[str, list[str]] = {}
        for wf in workflows:
            for state in wf.states:
                names = labels.setdefault(state, [])
                if wf.label(state) not in names:
                    names.append(wf.label(state))
        self.state.choices = [("", "Any state")] + [(state, " / ".join(names)) for state, names in labels.items()]
        return self

    def validate_state(self, field) -> None:
        wf, label = self._workflows.get(self.workflow.data or ""), dict(self.state.choices).get(field.data)
        if field.data and label and wf is not None and field.data not in wf.states:
            raise ValidationError(f"A {wf.title.lower()} is never '{label}': choose one of its states, "
                                  "or any workflow.")


#: What a refused form says at the top of its page, above the errors marked beside its fields.
CORRECT_THE_FIELDS = "Please correct the fields marked below."


def form_page(template: str, form: FlaskForm, status: int | None = None, **context):
    """Render a page with a form: 200, or 422 when it was refused (by default, when it has errors).

    A refused form says so at the top of the page, unless a message was already given, and lists
    the fields to mend: the errors beside the fields are not enough for a person who cannot see
    which fields are marked.
    """
    status = status if status is not None else (422 if form.errors else 200)
    if status >= 400:
        refused(form)
    return render_template(template, form=form, **context), status


_REFUSED = "accord_refused_forms"


def case_to_edit(case_id: int, workflow: str, not_theirs: str):
    """Return the case its owner opens on a workflow's edit page, or None once it is past editing
    (said in a message; the page goes back to the case's own). Answer 404 for a case the user may
    not see or of another workflow, and 403 (`not_theirs`) for another person's: as the API's PATCH
    does, whose answer to a state past editing (409) the engine gives to a save sent meanwhile."""
    try:
        case = load_visible(db.session, current_user, case_id)
    except NotFound:
        abort(404)
    if case.workflow != workflow:
        abort(404)
    if case.owner_id != current_user.id:
        raise Forbidden(not_theirs)
    wf = registry.get(workflow)
    if case.state not in wf.editable_states:
        flash(f"The request cannot be edited while it is {wf.label_in_sentence(case.state)}.", "error")
        return None
    return case


def flash_saved(case, version_before: int, message: str = "Changes saved.") -> None:
    """Say that an edit was saved, or that it changed nothing (the request is as it was)."""
    if case.version == version_before:
        flash("Nothing was changed: the request is as it was.", "info")
    else:
        flash(message, "success")


#: A page's words for a refusal because the request changed since the page was opened (the API's
#: say "reload it and try again", which a page that shows the request again has done already).
CHANGED_SINCE = "This request was changed since you opened this page (in another tab, or by someone else)."


#: What the page did about it: an edit page keeps what was typed; the case page shows the request
#: as it is now.
KEPT_BELOW = "What you typed is kept below: saving it again replaces those changes; to see them first, open the " \
             "request in another tab."
SHOWN_NOW = "It is shown below as it is now: check it, then act again if you still wish to."


def refusal_message(err, then: str = SHOWN_NOW) -> str:
    """Return the engine's refusal as a page says it; `then`, for a request changed since the page
    was opened, says what the page did about it."""
    from workflows.errors import StaleVersion

    return f"{CHANGED_SINCE} {then}" if isinstance(err, StaleVersion) else err.message


def kept_to_save_again(form, err, version: int) -> None:
    """After a save refused because the request changed since its form was loaded (in another tab,
    say): the form keeps what the person typed and takes the request's version now, so that saving
    again is a choice to replace those changes, which the refusal's message (refusal_message) says.
    Before, every later save was refused in the same way, and reloading threw away what was typed."""
    from workflows.errors import StaleVersion

    if isinstance(err, StaleVersion):
        form.version.data, form.version.raw_data = version, []  # (a number field shows what was sent, if any)


def mark_fields_to_correct(case, form: Form, attach) -> None:
    """Mark on an edit page's form, with attach(errors), the fields that the step named by the
    address's ?check= finds wrong as the request stands (the case page's refused submit leads
    here), and list them at the top of the page."""
    trigger = request.args.get("check", "")
    steps = registry.get(case.workflow).candidates(trigger, case.state) if 0 < len(trigger) <= 40 else []
    errors = engine.step_errors(db.session, current_user._get_current_object(), case, trigger) if steps else {}
    if errors:
        step = steps[0].title.lower()
        flash(f"To {step}, first correct the fields marked below.", "error")
        attach(errors)
        refused(form)


@functools.cache
def _required_to_submit(schema: type[Schema]) -> frozenset[str]:
    return frozenset(name for name, f in schema().fields.items() if f.required)


def mark_required_to_submit(form: Form, schema: type[Schema]) -> None:
    """Mark the fields a request needs before it can be submitted, as its workflow's schema says,
    "(required)" in their labels and to assistive technology (a draft may still be saved without
    them: the forms are `novalidate`). A checkbox is left unmarked: unticked is an answer."""
    for name in _required_to_submit(schema):
        if name in form and not isinstance(form[name], BooleanField):
            form[name].flags.required = True


def refused(*forms: Form | None) -> None:
    """List these forms' errors at the top of the page being rendered, each a link to its field,
    under a message saying the page was refused (CORRECT_THE_FIELDS, unless one was given already).

    The list takes the focus, so no field of these forms keeps its own `autofocus`: a page may have
    only one."""
    forms = [form for form in forms if form is not None]
    if any(form.errors for form in forms) and "_flashes" not in session:
        flash(CORRECT_THE_FIELDS, "error")
    for form in forms:
        g.setdefault(_REFUSED, []).append(form)
        without_autofocus(form)


def without_autofocus(form: Form) -> Form:
    """Take `autofocus` off the form's fields: a message or a list of errors above takes the focus
    (base.html), and a page may have only one."""
    for field in form:
        if (field.render_kw or {}).get("autofocus"):
            field.render_kw = {k: v for k, v in field.render_kw.items() if k != "autofocus"}
    return form


def error_links(form: Form) -> Iterator[dict]:
    """Yield {"target", "text"} for each field of the form that has errors, in the form's order
    (which should be the page's), each named as the page names it.

    The target is the id of the element that takes the focus: the field, or the first box of a
    group of radio buttons or checkboxes (which the templates render with WTForms' ids). A hidden
    field is left out: the person cannot mend it (the engine's message says what happened). A
    repeated field's errors as a whole (its own, or the engine's in the form's `list_errors`,
    {field name: messages}) lead to its first entry; an entry's are named by the entry's label and
    number, as its label or legend reads ("Contact 2").
    """
    list_errors = getattr(form, "list_errors", None) or {}
    for field in form:
        if isinstance(field.widget, HiddenInput):
            continue
        if isinstance(field, FieldList):
            whole = list_errors.get(field.short_name, []) + _messages(field)
            if whole:
                yield _link(field.entries[0] if field.entries else None, field.label.text, whole)
            for n, entry in enumerate(field.entries, 1):
                if isinstance(entry, FormField):
                    for link in error_links(entry.form):
                        yield {**link, "text": f"{entry.label.text} {n}, {link['text']}"}
                elif messages := _messages(entry):
                    yield _link(entry, f"{entry.label.text} {n}", messages)
        elif isinstance(field, FormField):
            yield from error_links(field.form)
        elif messages := _messages(field):
            yield _link(field, field.label.text, messages)


def _messages(field) -> list[str]:
    return [m for m in field.errors if isinstance(m, str)]


def _link(field, name: str, messages: list[str]) -> dict:
    if isinstance(field, FormField):
        field = next(iter(field.form), None)
    return {"target": _focus_target(field) if field is not None else None,
            "text": f"{name}: {' '.join(messages)}" if name else " ".join(messages)}


def _focus_target(field) -> str:
    if isinstance(getattr(field, "option_widget", None), (RadioInput, CheckboxInput)):
        return f"{field.id}-0"
    return field.id


def _invalid(errors) -> dict[str, str]:
    """Return the attribute that marks an option of a group in error (a radio button, a checkbox)."""
    return {"aria-invalid": "true"} if errors else {}


def _this_page() -> str:
    """Return the page's own path and query, for a form that posts back to it.

    Without an action a form posts to the page's address as the browser shows it, with the fragment
    an error summary's link added ("#title"): the page shown again went to that field, not to the
    new summary, and its errors were never heard.
    """
    return request.script_root + request.full_path.removesuffix("?")


def init_app(app: Flask) -> None:
    """Give templates error_summary(): the links to the fields of the forms refused in this request."""

    @app.context_processor
    def summary():
        return {"error_summary": lambda: [link for form in g.get(_REFUSED, ()) for link in error_links(form)]}

    # Globals, not context: macros imported without the page's context use them too.
    app.add_template_global(_invalid, "invalid")
    app.add_template_global(_this_page, "this_page")

    @app.teardown_request
    def _forget_refused_forms(_exc) -> None:
        g.pop(_REFUSED, None)
