"""Review criteria: load per-workflow YAML criteria sets and score cases against them."""
from .loader import (CriteriaError, CriteriaSet, Criterion, KnockOut, Thresholds, check_all,
                     load_all, load_criteria_set)
from .rules import METHODS, OPERATORS, Operator, register_operator
from .schemas import FieldKind
from .scorer import (Aggregate, aggregate, check_eligibility, compute, disagreement, percent, recommend,
                     score_one, validate_ratings)

__all__ = [
    "Aggregate", "CriteriaError", "CriteriaSet", "Criterion", "FieldKind", "KnockOut", "METHODS", "OPERATORS",
    "Operator", "Thresholds", "aggregate", "check_all", "check_eligibility", "compute", "disagreement",
    "load_all", "load_criteria_set", "percent", "recommend", "register_operator", "score_one",
    "validate_ratings",
]
