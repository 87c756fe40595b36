"""What a change of accounts leaves undone elsewhere (a department left with staff trips waiting and
no Department Head to decide them; requests left waiting for no one): checks the workflows
register, which the Users pages and `flask users` ask before and after a change, so that whoever
made it is told at once."""
from __future__ import annotations

from typing import Any, Callable, Protocol


class AccountCheck(Protocol):
    """A check that notes something of the account before the change and compares after it."""

    def before(self, user: Any, department_ids: set[int]) -> Any: ...

    def after(self, user: Any, department_ids: set[int], noted: Any) -> list[str]: ...


_checks: list[Callable[[set[int]], dict] | AccountCheck] = []


def add_account_check(check: Callable[[set[int]], dict] | AccountCheck) -> None:
    """Register a check of an account's change: check(department_ids) -> {key: warning}, whose
    warnings the change brought are told; or an AccountCheck."""
    if check not in _checks:
        _checks.append(check)


def gaps(user: Any, *department_ids: int) -> list:
    """Return what each registered check notes of these departments and the user, before a change;
    the user None before one is created (whose new_warnings are asked of no department: a new
    account takes nothing from one, and a gap there already is not news)."""
    return [check.before(user, set(department_ids)) if hasattr(check, "before") else check(set(department_ids))
            for check in _checks]


def new_warnings(before: list, user: Any, *department_ids: int) -> list[str]:
    """Return the warnings the change brought: those the checks give now and did not before it (a
    gap there was already is on the administrator's dashboard, not repeated at every change)."""
    said: list[str] = []
    for check, earlier in zip(_checks, before):
        if hasattr(check, "after"):
            said += check.after(user, set(department_ids), earlier)
        else:
            said += [message for key, message in check(set(department_ids)).items() if key not in earlier]
    return said
