"""Registering the application's workflows and their pages at start-up."""
from __future__ import annotations

import importlib

from flask import Flask

from workflows import registry

#: The workflow packages under workflows/, each with definition.py (WORKFLOW) and optional views/api.
PACKAGES: tuple[str, ...] = ("travel", "relief", "partnership")


def register_all(app: Flask) -> None:
    """Register every workflow, its web pages and API routes."""
    for name in PACKAGES:
        definition = importlib.import_module(f"workflows.{name}.definition")
        registry.register(definition.WORKFLOW)
        for part in ("views", "api", "cli"):
            try:
                module = importlib.import_module(f"workflows.{name}.{part}")
            except ModuleNotFoundError as err:
                if err.name != f"workflows.{name}.{part}":
                    raise
                continue
            if hasattr(module, "init_app"):
                module.init_app(app)
    from workflows import handover
    from workflows.scoring import load_criteria

    handover.init_app(app)
    load_criteria(app)
