"""Links in the main navigation, contributed by each part of the application."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request, url_for
from flask_login import current_user

import clock
from models.user import ROLE_TITLES
from workflows.fields import money_text


@dataclass(frozen=True)
class Link:
    label: str
    endpoint: str
    roles: tuple[str, ...] = ()  # empty: everyone signed in


_links: list[Link] = []


def add_link(label: str, endpoint: str, roles: tuple[str, ...] = ()) -> None:
    """Add a link to the main navigation, shown to the given roles (or everyone)."""
    if all(link.endpoint != endpoint for link in _links):
        _links.append(Link(label, endpoint, roles))


def init_app(app: Flask) -> None:
    """Give templates nav_links() and the money filter."""

    @app.context_processor
    def navigation():
        def nav_links():
            if not current_user.is_authenticated:
                return []
            return [{"label": link.label, "url": url_for(link.endpoint), "current": request.endpoint == link.endpoint}
                    for link in _links if not link.roles or current_user.has_role(*link.roles)]

        return {"nav_links": nav_links}

    add_link("Users", "web.admin_users", ("admin",))
    # An administrator's dashboard had only "Nothing is waiting for you": it now says where their work is.
    add_panel("admin/panel.html", lambda _user: {}, roles=("admin",))
    app.add_template_filter(money_text, "money")
    # Roles as people name them ("Department Head"), not their codes ("dept_head", which a screen
    # reader reads as "dept underscore head"); in the order of their codes.
    app.add_template_filter(lambda codes: ", ".join(ROLE_TITLES.get(c, c) for c in sorted(codes)), "role_titles")
    # A stored moment as the City's people read it, in its time zone: "2026-12-01 22:23 EST".
    app.add_template_filter(lambda moment: clock.city_time(moment).strftime("%Y-%m-%d %H:%M %Z"), "city_time")
    # A code of the data as a person reads it: "terrorist_attack" as "Terrorist attack".
    app.add_template_filter(lambda code: str(code).replace("_", " ").capitalize(), "code_label")
    init_case_helpers(app)


@dataclass(frozen=True)
class Panel:
    template: str
    context: object  # callable(user) -> dict, or None when the panel has nothing to show
    roles: tuple[str, ...] = ()


_new: list[Link] = []
_panels: list[Panel] = []


def add_new_link(label: str, endpoint: str, roles: tuple[str, ...] = ()) -> None:
    """Offer a "new request" button on the dashboard."""
    if all(link.endpoint != endpoint for link in _new):
        _new.append(Link(label, endpoint, roles))


def add_panel(template: str, context, roles: tuple[str, ...] = ()) -> None:
    """Show a section on the dashboard of people with these roles."""
    if all(p.template != template for p in _panels):
        _panels.append(Panel(template, context, roles))


def dashboard_extras(user) -> dict:
    """Return the dashboard's "new" buttons and the panels (with their data) for a user."""
    new = [{"label": link.label, "url": url_for(link.endpoint)} for link in _new
           if not link.roles or user.has_role(*link.roles)]
    panels, context = [], {}
    for panel in _panels:
        if panel.roles and not user.has_role(*panel.roles):
            continue
        extra = panel.context(user)
        if extra is not None:
            panels.append(panel.template)
            context.update(extra)
    return {"new_links": new, "panels": panels, **context}


_case_sections: list[tuple[str, tuple[str, ...]]] = []
_edit_endpoints: dict[str, str] = {}


def add_case_section(template: str, workflows: tuple[str, ...] = ()) -> None:
    """Show a section on the case page of these workflows (or every workflow)."""
    if all(t != template for t, _ in _case_sections):
        _case_sections.append((template, workflows))


def set_edit_endpoint(workflow: str, endpoint: str) -> None:
    """Name the page where an owner edits a case of this workflow (it takes case_id)."""
    _edit_endpoints[workflow] = endpoint


def sent_back_note(case, events: list | None = None) -> dict | None:
    """Return why the request came back to its owner, as its pages show it (the step, who took it,
    when, their comment), or None; `events` are the case's, if the page has read them already."""
    from extensions import db
    from models import User
    from workflows import registry
    from workflows.audit import case_events
    from workflows.presenters import action_label, sent_back

    wf = registry.get(case.workflow)
    back = sent_back(case, case_events(db.session, case.id) if events is None else events, wf)
    if back is None:
        return None
    who = db.session.get(User, back.actor_id) if back.actor_id else None
    return {"step": action_label(wf, back.action, back.from_state), "by": who.full_name if who else back.actor_username,
            "at": back.at, "comment": back.comment}


def actor_names(events: list) -> dict[int, str]:
    """Return the full names of the people who made these events, by user id (one query)."""
    from extensions import db
    from workflows.presenters import actor_names as names

    return names(db.session, events)


def assigned_to(case) -> str:
    """Return who took the case up, as its pages name them: "Nobody yet", their name, or their name
    with the news that they can no longer act on it."""
    from workflows.access import assignee_stepped_out

    if case.assignee is None:
        return "Nobody yet"
    if assignee_stepped_out(case):
        return f"{case.assignee.full_name}, who can no longer act on it: any officer may take it on"
    return case.assignee.full_name


def init_case_helpers(app: Flask) -> None:
    """Give templates the case page's helpers and the goal labels."""
    from workflows.goals import GOALS
    from workflows.presenters import action_label

    @app.context_processor
    def case_helpers():
        return {
            "case_sections": lambda case: [t for t, wfs in _case_sections if not wfs or case.workflow in wfs],
            "has_edit_page": lambda case: case.workflow in _edit_endpoints,
            "edit_url": lambda case: url_for(_edit_endpoints[case.workflow], case_id=case.id),
            "action_label": action_label,
            "sent_back_note": sent_back_note,
            "actor_names": actor_names,
            "assigned_to": assigned_to,
        }

    app.add_template_filter(lambda g: GOALS.get(g, g), "goal_label")
