"""The dashboard, the health check and other pages that are not about one case."""
from __future__ import annotations

import functools
import os

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

import config as settings
from extensions import db
from models import CASE_ALONE, Case
from web import bp
from web.nav import dashboard_extras
from workflows import queries
from workflows.presenters import case_tables
from workflows.statements import inline


#: How many of the person's own requests the dashboard shows (the case list shows them all).
MINE_LIMIT = 50
# The person's own requests, and one more to know whether there are more: their owner is the
# signed-in user, whom the session holds already.
_MINE = (select(Case).where(Case.owner_id == bindparam("me")).order_by(Case.updated_at.desc())
         .limit(inline("n")).options(*CASE_ALONE))


@bp.get("/")
@login_required
def dashboard():
    """Show what awaits the person and the requests they made."""
    user = current_user._get_current_object()  # not through the proxy: the rules read it per case
    mine = db.session.scalars(_MINE, {"me": user.id, "n": MINE_LIMIT + 1}).all()
    waiting = queries.waiting_for(db.session, user)
    awaiting_rows, mine_rows = case_tables(user, waiting.cases, mine[:MINE_LIMIT], waiting=waiting.cases)
    return render_template("dashboard.html", awaiting=awaiting_rows, mine=mine_rows,
                           more_awaiting=waiting.more, searched_all=waiting.complete, more_mine=len(mine) > MINE_LIMIT,
                           **dashboard_extras(user))


@bp.get("/waiting")
@login_required
def waiting():
    """List every request waiting for the person to act, oldest first, a page at a time: where
    the dashboard's list goes on. A page starts after the last case of the one before."""
    after = request.args.get("after") or None  # (given empty: the first page)
    key = queries.WaitKey.parse(after) if after is not None else None
    if after is not None and key is None:
        flash("The place in the list that the address gives is not valid: start again from the first page.", "error")
        return render_template("cases/waiting.html", rows=None, first=False), 422
    user = current_user._get_current_object()  # not through the proxy: the rules read it per case
    found = queries.waiting_for(db.session, user, after=key)
    rows, = case_tables(user, found.cases, waiting=found.cases)
    return render_template("cases/waiting.html", rows=rows, first=key is None, complete=found.complete,
                           next_url=url_for("web.waiting", after=str(found.next)) if found.next else None)


@functools.cache
def _migrations() -> tuple[frozenset[str], frozenset[str]]:
    """Return the revisions this code's migrations end at (its heads), and all it knows."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(os.path.join(settings.ROOT, "migrations"))
    return frozenset(scripts.get_heads()), frozenset(r.revision for r in scripts.walk_revisions())


@bp.get("/healthz")
def healthz():
    """Say whether the application and its database answer, with the tables this code needs.

    A database never migrated, or left at an earlier migration (a deploy that forgot `flask
    init-db`), answered "ok" while every page failed. One migrated past this code (a newer version
    already deployed beside it) is not this code's fault, and answers "ok".
    """
    try:
        db.session.execute(text("SELECT 1"))
    except DBAPIError:  # any fault of the database's means "not healthy", whatever its kind
        db.session.rollback()
        return _unhealthy("Accord cannot reach its database.", database="unreachable")
    except PoolTimeout:  # (every connection in use: this process cannot serve a page either)
        return _unhealthy("Every connection to the database is in use.", database="busy")
    try:
        found = frozenset(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except DBAPIError:  # (it answers, but has no alembic_version: never migrated)
        db.session.rollback()
        found = frozenset()
    heads, known = _migrations()
    if found != heads and (not found or found <= known):
        return _unhealthy("The database is behind this version of Accord: run flask init-db.", database="ok",
                          schema="behind this version of Accord: run flask init-db")
    return {"status": "ok", "database": "ok"}


def _unhealthy(message: str, **what) -> tuple[dict, int]:
    """Return /healthz's 503: what it found, in the API's error format too (api.md: every error is
    {"error", "message"})."""
    return {"status": "error", **what, "error": "unavailable", "message": message}, 503


@bp.get("/favicon.ico")
def favicon():
    """Send a browser asking for the site's icon where browsers look (a JSON or PDF answer shows
    no page naming it) to the one the pages name, rather than a 404 in every console."""
    return redirect(url_for("static", filename="favicon.svg"), 301)
