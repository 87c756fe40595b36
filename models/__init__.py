"""The data model: one module per close group of tables."""
import models.liveness  # noqa: F401  (pooled PostgreSQL connections checked without a round trip)
from models.audit import AuditEvent
from models.case import CASE_ALONE, CASE_ROW, OWNER_AND_ROLES, Case, CaseCount
from models.notification import Notification
from models.partnership import Partnership
from models.score import Score
from models.user import ApiToken, Department, LoginSession, Role, User

__all__ = [
    "CASE_ALONE", "CASE_ROW", "ApiToken", "AuditEvent", "Case", "CaseCount", "Department", "LoginSession", "Notification",
    "OWNER_AND_ROLES", "Partnership", "Role", "Score", "User",
]
