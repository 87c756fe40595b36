"""The flask commands of api.md: init-db, seed-demo, users, audit, criteria, report, ..."""
from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    """Attach every command group to the app."""
    from cli import audit, backup, criteria, database, users

    for module in (database, users, audit, criteria, backup):
        module.register(app)
