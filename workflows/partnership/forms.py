"""Web forms: the councillor's proposal, the inventory entry, and a body's decision."""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from flask_wtf import FlaskForm
from wtforms import (BooleanField, FieldList, HiddenField, IntegerField, RadioField, SelectField,
                     SelectMultipleField, StringField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from models.partnership import STATUSES
from workflows.partnership.inventory import FIELD_LABELS
from web.forms import TextAreaField, TransitionForm, mark_required_to_submit, typed_amount, whole_number
from workflows.goals import GOALS
from workflows.partnership.schemas import REFERENCE_PATTERN, SPONSORS, PartnershipData

FOCUS_ROWS = 4
SPONSOR_LABELS = {"FCM": "Federation of Canadian Municipalities (FCM)",
                  "CIDA": "Canadian International Development Agency (CIDA)",
                  "Metropolis": "Metropolis (World Association of Major Metropolises)",
                  "CUI": "Canadian Urban Institute (CUI)", "ICLEI": "ICLEI", "none": "None", "other": "Other"}


def choices(pairs, optgroup: str | None = None) -> list[SelectChoice]:
    """Return (value, label) pairs as the choices of a select, radio or checkbox field."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


class ProposalForm(FlaskForm):
    """A proposal to revive a partnership of the inventory or to open a new one."""

    version = IntegerField(widget=HiddenField.widget, validators=[Optional()])
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    goals = SelectMultipleField("Goals of the framework this proposal serves", choices=choices(GOALS.items()),
                                validators=[DataRequired()],
                                widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    proposal_type = RadioField("Kind of proposal", choices=choices([
        ("revival", "Revive a dormant or completed partnership of the inventory"),
        ("new", "Propose a new partnership")]), validators=[DataRequired()])
    partnership_id = SelectField("Inventory partnership", validate_choice=False)
    partner_city = StringField("Partner city", validators=[Optional(), Length(max=120)])
    partner_country = StringField("Partner country", validators=[Optional(), Length(max=120)])
    sponsor_organization = SelectField("Sponsoring organization",
                                       choices=choices([("", "Choose…"), *((s, SPONSOR_LABELS[s]) for s in SPONSORS)]),
                                       validators=[Optional()])
    sponsor_funding_secured = BooleanField("The sponsor's funding is secured")
    sponsor_amount = StringField("Sponsor's contribution (CAD)", validators=[Optional(), Length(max=20)],
                                 render_kw={"inputmode": "decimal"})
    city_contribution = StringField("City's contribution (CAD)", validators=[Optional(), Length(max=20)],
                                    render_kw={"inputmode": "decimal"})
    focus_areas = FieldList(StringField("Focus area", validators=[Optional(), Length(max=200)]),
                            "Focus areas", min_entries=FOCUS_ROWS)
    #: The engine's errors of the focus areas as a whole, by field name (views._attach replaces it).
    list_errors: Mapping[str, list[str]] = MappingProxyType({})
    lead_department = StringField("Lead department", validators=[Optional(), Length(max=120)])
    duration_months = IntegerField("Duration (months)", validators=[Optional(), NumberRange(min=1, max=120)])
    rationale = TextAreaField("Rationale", validators=[Optional(), Length(max=5000)])
    expected_outcomes = TextAreaField("Expected outcomes", validators=[Optional(), Length(max=5000)])

    TEXT_FIELDS = ("partner_city", "partner_country", "sponsor_organization", "sponsor_amount",
                   "city_contribution", "lead_department", "rationale", "expected_outcomes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mark_required_to_submit(self, PartnershipData)

    def set_inventory(self, revivable, prospective) -> None:
        """Offer the inventory entries a proposal may name, grouped by what it may do with them."""
        self.partnership_id.choices = [
            *choices([("", "None: a new partnership not in the inventory")]),
            *choices([(str(p.id), f"{p.city}, {p.country} ({p.status})") for p in revivable],
                     "Dormant or completed: to revive"),
            *choices([(str(p.id), f"{p.city}, {p.country}") for p in prospective], "Prospective: a new partnership"),
        ]

    def proposal_data(self) -> dict:
        """Return the case data the form describes; empty fields are left out of a draft."""
        data = {name: getattr(self, name).data.strip() for name in self.TEXT_FIELDS
                if (getattr(self, name).data or "").strip()}
        for name in ("sponsor_amount", "city_contribution"):  # as people type them: "$45,000.00"
            if name in data:
                data[name] = typed_amount(data[name])
        data["proposal_type"] = self.proposal_type.data
        data["sponsor_funding_secured"] = bool(self.sponsor_funding_secured.data)
        if self.partnership_id.data:
            # (Any text but an inventory id is refused by the schema, naming the field.)
            data["partnership_id"] = whole_number(self.partnership_id.data) or -1
        areas = [a.strip() for a in self.focus_areas.data if a and a.strip()]
        if areas:
            data["focus_areas"] = areas
        if self.duration_months.data is not None:
            data["duration_months"] = self.duration_months.data
        return data

    @classmethod
    def values_of(cls, case) -> dict:
        """Return the form's initial values for an existing case."""
        data = dict(case.data)
        areas = list(data.get("focus_areas") or [])
        data["focus_areas"] = areas + [""] * max(FOCUS_ROWS - len(areas), 1)
        data["partnership_id"] = str(data["partnership_id"]) if data.get("partnership_id") else ""
        return {**data, "title": case.title, "goals": list(case.goals), "version": case.version}


class InventoryForm(FlaskForm):
    """An entry of the partnership inventory, as an administrator keeps it."""

    city = StringField(FIELD_LABELS["city"], validators=[DataRequired(), Length(max=120)])
    country = StringField(FIELD_LABELS["country"], validators=[DataRequired(), Length(max=120)])
    established = StringField(FIELD_LABELS["established"], validators=[Optional(), Length(max=20)])
    municipality = StringField(FIELD_LABELS["municipality"], validators=[Optional(), Length(max=120)])
    focus = TextAreaField(FIELD_LABELS["focus"], validators=[Optional(), Length(max=5000)])
    sponsor = StringField(FIELD_LABELS["sponsor"], validators=[Optional(), Length(max=120)])
    program = StringField(FIELD_LABELS["program"], validators=[Optional(), Length(max=200)])
    status = SelectField(FIELD_LABELS["status"], choices=choices((s, s.capitalize()) for s in STATUSES),
                         validators=[DataRequired()])
    # The entry's chain head when the edit page was opened: a change made since is not undone.
    seen = HiddenField()

    FIELDS = ("city", "country", "established", "municipality", "focus", "sponsor", "program", "status")

    def values(self) -> dict:
        """Return the entry the form describes."""
        return {name: (getattr(self, name).data or "").strip() for name in self.FIELDS}


class DecisionForm(TransitionForm):
    """A committee's or Council's decision: meeting and item, motion, vote, declared interests."""

    decided_together = "Record the decision"

    meeting_reference = StringField("Meeting and item reference (e.g. 2026.PF13.5 at committee, 2026.CC15.4 at "
                                    "Council)", validators=[
        Optional(), Regexp(REFERENCE_PATTERN, message="Write it as year.BODYmeeting.item, e.g. 2026.PF13.5.")])
    motion = TextAreaField("Motion", validators=[Optional(), Length(max=5000)])
    votes_for = IntegerField("Votes for", validators=[Optional(), NumberRange(min=0, max=1000)])
    votes_against = IntegerField("Votes against", validators=[Optional(), NumberRange(min=0, max=1000)])
    interests_declared = TextAreaField("Members who declared an interest (one name a line)",
                                       validators=[Optional(), Length(max=5000)])

    def payload(self) -> dict:
        """Return the decision for the engine, leaving out what was not entered."""
        payload = {}
        if (self.meeting_reference.data or "").strip():
            payload["meeting_reference"] = self.meeting_reference.data.strip()
        if (self.motion.data or "").strip():
            payload["motion"] = self.motion.data.strip()
        for name in ("votes_for", "votes_against"):
            if getattr(self, name).data is not None:
                payload[name] = getattr(self, name).data
        names = [n.strip() for n in (self.interests_declared.data or "").splitlines() if n.strip()]
        if names:
            payload["interests_declared"] = names
        return payload

