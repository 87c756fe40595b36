"""Marshmallow schemas: a proposal's data, a body's decision, the inventory as the API shows it."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from models.partnership import STATUSES
from workflows.fields import Money, Text, row_id

PROPOSAL_TYPES = ("revival", "new")
SPONSORS = ("FCM", "CIDA", "Metropolis", "CUI", "ICLEI", "none", "other")
#: A meeting and item of a committee or Council, e.g. "2026.PF13.5": year, body and meeting, item.
REFERENCE_PATTERN = r"^\d{4}\.[A-Z]{2,4}\d+\.\d+$"
MAX_FOCUS_AREAS = 12


def _distinct_areas(areas: list[str]) -> None:
    """Refuse a focus area named twice (letter case aside): Council's adoption copies the list into
    the inventory entry's focus, which read "Waste management; waste management"."""
    seen: set[str] = set()
    for area in areas:
        if area.casefold() in seen:
            raise ValidationError(f"Name each focus area once: \u201c{area}\u201d is given twice.")
        seen.add(area.casefold())


class PartnershipData(Schema):
    """A proposal to revive a partnership of the inventory or to open a new one.

    A required field may be null, as a cleared field of a draft is: the submit and resubmit guard
    (proposal_complete) counts it as missing.
    """

    proposal_type = fields.String(required=True, allow_none=True, validate=validate.OneOf(PROPOSAL_TYPES))
    partnership_id = row_id(allow_none=True)
    partner_city = Text(120, min_length=1, required=True, allow_none=True)
    partner_country = Text(120, min_length=1, required=True, allow_none=True)
    sponsor_organization = fields.String(required=True, allow_none=True, validate=validate.OneOf(SPONSORS))
    sponsor_funding_secured = fields.Boolean(required=True, allow_none=True)
    sponsor_amount = Money(allow_none=True)
    city_contribution = Money(required=True, allow_none=True)
    focus_areas = fields.List(Text(200, min_length=1), required=True, allow_none=True,
                              validate=[validate.Length(min=1, max=MAX_FOCUS_AREAS,
                                                        error="Name between {min} and {max} focus areas."),
                                        _distinct_areas])
    lead_department = Text(120, min_length=1, required=True, allow_none=True)
    duration_months = fields.Integer(required=True, allow_none=True, strict=True, validate=validate.Range(min=1, max=120))
    rationale = Text(5000, min_length=1, required=True, allow_none=True)
    expected_outcomes = Text(5000, min_length=1, required=True, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data: dict, partial=None, **kwargs) -> None:
        # Drafts load partially: a field's absence is a fault only in a full load.
        def missing(name: str) -> bool:
            return data.get(name) is None and (not partial or name in data)

        faults: dict[str, list[str]] = {}
        if data.get("proposal_type") == "revival" and missing("partnership_id"):
            faults["partnership_id"] = ["A revival names the inventory partnership it revives."]
        if data.get("sponsor_funding_secured") is True and missing("sponsor_amount"):
            faults["sponsor_amount"] = ["Give the amount the sponsor has secured."]
        if data.get("sponsor_organization") == "none":
            if data.get("sponsor_funding_secured") is True:
                faults["sponsor_funding_secured"] = ["Funding cannot be secured without a sponsoring organization."]
            if data.get("sponsor_amount") is not None:
                faults["sponsor_amount"] = ["There is no sponsoring organization: leave the sponsor's contribution "
                                            "empty."]
        if faults:
            raise ValidationError(faults)


class ResubmitArgs(PartnershipData):
    """The changes an owner may send with a resubmission: any proposal fields, none required."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class PartnershipDecisionArgs(Schema):
    """A decision as a committee or Council makes it; every field is optional."""

    # Text: trimmed first ("2026.PF13.5\n" matched the pattern, whose $ allows a final line break,
    # and was stored with it) and bounded (a reference of 6,000 characters went into the trail).
    meeting_reference = Text(40, validate=validate.Regexp(
        REFERENCE_PATTERN, error="Give the meeting and item as year.BODYmeeting.item, e.g. 2026.PF13.5."))
    motion = Text(5000)
    # strict: a count of votes is a whole number, not 7.9 read as 7 nor "7"
    votes_for = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))
    votes_against = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))
    interests_declared = fields.List(Text(120, min_length=1), validate=validate.Length(max=100))


class PartnershipSchema(Schema):
    """An entry of the partnership inventory."""

    id = fields.Integer(required=True)
    city = fields.String(required=True)
    country = fields.String(required=True)
    established = fields.String(allow_none=True, required=True)
    municipality = fields.String(allow_none=True, required=True)
    focus = fields.String(required=True)
    sponsor = fields.String(allow_none=True, required=True)
    program = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class PartnershipListSchema(Schema):
    items = fields.List(fields.Nested(PartnershipSchema), required=True)


class PartnershipListArgs(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    country = Text(120)


class PartnershipProposalSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True)
    proposal_type = fields.String(allow_none=True)


class PartnershipEventSchema(Schema):
    seq = fields.Integer(required=True)
    at = fields.String(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    payload = fields.Dict(required=True)


class PartnershipDetailSchema(PartnershipSchema):
    proposals = fields.List(fields.Nested(PartnershipProposalSchema), required=True)
    events = fields.List(fields.Nested(PartnershipEventSchema), required=True)


class PartnershipDecisionSchema(Schema):
    """A recorded decision of a committee or Council on a partnership proposal."""

    case_id = fields.Integer(required=True)
    case_title = fields.String(required=True)
    action = fields.String(required=True)
    body = fields.String(required=True)
    outcome = fields.String(required=True)
    at = fields.String(required=True)
    actor = fields.String(required=True)
    comment = fields.String(allow_none=True)
    meeting_reference = fields.String(allow_none=True)
    motion = fields.String(allow_none=True)
    votes_for = fields.Integer(allow_none=True)
    votes_against = fields.Integer(allow_none=True)
    interests_declared = fields.List(fields.String())


class PartnershipDecisionListSchema(Schema):
    items = fields.List(fields.Nested(PartnershipDecisionSchema), required=True)


class PartnershipDecisionSearchArgs(Schema):
    q = Text(200)


class InventoryArgs(Schema):
    """An inventory entry as an administrator enters or edits it."""

    city = Text(120, min_length=1, required=True)
    country = Text(120, min_length=1, required=True)
    established = Text(20, allow_none=True)
    municipality = Text(120, allow_none=True)
    focus = Text(5000, required=True)
    sponsor = Text(120, allow_none=True)
    program = Text(200, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


OPENAPI_SCHEMAS = (PartnershipSchema, PartnershipListSchema, PartnershipListArgs, PartnershipDetailSchema,
                   PartnershipDecisionArgs, PartnershipDecisionSchema, PartnershipDecisionListSchema,
                   PartnershipDecisionSearchArgs, InventoryArgs)
