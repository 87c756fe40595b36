"""How an account operation is refused."""
from __future__ import annotations


class AccountError(ValueError):
    """A refused account operation, with a message for a person and, when one field is at fault,
    its name ("username", "password", "roles", "department", "full_name", "email")."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class AccountChanged(AccountError):
    """A change refused because another changed the account since the form was shown."""
