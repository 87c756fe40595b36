"""Marshmallow fields every workflow schema uses: bounded text, money, goal ids."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, validate

MAX_MONEY = Decimal("1000000000.00")
#: The largest id a row may have: a database INTEGER (PostgreSQL's is 32-bit).
MAX_ROW_ID = 2**31 - 1


def row_id(**kwargs) -> fields.Integer:
    """Return a field for the id of a row elsewhere: a whole number a database integer can hold, so
    that looking it up cannot overflow (an id beyond it names nothing)."""
    # strict: 12.9 was read as 12 (another city's entry), and "12" as 12.
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ROW_ID), **kwargs)


class Text(fields.String):
    """A string that refuses NUL characters and text longer than the field allows.

    The limits are also written into the OpenAPI document (maxLength, pattern), so that what
    the document promises is exactly what the server accepts.
    """

    def __init__(self, max_length: int = 2000, *, min_length: int = 0, **kwargs):
        self.max_length = max_length
        self.min_length = min_length
        pattern = r"^[^\x00]*[^\x00\s][^\x00]*$" if min_length else r"^[^\x00]*$"
        given = kwargs.get("validate")
        for check in given if isinstance(given, (list, tuple)) else [given]:
            if isinstance(check, validate.Regexp):  # (the stricter pattern, the one the document must give)
                pattern = check.regex.pattern
        metadata = {"maxLength": max_length, "pattern": pattern, **kwargs.pop("metadata", {})}
        if min_length:
            metadata["minLength"] = min_length
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).replace("\r\n", "\n")  # a line break is one
        if "\x00" in text:
            raise ValidationError("Must not contain NUL characters.")
        text = text.strip()  # (measured as stored: 200 letters and a space are 200)
        if len(text) > self.max_length:
            raise ValidationError(f"Must be at most {self.max_length} characters long.")
        if len(text) < self.min_length:
            raise ValidationError("Must not be empty." if self.min_length == 1 else
                                  f"Must be at least {self.min_length} characters long.")
        return text


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class Day(fields.Date):
    """A date written as api.md gives dates, YYYY-MM-DD: Python's date.fromisoformat also reads
    "20271230" and "2027-W52-3", which a person reading the request would not recognise."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not _DAY.fullmatch(value.strip()):
            raise ValidationError("Give a date as YYYY-MM-DD, such as 2026-06-10.")
        return super()._deserialize(value.strip() if isinstance(value, str) else value, attr, data, **kwargs)


# An amount as written in JSON or on a form: ASCII digits, a point, perhaps an exponent (a float's repr).
_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


_BETWEEN = f"Must be between $0.00 and ${MAX_MONEY:,.2f}."


class Money(fields.Decimal):
    """Canadian dollars with cents: a string "1250.00" out, a string or number in, never a float."""

    def __init__(self, **kwargs):
        # (In the words of the check below, not marshmallow's "greater than or equal to 0 and less
        # than or equal to 1000000000.00".)
        kwargs.setdefault("validate", validate.Range(min=Decimal("0"), max=MAX_MONEY, error=_BETWEEN))
        super().__init__(places=None, as_string=True, allow_nan=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Not a valid amount.")
        if isinstance(value, float):
            # A JSON number arrives as float; its shortest repr is what the client wrote.
            value = repr(value)
        text = str(value).strip()
        if not _AMOUNT.fullmatch(text):  # (Decimal also reads "1_000" and digits of other scripts)
            raise ValidationError("Not a valid amount.")
        try:
            amount = Decimal(text)
        except (InvalidOperation, ValueError):
            raise ValidationError("Not a valid amount.") from None
        if not amount.is_finite():
            raise ValidationError("Not a valid amount.")
        if amount.is_zero():
            amount = abs(amount)  # "-0" is nought dollars, not a negative amount shown as "-0.00"
        if abs(amount) > MAX_MONEY:  # before quantize, which fails beyond 28 digits (1e30, say)
            raise ValidationError(f"Must be at most ${MAX_MONEY:,.2f}." if amount > 0 else _BETWEEN)
        if amount != amount.quantize(Decimal("0.01")):
            raise ValidationError("Use at most two decimals (cents).")
        return super()._deserialize(str(amount), attr, data, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return f"{Decimal(value).quantize(Decimal('0.01'))}"


def money_text(value) -> str:
    """Format an amount for people: thousands separators and two decimals."""
    if value in (None, ""):
        return ""
    return f"{Decimal(str(value)):,.2f}"
