"""JSON that keeps money exact: Decimal in (parse_float) and Decimal out (as a string)."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask.json.provider import DefaultJSONProvider


class DecimalJSONProvider(DefaultJSONProvider):
    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            return f"{o:.2f}"
        if isinstance(o, datetime):
            return o.isoformat(timespec="seconds") + ("Z" if o.tzinfo is None else "")
        if isinstance(o, date):
            return o.isoformat()
        return DefaultJSONProvider.default(o)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_float", Decimal)
        return json.loads(s, **kwargs)
