"""Web sign-in and sign-out, with server-side sessions that sign-out really ends."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_url, login_user, logout_user
from flask_wtf.csrf import CSRFError

from accounts.passwords import verify_password
from accounts.devices import remember_device
from accounts.errors import AccountError
from accounts.service import change_password
from accounts.sign_in import end_sessions, start_session, user_for_session, user_named
from config import session_lifetime
from extensions import (db, limiter, login_manager, sign_in_attempts_per_address, sign_in_attempts_per_username,
                        sign_in_attempts_per_device_burst, sign_in_attempts_per_username_burst,
                        sign_in_failures_per_address, sign_in_failures_per_device)
from models import User
from workflows.transaction import write_transaction
from web import bp
from web.forms import ChangePasswordForm, LoginForm, form_page, without_autofocus

log = logging.getLogger("accord.security")
login_manager.login_view = "web.login"
login_manager.login_message = "Please sign in to see this page."
login_manager.login_message_category = "info"
# "basic" (Flask-Login's default), not "strong": "strong" ended a sign-in whenever the address or
# the browser's User-Agent changed (office network to VPN, a browser updating itself), losing a form
# being sent, and read the address from a raw X-Forwarded-For that anyone can write. A sign-in is
# a server-side record (start_session) that sign-out, a new password or closing the account ends.
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the signed-in user, if their web session is still live."""
    if not user_id.isdigit():
        return None
    return user_for_session(db.session, int(user_id), session.get("sid"),
                            lifetime=session_lifetime(current_app.config))


@login_manager.unauthorized_handler
def sign_in_first():
    """Send a person who is not signed in to the sign-in form, saying why if their sign-in ended."""
    ended = session.pop("sid", None) is not None  # signed in once: ended by time, elsewhere or by a new password
    message = "Your sign-in has ended; please sign in again." if ended else login_manager.login_message
    if request.method in ("GET", "HEAD"):
        flash(message, "info")
        return redirect(login_url(login_manager.login_view, request.url))
    # A form sent after the sign-in ended: after signing in, back to the page it came from (a
    # form's address answers only POST), and the person told that it was not saved.
    flash(f"{message} What you sent was not saved; send it again after signing in.", "error")
    return redirect(login_url(login_manager.login_view, request.referrer or url_for("web.dashboard")))


@bp.app_errorhandler(CSRFError)
def form_expired(err: CSRFError):
    """Answer a form whose CSRF token is missing or no longer matches: sent from a tab opened
    before the person signed out, in or changed their password, or left open past its time.

    Nothing was saved. A signed-in person goes back to the page the form was on, loaded afresh;
    anyone else signs in first, and then goes back there. (Werkzeug's "The CSRF session token is
    missing" told them neither what happened nor what to do.)
    """
    # (Logged: a form refused here, and sent nowhere, had left no trace at all.)
    log.warning("form refused on %s %r: %s, for %s from %s", request.method, request.path, err.description,
                current_user.username if current_user.is_authenticated else "-", request.remote_addr)
    back = _same_site_referrer()
    message = "The form was not accepted: its page had been open since before you last signed in or out, or too long."
    if current_user.is_authenticated:
        flash(f"{message} Nothing was saved; the page is loaded afresh, so send it again.", "error")
        return redirect(back)
    flash(f"{message} Nothing was saved; sign in, then send it again.", "error")
    return redirect(login_url(login_manager.login_view, back))


def _same_site_referrer() -> str:
    """Return the path of the page the request came from, if it is a page of this site, else the dashboard."""
    parts = urlsplit(request.referrer or "")
    if parts.netloc != request.host:
        return url_for("web.dashboard")
    return _safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


@bp.route("/login", methods=["GET", "POST"])
@sign_in_failures_per_address
@sign_in_attempts_per_address
@sign_in_attempts_per_username_burst
@sign_in_attempts_per_username
@sign_in_attempts_per_device_burst
@sign_in_failures_per_device
def login():
    """Show the sign-in form and sign a person in."""
    if current_user.is_authenticated:  # (signed in meanwhile, in another tab: on to where this one was going)
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = user_named(db.session, form.username.data.strip())
        if verify_password(user.password_hash if user else None, form.password.data) and user.active:
            try:
                with write_transaction(db.session) as tx:
                    sid = start_session(tx, user, verified=user.password_hash)
            except AccountError:  # the password was changed, or the account closed, meanwhile
                log.warning("web sign-in for %r from %s refused: its password or status changed during the check",
                            form.username.data, request.remote_addr)
            else:
                session.clear()
                session["sid"] = sid
                login_user(user)
                return remember_device(redirect(_safe_next(request.args.get("next"))), user.username)
        log.warning("failed web sign-in for %r from %s", form.username.data, request.remote_addr)
        flash("Wrong username or password.", "error")
        return render_template("login.html", form=without_autofocus(form)), 401
    return form_page("login.html", form, 400 if form.errors else 200)


def _safe_next(target: str | None) -> str:
    """Return where to go after signing in: `target` if it is a path on this site, else the dashboard.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, and Werkzeug
    tidies the Location header the same way, so a link's "/%09/evil.example" would leave as
    "//evil.example", another site: a path with any of them, or a control character, is refused.
    """
    if (not target or any(c <= " " or c in "\\\x7f" for c in target)
            or not target.startswith("/") or target.startswith("//")):
        return url_for("web.dashboard")
    return target  # a single slash first: a path on this site, with no scheme or host


@bp.post("/logout")
def logout():
    """End this web session for good, so that a copied cookie does not outlive it (or, when it has
    ended already, simply forget it: signing out is what the person asked for)."""
    if current_user.is_authenticated:
        with write_transaction(db.session) as tx:
            end_sessions(tx, current_user.id, session.get("sid"))
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("web.login"))


def _user_password_limit() -> str:
    return current_app.config["ACCORD_LOGIN_USER_RATE_LIMIT"]


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_user_password_limit, methods=["POST"], key_func=lambda: f"password-check:{current_user.id}",
               deduct_when=lambda response: g.get("accord_wrong_password", False),
               error_message="Too many wrong current passwords; wait, and try again later.")
def password():
    """Change one's password, which signs out every session and revokes every token.

    Wrong current passwords count against the person's limit of failed sign-ins
    (ACCORD_LOGIN_USER_RATE_LIMIT): one who finds a session left open may not guess on and on.
    """
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current.data):
            g.accord_wrong_password = True
            form.current.errors.append("This is not your current password.")
        else:
            try:
                with write_transaction(db.session) as tx:
                    me = current_user._get_current_object()
                    change_password(tx, me, form.new.data, actor=me)
            except AccountError as err:
                form.new.errors.append(str(err))
            else:
                logout_user()
                session.clear()
                flash("Your password has been changed; please sign in again.", "info")
                return redirect(url_for("web.login"))
    return form_page("password.html", form)
