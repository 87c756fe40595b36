"""What a change of accounts leaves undone elsewhere (a department left with staff trips waiting and
no Department Head to decide them): checks the workflows register, which the Users pages and
`flask users` ask before and after a change, so that whoever made it is told at once."""
from __future__ import annotations

from typing import Callable

_checks: list[Callable[[set[int]], dict]] = []


def add_account_check(check: Callable[[set[int]], dict]) -> None:
    """Register a check of an account's change: check(department_ids) -> {key: warning}."""
    if check not in _checks:
        _checks.append(check)


def gaps(*department_ids: int) -> list[dict]:
    """Return each registered check's warnings about these departments, now."""
    return [check(set(department_ids)) for check in _checks]


def new_warnings(before: list[dict], *department_ids: int) -> list[str]:
    """Return the warnings the change brought: those the checks give now and did not before it (a
    gap there was already is on the administrator's dashboard, not repeated at every change)."""
    return [message for earlier, now in zip(before, gaps(*department_ids))
            for key, message in now.items() if key not in earlier]
