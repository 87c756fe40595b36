"""Marshmallow schemas of a travel request: the request itself and the post-trip report."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, pre_dump, pre_load, validate, validates_schema

from workflows.fields import Day, Money, Text

ROLES_AT_EVENT = ("attendee", "presenter", "panelist", "board_member", "delegation_lead")
FUNDING = ("city", "sponsor", "shared")
COST_LINES = ("registration", "transport", "accommodation", "per_diem", "other")
MAX_CONTACTS = 50
#: The last day a trip may be planned for. A year such as 9999, taken as "open-ended", was
#: accepted, and its report's due day, a month later, could not be written: every page that
#: listed the trip failed, and the trip could never be marked as taken.
LATEST_DAY = date(2099, 12, 31)
_PLANNED = validate.Range(max=LATEST_DAY, error="Give a date before 2100.")


def cost_total(costs: dict | None) -> Decimal:
    """Return the sum of the cost lines that are given."""
    return sum((Decimal(str(costs[line])) for line in COST_LINES if (costs or {}).get(line) is not None),
               Decimal("0.00"))


class CostBreakdown(Schema):
    """The estimated cost, line by line; the total is derived, never entered."""

    registration = Money(allow_none=True)
    transport = Money(allow_none=True)
    accommodation = Money(allow_none=True)
    per_diem = Money(allow_none=True)
    other = Money(allow_none=True)
    total = Money(dump_only=True)

    @pre_load
    def _drop_total(self, data, **kwargs):
        # Stored data carries the derived total; a client's total is ignored, the server's is the truth.
        if isinstance(data, dict) and "total" in data:
            data = {k: v for k, v in data.items() if k != "total"}
        return data

    @pre_dump
    def _add_total(self, costs, **kwargs):
        return {**costs, "total": cost_total(costs)}


class TravelData(Schema):
    """A request to travel to a conference or on an international mission.

    Drafts load partially and may hold nulls for cleared fields; `submit` checks the whole.
    """

    event_name = Text(200, min_length=1, required=True, allow_none=True)
    event_organizer = Text(120, min_length=1, required=True, allow_none=True)
    event_city = Text(120, min_length=1, required=True, allow_none=True)
    event_country = Text(80, min_length=1, required=True, allow_none=True)
    start_date = Day(required=True, allow_none=True, validate=_PLANNED)
    end_date = Day(required=True, allow_none=True, validate=_PLANNED)
    purpose = Text(5000, min_length=1, required=True, allow_none=True)
    role_at_event = fields.String(required=True, allow_none=True, validate=validate.OneOf(ROLES_AT_EVENT))
    estimated_cost = fields.Nested(CostBreakdown, required=True, allow_none=True)
    funding = fields.String(required=True, allow_none=True, validate=validate.OneOf(FUNDING))
    sponsor_name = Text(200, min_length=1, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data: dict, partial=None, **kwargs) -> None:
        errors = {}
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            errors["end_date"] = ["The trip cannot end before it starts."]
        # A draft may leave the sponsor out; a complete request names it.
        if not partial and data.get("funding") not in (None, "city") and not data.get("sponsor_name"):
            errors["sponsor_name"] = ["Name the sponsor when the City does not pay for all of the trip."]
        if errors:
            raise ValidationError(errors)


class Contact(Schema):
    """A person met at the event."""

    name = Text(200, min_length=1, required=True)
    organization = Text(200, min_length=1, required=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))


class ReportArgs(Schema):
    """The post-trip report the traveller files."""

    summary = Text(10000, min_length=1, required=True)
    learnings = Text(10000, min_length=1, required=True)
    contacts = fields.List(fields.Nested(Contact), load_default=list,
                           validate=validate.Length(max=MAX_CONTACTS))
    actual_cost = Money(required=True)
