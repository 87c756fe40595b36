"""The annual accountability report to Council, derived from the audit trail (product.md §6).

Call ``init_app(app)`` before the API blueprint is registered: the API route joins ``api.bp``.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the report's pages, API route, command and the CAO office's dashboard panel."""
    from reports import cli, dashboard, views
    from web.nav import add_link, add_panel

    app.register_blueprint(views.bp)
    cli.register(app)
    add_link("Annual report", "reports.annual_page", views.READERS)
    add_panel("reports/panel.html", dashboard.panel_context, roles=("cao",))
