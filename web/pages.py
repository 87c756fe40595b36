"""The dashboard, the health check and other pages that are not about one case."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select, text

from extensions import db
from models import CASE_ALONE, Case
from web import bp
from web.nav import dashboard_extras
from workflows.presenters import case_tables
from workflows.queries import awaiting
from workflows.statements import inline


# The person's own requests: their owner is the signed-in user, whom the session holds already.
_MINE = (select(Case).where(Case.owner_id == bindparam("me")).order_by(Case.updated_at.desc()).limit(inline("n", 50))
         .options(*CASE_ALONE))


@bp.get("/")
@login_required
def dashboard():
    """Show what awaits the person and the requests they made."""
    user = current_user._get_current_object()  # not through the proxy: the rules read it per case
    mine = db.session.scalars(_MINE, {"me": user.id}).all()
    awaiting_rows, mine_rows = case_tables(user, awaiting(db.session, user), mine)
    return render_template("dashboard.html", awaiting=awaiting_rows, mine=mine_rows,
                           **dashboard_extras(user))


@bp.get("/healthz")
def healthz():
    """Say whether the application and its database answer."""
    try:
        db.session.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok"}
    except Exception:  # any database fault means "not healthy", whatever its kind
        db.session.rollback()
        return {"status": "error", "database": "unreachable"}, 503
