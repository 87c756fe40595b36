"""The relief request's data, the payloads of its steps, and the triage queue's API shape."""
from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal, InvalidOperation

from marshmallow import Schema, ValidationError, fields, validate

import clock
from extensions import db
from models import Partnership
from workflows.definition import incomplete
from workflows.fields import MAX_ROW_ID, Day, Money, Text
from workflows.partnership.inventory import same_place

PARTY_TYPES = ("municipality", "ngo", "agency", "community_group")
DISASTER_TYPES = ("earthquake", "hurricane", "flood", "drought", "epidemic", "conflict", "terrorist_attack", "other")
ASSISTANCE_TYPES = ("financial", "technical", "in_kind", "staff_deployment")
RECOMMENDATIONS = ("approve", "decline")


def not_in_future(value: date) -> None:
    """Refuse a date after today in the City's time zone."""
    if value > clock.today():
        raise ValidationError("Must not be in the future.")


def existing_partnership(value: int) -> None:
    """Refuse a partnership id that names no row of the inventory."""
    if not 1 <= value <= MAX_ROW_ID or db.session.get(Partnership, value) is None:
        raise ValidationError("No partnership in the inventory has this id.")


def partner_elsewhere(data: dict) -> str | None:
    """Return a note when the inventory entry the request links is in another country than the
    request's (a flood in Manila linked to Soyapango, El Salvador, picked from the list by a slip,
    would show the officer scoring "relationship" a partner the city does not have); or None.

    A note on the request's page, not a refusal: countries are written in more than one way
    (the inventory's Turkey and Great Britain, a request's Türkiye or United Kingdom). Entries are
    compared by country, not city: some are regions (The State of Mexico).
    """
    partnership_id, country = data.get("partnership_id"), data.get("country")
    if not isinstance(partnership_id, int) or not isinstance(country, str) or not country.strip():
        return None
    entry = db.session.get(Partnership, partnership_id)
    if entry is None or same_place(entry.country, country):
        return None
    return (f"The partner linked, {entry.city}, is in {entry.country} in the inventory; the request names "
            f"{country.strip()}. Check that the link is the right one.")


def _distinct(values: list) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Name each type of assistance once.")


class ContactSchema(Schema):
    name = Text(200, min_length=1, required=True)
    email = fields.Email(required=True, validate=validate.Length(max=254))


class ReliefData(Schema):
    """A relief request as the owner enters it; decision data is added by the steps.

    A required field may be null, as a cleared field of a draft is: missing_fields (the submit
    and provide_info guard) counts it as missing.
    """

    requesting_party = Text(200, min_length=1, required=True, allow_none=True)
    party_type = fields.String(required=True, allow_none=True, validate=validate.OneOf(PARTY_TYPES))
    city = Text(120, min_length=1, required=True, allow_none=True)
    country = Text(120, min_length=1, required=True, allow_none=True)
    disaster_type = fields.String(required=True, allow_none=True, validate=validate.OneOf(DISASTER_TYPES))
    disaster_date = Day(required=True, allow_none=True, validate=not_in_future)
    affected_population = fields.Integer(required=True, allow_none=True, strict=True,
                                         validate=validate.Range(min=0, max=10_000_000_000))
    assistance_types = fields.List(fields.String(validate=validate.OneOf(ASSISTANCE_TYPES)), required=True,
                                   allow_none=True, validate=[validate.Length(min=1), _distinct])
    amount_requested = Money(allow_none=True)
    channel = Text(300, allow_none=True)
    other_government_support = Text(2000, allow_none=True)
    partnership_id = fields.Integer(strict=True, allow_none=True, validate=existing_partnership)
    description = Text(5000, min_length=1, required=True, allow_none=True)
    contact = fields.Nested(ContactSchema, required=True, allow_none=True)


def _all_optional(base: type[Schema], name: str) -> type[Schema]:
    """Return the schema with every field optional, those of its objects too: an object sent is
    merged into the one stored, as a PATCH of the request's data is (a contact's new email alone)."""
    optional = {}
    for field_name, field in base._declared_fields.items():
        if isinstance(field, fields.Nested) and isinstance(field.nested, type):
            optional[field_name] = fields.Nested(field.nested(partial=True), allow_none=field.allow_none)
        else:
            optional[field_name] = copy.deepcopy(field)
        optional[field_name].required = False
    return type(name, (base,), {**optional, "__doc__": f"{base.__name__} with every field optional."})


#: What the owner may send with provide_info: any fields of the request, merged into its data.
ReliefDataUpdate = _all_optional(ReliefData, "ReliefDataUpdate")


def asks_for_money(data: dict) -> bool:
    """Return whether a request asks for financial help (a grant)."""
    return "financial" in (data.get("assistance_types") or [])


def _amount_requested_error(data: dict) -> str | None:
    """Return why a financial request's amount requested stops it from being submitted, or None.

    A draft may hold 0.00 (a field filled in later); a submitted request for a grant asks for
    some money, or the grant it leads to could only be nothing."""
    requested = data.get("amount_requested")
    if requested in (None, ""):
        return "Required when financial help is asked for."
    try:
        positive = Decimal(str(requested)) > 0
    except InvalidOperation:
        return None  # (not an amount: the schema names the fault)
    return None if positive else "Must be more than 0.00 when financial help is asked for."


def missing_fields(data: dict) -> dict:
    """Return the field errors that stop a request from being submitted (empty when complete)."""
    errors = incomplete(ReliefData, data)
    if asks_for_money(data) and "amount_requested" not in errors and (fault := _amount_requested_error(data)):
        errors["amount_requested"] = [fault]
    return errors


class RecommendArgs(Schema):
    recommendation = fields.String(required=True, validate=validate.OneOf(RECOMMENDATIONS))
    amount_granted = Money(required=True)


class ApproveArgs(Schema):
    amount_granted = Money()


class DisburseArgs(Schema):
    amount_paid = Money(required=True)
    paid_on = Day(required=True, validate=not_in_future)
    payment_reference = Text(120, allow_none=True)


class CloseArgs(Schema):
    outcome = Text(5000, min_length=1, required=True)

