"""Web forms of a travel request: the request (new and edit) and the post-trip report."""
from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import (FieldList, Form, FormField, IntegerField, RadioField, SelectField, SelectMultipleField,
                     StringField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from web.forms import TextAreaField, TransitionForm, mark_required_to_submit, typed_amount
from workflows.goals import GOALS
from workflows.travel.schemas import COST_LINES, ROLES_AT_EVENT, ReportArgs, TravelData

MONEY_KW = {"inputmode": "decimal", "autocomplete": "off", "class": "num"}
COST_LABELS = {"registration": "Registration", "transport": "Transport", "accommodation": "Accommodation",
               "per_diem": "Per diem (meals and incidentals)", "other": "Other"}
TEXT_FIELDS = ("event_name", "event_organizer", "event_city", "event_country", "start_date", "end_date",
               "purpose", "role_at_event", "funding", "sponsor_name")


class Marked:
    """Mark a field required (its label says so, and assistive technology), where the engine's schema
    is what refuses it empty, with its message beside the field: this checks nothing itself."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        return None


def _text(label: str, max_length: int, **kw) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=max_length)], **kw)


class TravelForm(FlaskForm):
    """A travel request; a draft may be saved incomplete, the engine checks it on submit."""

    # The version the person loaded, so that a save over someone's later change (another tab) is
    # refused as stale instead of writing over it.
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])

    title = StringField("Title of the request", validators=[Marked(), Optional(), Length(max=200)],
                        description="For example: Metropolis World Congress 2026.")
    goals = SelectMultipleField("Goals this trip serves", choices=[SelectChoice(k, v) for k, v in GOALS.items()],
                                widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    event_name = _text("Event", 200)
    event_organizer = _text("Organizer", 120, description="For example: Metropolis, IULA, ICLEI, WHO, FCM.")
    event_city = _text("City", 120)
    event_country = _text("Country", 80)
    start_date = _text("First day", 10, render_kw={"type": "date"})
    end_date = _text("Last day", 10, render_kw={"type": "date"})
    # The engine's schema checks the choices, so that a draft may leave them empty.
    role_at_event = SelectField("Your role at the event", validate_choice=False, choices=[
        SelectChoice("", "Choose…"), *(SelectChoice(r, r.replace("_", " ").capitalize()) for r in ROLES_AT_EVENT)])
    purpose = TextAreaField("Purpose of the trip", validators=[Optional(), Length(max=5000)])
    registration = _text(COST_LABELS["registration"], 20, render_kw=MONEY_KW)
    transport = _text(COST_LABELS["transport"], 20, render_kw=MONEY_KW)
    accommodation = _text(COST_LABELS["accommodation"], 20, render_kw=MONEY_KW)
    per_diem = _text(COST_LABELS["per_diem"], 20, render_kw=MONEY_KW)
    other = _text(COST_LABELS["other"], 20, render_kw=MONEY_KW)
    funding = RadioField("Who pays", default="city", validate_choice=False, choices=[
        SelectChoice("city", "The City"), SelectChoice("sponsor", "A sponsor"),
        SelectChoice("shared", "Shared between the City and a sponsor")])
    sponsor_name = _text("Sponsor", 200, description="Required when a sponsor pays all or part.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mark_required_to_submit(self, TravelData)

    def fill(self, case) -> None:
        """Put a case's title, goals and data into the form."""
        self.title.data, self.goals.data, self.version.data = case.title, list(case.goals or []), case.version
        for name in TEXT_FIELDS:
            value = case.data.get(name)
            getattr(self, name).data = "" if value is None else value
        costs = case.data.get("estimated_cost") or {}
        for line in COST_LINES:
            getattr(self, line).data = costs.get(line) or ""

    def case_data(self) -> dict:
        """Return the request data the form holds; an emptied field is null (a draft may be incomplete)."""
        data = {name: (getattr(self, name).data or "").strip() or None for name in TEXT_FIELDS}
        data["estimated_cost"] = {line: typed_amount(getattr(self, line).data) for line in COST_LINES}
        return data

    def attach(self, errors: dict) -> None:
        """Show the engine's field errors beside the fields that carry them."""
        for name, messages in errors.items():
            if name == "data" and isinstance(messages, dict):
                self.attach(messages)
            elif name == "estimated_cost" and isinstance(messages, dict):
                self.attach(messages)
            elif name == "estimated_cost" and isinstance(messages, list):  # none given: the first line says so
                field = getattr(self, COST_LINES[0])
                field.errors = list(field.errors) + ["Give the estimated cost: at least one of its lines."]
            elif hasattr(self, name) and isinstance(messages, list):
                field = getattr(self, name)
                field.errors = list(field.errors) + messages


class ContactForm(Form):
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    organization = StringField("Organization", validators=[Optional(), Length(max=200)])
    email = StringField("Email", validators=[Optional(), Length(max=254)],
                        render_kw={"type": "email", "autocomplete": "off"})


def contact_rows(field, **kwargs) -> Markup:
    """Render the contact rows as one fieldset each, so that every input keeps its own label."""
    rows = []
    for number, entry in enumerate(field, start=1):
        cells = []
        for sub in entry.form:
            error = Markup(f'<p class="error-text" id="{sub.id}-error">{escape(" ".join(sub.errors))}</p>') \
                if sub.errors else ""
            attrs = {"aria-describedby": f"{sub.id}-error", "aria-invalid": "true"} if sub.errors else {}
            cells.append(Markup('<div class="field">{}{}{}</div>').format(sub.label(), sub(**attrs), error))
        rows.append(Markup('<fieldset class="repeat-row contact-row"><legend>{} {}</legend>{}</fieldset>')
                    .format(entry.label.text, number, Markup("").join(cells)))
    # No script needed: the form comes back as typed, with one more row (ReportForm.shown_again).
    more = Markup('<button type="submit" class="button secondary" name="{}" value="1" formnovalidate>'
                  'Add another contact</button>').format(_more(field)) \
        if len(field) < field.max_entries else Markup('<p class="hint">{} contacts at most.</p>').format(len(field))
    return Markup('<div id="{}" class="contact-rows">{}{}</div>').format(field.id, Markup("").join(rows), more)


def _more(field) -> str:
    """Return the name of the button that adds a contact row."""
    return f"{field.name}-more"


#: marshmallow's words for a field left out, and what the report form says instead.
MISSING = "Missing data for required field."
REQUIRED_TO_FILE = "Fill this in to file the report."


def _contact_message(field: str, message: str) -> str:
    """Say what a contact row lacks as the row's fields are labelled (a name and an organization are
    asked of each person met, or of no row at all)."""
    if message in (MISSING, "Must not be empty."):
        return f"Give this person's {field}, or leave the whole row empty."
    return message


class ReportForm(TransitionForm):
    """The post-trip report: what happened, what was learned, whom the traveller met, what it cost."""

    summary = TextAreaField("Summary of the event", validators=[Marked(), Optional(), Length(max=10000)])
    learnings = TextAreaField("What the City can learn from it",
                              validators=[Marked(), Optional(), Length(max=10000)])
    contacts = FieldList(FormField(ContactForm, "Contact"), "Contacts made", min_entries=3, max_entries=50,
                         widget=contact_rows,
                         description="For each person met: a name and an organization (the email is optional). "
                                     "Leave the rows you do not need empty.")
    actual_cost = StringField("Actual cost", validators=[Marked(), Optional(), Length(max=20)], render_kw=MONEY_KW,
                              description="In dollars and cents, all costs together: for example 2,875.40.")

    @classmethod
    def starting_data(cls, case) -> dict:
        """A report returned for changes comes back as it was filed, to mend rather than type again."""
        filed = case.data.get("report") or {}
        return {name: filed[name] for name in ("summary", "learnings", "contacts", "actual_cost") if name in filed}

    def shown_again(self) -> bool:
        """Add a contact row if its button sent the form (the page then shows it, focused)."""
        if not (request.method == "POST" and _more(self.contacts) in request.form):
            return False
        if len(self.contacts) < self.contacts.max_entries:
            self.contacts.append_entry()
            self.contacts[-1].form.name.render_kw = {"autofocus": True}
        return True

    def _rows(self) -> list[tuple]:
        rows = []
        for entry in self.contacts:
            row = {k: (v or "").strip() for k, v in entry.data.items()}
            if any(row.values()):
                rows.append((entry, {k: v for k, v in row.items() if v or k != "email"}))
        return rows

    def payload(self) -> dict:
        """Return the report as the engine takes it; empty contact rows are left out."""
        body = {"summary": self.summary.data, "learnings": self.learnings.data,
                "actual_cost": typed_amount(self.actual_cost.data)}
        body = {k: v.strip() for k, v in body.items() if v and v.strip()}
        return {**body, "contacts": [row for _, row in self._rows()]}

    def validate(self, extra_validators=None) -> bool:
        """Check the form, then the report against the engine's schema, errors beside each field."""
        valid = super().validate(extra_validators)
        errors = ReportArgs().validate(self.payload())
        entries = [entry for entry, _ in self._rows()]
        for name, messages in errors.items():
            if name == "contacts" and isinstance(messages, dict):
                for index, fields in messages.items():
                    for sub, msgs in fields.items() if isinstance(index, int) else ():
                        target = entries[index].form[sub]
                        target.errors = list(target.errors) + [_contact_message(sub, m) for m in msgs]
            elif isinstance(messages, list):
                target = getattr(self, name)
                target.errors = list(target.errors) + [REQUIRED_TO_FILE if m == MISSING else m for m in messages]
        return valid and not errors
