"""Refusals the engine answers with; each carries the HTTP status the API returns."""
from __future__ import annotations


class WorkflowError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors

    def to_dict(self) -> dict:
        """Return the API's error body."""
        body = {"error": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class NotFound(WorkflowError):
    status, code = 404, "not_found"


class Forbidden(WorkflowError):
    status, code = 403, "forbidden"


class InvalidTransition(WorkflowError):
    status, code = 409, "invalid_transition"


class StaleVersion(WorkflowError):
    status, code = 409, "stale_version"


class ValidationFailed(WorkflowError):
    status, code = 422, "validation_failed"


class GuardFailed(WorkflowError):
    status, code = 422, "guard_failed"

    def __init__(self, guard: str, message: str, errors: dict | None = None):
        super().__init__(message, errors)
        self.guard = guard

    def to_dict(self) -> dict:
        return {**super().to_dict(), "guard": self.guard}
