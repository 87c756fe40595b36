"""Scores of cases against the criteria sets (filled in by the criteria issue)."""
from __future__ import annotations

from models import Case


def aggregate_for(case: Case) -> dict | None:
    """Return the case's aggregate score for the API, or None when it has none."""
    return None


def aggregates_for(cases: list[Case]) -> dict[int, dict | None]:
    """Return the aggregate score of each case, by case id, in a fixed number of queries."""
    return {}
