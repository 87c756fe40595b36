"""A small workflow defined in the tests, to prove the engine apart from the real ones."""
from __future__ import annotations

import time

from marshmallow import Schema, fields

from workflows.definition import OWNER, Guard, Transition, Workflow
from workflows.fields import Money, Text


class LeaveData(Schema):
    reason = Text(500, required=True)
    days = fields.Integer(required=True)


class ApproveArgs(Schema):
    amount = Money(required=True)
    slow = fields.Boolean(load_default=False)


def _same_department(case, user) -> bool:
    return user.department_id == case.department_id


_same_department.refusal = "Only the head of the requester's own department may approve."


def _complete(ctx):
    errors = LeaveData().validate(ctx.data)
    return ("The request is incomplete.", {"data": errors}) if errors else None


def _budget(ctx):
    if ctx.payload["amount"] > 1000:
        return "The amount is above the leave budget of 1,000.00."
    if ctx.payload.get("slow"):
        time.sleep(0.3)  # widens the race window in the concurrency test
    return None


LEAVE = Workflow(
    name="leave",
    title="Study leave (test workflow)",
    states=("draft", "submitted", "approved", "declined", "cancelled"),
    data_schema=LeaveData,
    readers=("cao",),
    department_heads_read=True,
    transitions=(
        Transition("submit", ("draft",), "submitted", (OWNER,), "Submit", guards=(Guard("data_complete", _complete),)),
        Transition("approve", ("submitted",), "approved", ("dept_head",), "Approve", may=_same_department,
                   guards=(Guard("within_budget", _budget),), payload=ApproveArgs),
        Transition("decline", ("submitted",), "declined", ("dept_head",), "Decline", may=_same_department,
                   comment_required=True),
        Transition("cancel", ("draft", "submitted"), "cancelled", (OWNER,), "Cancel"),
    ),
)
