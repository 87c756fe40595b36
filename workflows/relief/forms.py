"""The web forms of the relief workflow: the request itself and the payloads of its steps."""
from __future__ import annotations

from datetime import date

from flask import flash
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from extensions import db
from web.forms import TextAreaField, TransitionForm, typed_amount
from workflows.goals import GOALS
from workflows.partnership import inventory
from workflows.relief.schemas import DISASTER_TYPES

PARTY_LABELS = {"municipality": "Municipality (city government)", "ngo": "Non-governmental organisation",
                "agency": "Government or UN agency", "community_group": "Community group in Toronto"}
ASSISTANCE_LABELS = {"financial": "Financial help (a grant)", "technical": "Technical help (advice, expertise)",
                     "in_kind": "In-kind help (equipment, supplies)",
                     "staff_deployment": "Deployment of City staff (e.g. paramedics, engineers)"}


def _label(value: str) -> str:
    return value.replace("_", " ").capitalize()


def choices(pairs, prompt: str | None = None) -> list[SelectChoice]:
    """Return select or checkbox choices from (value, label) pairs, with an empty prompt first."""
    return ([SelectChoice("", prompt)] if prompt else []) + [SelectChoice(v, label) for v, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes, one per choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


#: The fields a request needs before it can be submitted (marked "required" on the form).
REQUIRED = ("goals", "requesting_party", "party_type", "city", "country", "disaster_type",
            "disaster_date", "affected_population", "assistance_types", "description", "contact_name",
            "contact_email")
#: The data fields that map one to one onto form fields of the same name.
PLAIN = ("requesting_party", "party_type", "city", "country", "disaster_type", "affected_population",
         "amount_requested", "channel", "other_government_support", "description")


class ReliefRequestForm(FlaskForm):
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    # In the order of the page, which the error summary at its top follows.
    city = StringField("City struck", validators=[Optional(), Length(max=120)])
    country = StringField("Country", validators=[Optional(), Length(max=120)])
    partnership_id = SelectField("Partner city in the inventory", default="")
    disaster_type = SelectField("Kind of disaster", default="",
                                choices=choices(((d, _label(d)) for d in DISASTER_TYPES), "Choose…"))
    disaster_date = DateField("Date of the disaster", validators=[Optional()])
    affected_population = IntegerField("People affected (estimate)", validators=[Optional(), NumberRange(min=0)])
    description = TextAreaField("What happened and what is needed", validators=[Optional(), Length(max=5000)])
    assistance_types = MultiCheckboxField("Kinds of help",
                                          choices=choices(ASSISTANCE_LABELS.items()))
    amount_requested = StringField("Amount requested (CAD)", validators=[Optional(), Length(max=20)],
                                   render_kw={"inputmode": "decimal", "autocomplete": "off"})
    channel = StringField("Delivering agency", validators=[Optional(), Length(max=300)])
    other_government_support = TextAreaField("Support from other governments",
                                             validators=[Optional(), Length(max=2000)])
    requesting_party = StringField("Who is asking for help", validators=[Optional(), Length(max=200)])
    party_type = SelectField("Kind of organisation", choices=choices(PARTY_LABELS.items(), "Choose…"), default="")
    contact_name = StringField("Contact name", validators=[Optional(), Length(max=200)],
                               render_kw={"autocomplete": "off"})
    contact_email = StringField("Contact email", validators=[Optional(), Length(max=254)],
                                render_kw={"type": "email", "autocomplete": "off"})
    title = StringField("Short title", validators=[Optional(), Length(max=200)])
    goals = MultiCheckboxField("Goals of the framework",
                               choices=choices(GOALS.items()), default=["compassion"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        partners = inventory.entries(db.session)
        self.partnership_id.choices = choices(((str(p.id), f"{p.city}, {p.country} ({p.status})") for p in partners),
                                              "Not a partner city")
        for name in REQUIRED:
            self[name].flags.required = True

    def fill(self, case) -> None:
        """Show a saved request in the form."""
        data = case.data or {}
        self.title.data, self.goals.data = case.title, list(case.goals or [])
        for name in PLAIN:
            self[name].data = data.get(name)
        self.disaster_date.data = date.fromisoformat(data["disaster_date"]) if data.get("disaster_date") else None
        self.assistance_types.data = list(data.get("assistance_types") or [])
        self.partnership_id.data = str(data["partnership_id"]) if data.get("partnership_id") else ""
        contact = data.get("contact") or {}
        self.contact_name.data, self.contact_email.data = contact.get("name"), contact.get("email")

    def request_data(self, clear_empty: bool) -> dict:
        """Return the case data the form holds; empty fields are left out, or set to None to clear them."""
        data: dict = {}
        for name in PLAIN:
            value = self[name].data
            if isinstance(value, str):
                value = (typed_amount(value) or "") if name == "amount_requested" else value.strip()
            if value not in (None, ""):
                data[name] = value
            elif clear_empty:  # emptied: cleared (submit then says it is missing)
                data[name] = None
        contact = {k: v.strip() for k, v in (("name", self.contact_name.data), ("email", self.contact_email.data))
                   if v and v.strip()}
        if contact and clear_empty:  # a part emptied on the page is cleared (the data is merged into the stored)
            contact = {"name": None, "email": None, **contact}
        for name, value in (("disaster_date", self.disaster_date.data and self.disaster_date.data.isoformat()),
                            ("assistance_types", list(self.assistance_types.data or [])),
                            ("partnership_id", int(self.partnership_id.data) if self.partnership_id.data else None),
                            ("contact", contact)):
            if value:
                data[name] = value
            elif clear_empty:
                data[name] = None
        return data

    def show_errors(self, errors: dict) -> None:
        """Put the engine's field errors beside the fields that carry them."""
        for name, messages in errors.items():
            if name == "contact" and isinstance(messages, dict):
                for part, msgs in messages.items():
                    self._add(f"contact_{part}", msgs)
            elif name == "contact":  # the contact as a whole (none given): beside each part left empty
                parts = [self.contact_name, self.contact_email]
                for field in [f for f in parts if not (f.data or "").strip()] or parts:
                    self._add(field.name, messages)
            else:
                self._add(name, messages)

    def _add(self, name: str, messages) -> None:
        messages = messages if isinstance(messages, list) else [str(messages)]
        field = self._fields.get(name)
        if field is not None:
            field.errors = list(field.errors) + messages
        else:  # no field shows it: said at the top of the page, rather than lost
            for message in messages:
                flash(f"{name.replace('_', ' ').capitalize()}: {message}", "error")


class ClaimForm(FlaskForm):
    """The triage queue's "start triage" button: the version the officer saw."""

    version = IntegerField(validators=[InputRequired()])


class RecommendForm(TransitionForm):
    recommendation = SelectField("Recommendation to the CAO", choices=choices(
        [("approve", "Approve"), ("decline", "Decline")], "Choose…"),
        validators=[InputRequired(message="Choose approve or decline.")])
    amount_granted = StringField("Amount proposed (CAD; 0.00 for non-financial help)",
                                 validators=[InputRequired(message="Give the amount, 0.00 if none."), Length(max=20)],
                                 render_kw={"inputmode": "decimal", "autocomplete": "off"})

    @classmethod
    def starting_data(cls, case) -> dict:
        """Offer the amount asked for (0.00 where no financial help is), to keep or lower."""
        data = case.data or {}
        asked = data.get("amount_requested") if "financial" in (data.get("assistance_types") or ()) else "0.00"
        return {"amount_granted": asked} if asked else {}

    def payload(self) -> dict:
        """Return the recommendation and the proposed amount."""
        return {"recommendation": self.recommendation.data, "amount_granted": typed_amount(self.amount_granted.data)}


class ApproveForm(TransitionForm):
    amount_granted = StringField("Revised amount granted (CAD; leave empty to keep the proposal)",
                                 validators=[Optional(), Length(max=20)],
                                 render_kw={"inputmode": "decimal", "autocomplete": "off"})

    def payload(self) -> dict:
        """Return the revised amount, if one was given."""
        revised = typed_amount(self.amount_granted.data)
        return {"amount_granted": revised} if revised else {}


class DisburseForm(TransitionForm):
    amount_paid = StringField("Amount paid (CAD; 0.00 for non-financial help)",
                              validators=[InputRequired(message="Give the amount paid."), Length(max=20)],
                              render_kw={"inputmode": "decimal", "autocomplete": "off"})
    paid_on = DateField("Paid on", validators=[InputRequired(message="Give the date of payment.")])
    payment_reference = StringField("Payment reference", validators=[Optional(), Length(max=120)],
                                    description="Required when an amount is paid (the transfer's or cheque's number).")

    @classmethod
    def starting_data(cls, case) -> dict:
        """Offer the amount granted, to keep or lower (a payment is at most that)."""
        granted = (case.data or {}).get("amount_granted")
        return {"amount_paid": granted} if granted else {}

    def payload(self) -> dict:
        """Return the payment as the disburse step takes it."""
        return {"amount_paid": typed_amount(self.amount_paid.data), "paid_on": self.paid_on.data.isoformat(),
                "payment_reference": (self.payment_reference.data or "").strip() or None}


class CloseForm(TransitionForm):
    outcome = TextAreaField("Outcome (what the help achieved)",
                            validators=[InputRequired(message="Describe the outcome."), Length(max=5000)])

    def payload(self) -> dict:
        """Return the outcome that closes the request."""
        return {"outcome": self.outcome.data.strip()}
