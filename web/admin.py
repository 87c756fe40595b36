"""The administrators' pages for the people of Accord: the list of users, adding one, and editing
one (details and roles, closing or reopening the account, a new password).

Each change runs a function of accounts.service, as `flask users` does, in a write transaction,
and is logged on "accord.security" with the administrator who made it.
"""
from __future__ import annotations

import logging
from math import ceil

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager

from accounts.checks import gaps, new_warnings
from accounts.errors import AccountChanged, AccountError
from accounts.service import (account_chain, activate_user, change_password, create_user, deactivate_user, details_seen,
                              update_user)
from extensions import db
from models import AuditEvent, Department, Role, User
from web import bp
from web.admin_forms import (NEW_DEPARTMENT, AccountStatusForm, NewUserForm, SetPasswordForm, UserDetailsForm,
                             UserFilterForm)
from web.forms import form_page, refused, whole_number
from workflows.errors import Forbidden, NotFound
from workflows.presenters import change_lines
from workflows.transaction import write_transaction

log = logging.getLogger("accord.security")

#: How many users a page of the list shows.
PER_PAGE = 50
#: What a person who is not an administrator is told on these pages.
WHO_MAY = "Only administrators may manage users: ask one of them to make the change."


def _warn(before: list, user, *department_ids: int) -> None:
    """Flash the warnings the change brought (accounts.checks)."""
    for message in new_warnings(before, user, *department_ids):
        flash(message, "warning")


def _admin_only() -> None:
    if not current_user.has_role("admin"):
        raise Forbidden(WHO_MAY)


def _actor() -> User:
    return current_user._get_current_object()


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    return user


def _roles() -> list[Role]:
    """Every role of the roles table, in the order they were made (the README's)."""
    return list(db.session.scalars(select(Role).order_by(Role.id)))


def _departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(func.lower(Department.name), Department.id)))


def _titles(names, roles: list[Role]) -> str:
    """Name roles by their titles, in the order of the alphabet (as the list shows them)."""
    titles = {r.name: r.title for r in roles}
    return ", ".join(sorted(titles.get(n, n) for n in names))


def _attach(form, err: AccountError) -> None:
    """Show the service's refusal beside the field it names, or above the form if it names none."""
    name = err.field
    if name == "department" and form.department.data == NEW_DEPARTMENT:
        name = "new_department"
    if name and name in form:
        form[name].errors = list(form[name].errors) + [str(err)]
    else:
        flash(str(err), "error")


@bp.get("/admin/users")
@login_required
def admin_users():
    """List the users, filtered by a search and a role, a page at a time."""
    _admin_only()
    roles = _roles()
    form = UserFilterForm(formdata=request.args).set_choices(roles)
    page = request.args.get("page", 1, type=lambda v: whole_number(v, 1_000_000))
    if not form.validate() or page is None:
        if page is None:
            flash("The page number in the address is not valid: it is a whole number from 1 to 1,000,000.", "error")
        return form_page("admin/users.html", form, 422, rows=None)
    q, role = (form.q.data or "").strip(), form.role.data or None
    stmt = select(User).join(User.department)
    if q:
        stmt = stmt.where(or_(User.username.icontains(q, autoescape=True), User.full_name.icontains(q, autoescape=True),
                              User.email.icontains(q, autoescape=True), Department.name.icontains(q, autoescape=True)))
    if role:
        stmt = stmt.where(User.roles.any(Role.name == role))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(stmt.options(contains_eager(User.department))
                              .order_by(func.lower(User.username), User.id)
                              .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    pages = max(1, ceil(total / PER_PAGE))

    def page_url(n: int) -> str | None:
        return (url_for("web.admin_users", q=q or None, role=role, page=n if n > 1 else None)
                if 1 <= n <= pages else None)

    return form_page("admin/users.html", form, rows=rows, total=total, page=page, pages=pages,
                     filtered=bool(q or role), previous_url=page_url(min(page - 1, pages)),
                     next_url=page_url(page + 1))


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required
def admin_new_user():
    """Add a user, with an initial password the administrator hands over."""
    _admin_only()
    roles = _roles()
    form, status = NewUserForm().set_choices(_departments(), roles), None
    if form.validate_on_submit():
        before = gaps(None)
        try:
            with write_transaction(db.session) as tx:
                user = create_user(tx, form.username.data, form.password.data, form.roles.data,
                                   form.department_name(), form.full_name.data, form.email.data, actor=_actor())
        except AccountError as err:
            _attach(form, err)
            status = 422
        else:
            log.info("%s added user %r (%s) in %r", current_user.username, user.username,
                     ", ".join(sorted(user.role_names)), user.department.name)
            flash(f"{user.username} ({_titles(user.role_names, roles)}) has been added in {user.department.name}. "
                  "Give them the initial password yourself, in person or by phone rather than by email, and ask "
                  "them to change it from “Change password” once signed in.", "success")
            _warn(before, user)  # (what waited for no one and is theirs now is mailed to them)
            return redirect(url_for("web.admin_user", user_id=user.id))
    return form_page("admin/user_new.html", form, status)


#: What each event of an account's chain did, as its history says it.
ACCOUNT_ACTIONS = {"account_create": "Account created", "account_edit": "Details changed",
                   "account_deactivate": "Account deactivated", "account_activate": "Account reactivated",
                   "password_set": "A new password was set", "password_change": "Changed their own password"}
#: The account's fields as its form names them.
ACCOUNT_FIELDS = {"username": "Username", "full_name": "Full name", "email": "Email address",
                  "department": "Department", "roles": "Roles"}


def _history(user: User, roles: list[Role]) -> list[dict]:
    """Return the account's audit events, oldest first, each with what it did and the lines of what
    it set ("Roles: City employee → City employee, Department Head")."""
    def shown(name: str, value) -> str:
        return _titles(value, roles) if name == "roles" else str(value)

    events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == account_chain(user))
                                .order_by(AuditEvent.seq))
    history = []
    for e in events:
        lines = change_lines(e.payload, ACCOUNT_FIELDS, shown)
        if e.action == "account_deactivate":
            n = e.payload.get("tokens_revoked", 0)
            lines.append(("API tokens revoked", str(n)))
        history.append({"event": e, "what": ACCOUNT_ACTIONS.get(e.action, e.action), "lines": lines})
    return history


def _details_form(user: User, roles: list[Role], **kwargs) -> UserDetailsForm:
    data = {"full_name": user.full_name, "email": user.email or "", "department": str(user.department_id),
            "roles": sorted(user.role_names), "seen": details_seen(user)}
    return UserDetailsForm(data=data, **kwargs).set_choices(_departments(), roles)


def _edit_page(user: User, roles: list[Role], form: UserDetailsForm | None = None,
               password_form: SetPasswordForm | None = None, status: int = 200):
    """Render a user's page: their details form, the button that closes or reopens the account,
    and the new-password form (each as sent, when it was the one refused)."""
    form = form or _details_form(user, roles, formdata=None)
    password_form = password_form or SetPasswordForm(prefix="pw", formdata=None)
    if status >= 400:
        refused(form, password_form)
    return render_template("admin/user_edit.html", user=user, form=form, password_form=password_form,
                           status_form=AccountStatusForm(prefix="status", formdata=None),
                           is_self=user.id == current_user.id, role_titles=_titles(user.role_names, roles),
                           history=_history(user, roles)), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def admin_user(user_id: int):
    """Show a user and change their name, email address, department and roles."""
    _admin_only()
    user, roles = _user_or_404(user_id), _roles()
    form = _details_form(user, roles)
    if not form.validate_on_submit():
        return _edit_page(user, roles, form, status=422 if form.errors else 200)
    was_in = user.department_id
    before = gaps(user, was_in)
    try:
        with write_transaction(db.session) as tx:
            changes = update_user(tx, user, full_name=form.full_name.data, email=form.email.data,
                                  department_name=form.department_name(), roles=form.roles.data, actor=_actor(),
                                  seen=form.seen.data)
    except AccountChanged as err:
        # Shown as it is now: the fields as sent would put back what the other change changed.
        log.warning("%s was refused changing user %r: changed by another meanwhile", current_user.username,
                    user.username)
        flash(str(err), "error")
        db.session.expire(user)
        return _edit_page(user, roles, status=409)
    except AccountError as err:
        log.warning("%s was refused changing user %r: %s", current_user.username, user.username, err)
        _attach(form, err)
        return _edit_page(user, roles, form, status=422)
    if not changes:
        flash("Nothing was changed: the user is as they were.", "info")
    else:
        log.info("%s changed user %r: %s", current_user.username, user.username, _described(changes))
        flash(f"Changes to {user.username} saved.", "success")
        _warn(before, user, was_in, user.department_id)
    return redirect(url_for("web.admin_user", user_id=user.id))


def _described(changes: dict[str, tuple]) -> str:
    """Say what changed, for the log: roles and department from and to; the rest by name."""
    parts = []
    for name, (before, after) in changes.items():
        if name == "roles":
            added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
            parts.append("roles" + (f" added {', '.join(added)}" if added else "")
                         + (";" if added and removed else "") + (f" removed {', '.join(removed)}" if removed else ""))
        elif name == "department":
            parts.append(f"department {before!r} -> {after!r}")
        elif name == "full_name":
            parts.append(f"full name {before!r} -> {after!r}")
        else:
            parts.append("email address")  # (not written into the log)
    return "; ".join(parts)


@bp.post("/admin/users/<int:user_id>/deactivate")
@login_required
def admin_deactivate_user(user_id: int):
    """Close an account, as `flask users deactivate` does: no sign-in, sessions ended, tokens revoked."""
    _admin_only()
    user, roles = _user_or_404(user_id), _roles()
    AccountStatusForm(prefix="status").validate_on_submit()  # (its CSRF token is checked before the view)
    if not user.active:
        flash(f"{user.username}'s account was already deactivated.", "info")
        return redirect(url_for("web.admin_user", user_id=user.id))
    before = gaps(user, user.department_id)
    try:
        with write_transaction(db.session) as tx:
            count = deactivate_user(tx, user, actor=_actor())
    except AccountError as err:
        log.warning("%s was refused deactivating user %r: %s", current_user.username, user.username, err)
        flash(str(err), "error")
        return _edit_page(user, roles, status=403)
    log.info("%s deactivated user %r: web sessions ended, %d token(s) revoked", current_user.username,
             user.username, count)
    flash(f"{user.username}'s account has been deactivated: they are signed out everywhere and "
          f"{count} API token{'' if count == 1 else 's'} revoked. Their requests and their place in the "
          "audit trail stay.", "success")
    _warn(before, user, user.department_id)
    return redirect(url_for("web.admin_user", user_id=user.id))


@bp.post("/admin/users/<int:user_id>/activate")
@login_required
def admin_activate_user(user_id: int):
    """Reopen a closed account, as `flask users activate` does (tokens are issued afresh)."""
    _admin_only()
    user = _user_or_404(user_id)
    AccountStatusForm(prefix="status").validate_on_submit()
    if user.active:
        flash(f"{user.username}'s account was already active.", "info")
        return redirect(url_for("web.admin_user", user_id=user.id))
    before = gaps(user, user.department_id)
    try:
        with write_transaction(db.session) as tx:
            activate_user(tx, user, actor=_actor())
    except AccountError as err:  # (no longer an administrator: another took the role meanwhile)
        log.warning("%s was refused reactivating user %r: %s", current_user.username, user.username, err)
        flash(str(err), "error")
        return _edit_page(user, _roles(), status=403)
    log.info("%s reactivated user %r", current_user.username, user.username)
    flash(f"{user.username}'s account has been reactivated: they sign in with their password.", "success")
    _warn(before, user, user.department_id)
    return redirect(url_for("web.admin_user", user_id=user.id))


@bp.post("/admin/users/<int:user_id>/password")
@login_required
def admin_set_password(user_id: int):
    """Set a new password for someone, which ends their web sessions and revokes their API tokens."""
    _admin_only()
    user, roles = _user_or_404(user_id), _roles()
    if user.id == current_user.id:
        raise Forbidden("Change your own password from “Change password”, which asks for your current one.")
    form = SetPasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            with write_transaction(db.session) as tx:
                change_password(tx, user, form.password.data, actor=_actor())
        except AccountError as err:
            form.password.errors = list(form.password.errors) + [str(err)]
        else:
            log.info("%s set a new password for user %r: web sessions ended, API tokens revoked",
                     current_user.username, user.username)
            flash(f"{user.username}'s password has been set: they are signed out everywhere and their API tokens "
                  "revoked. Give them the new password yourself, in person or by phone rather than by email.",
                  "success")
            return redirect(url_for("web.admin_user", user_id=user.id))
    return _edit_page(user, roles, password_form=form, status=422)
