"""flask users create | token | revoke-tokens | deactivate | activate."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from accounts.checks import gaps, new_warnings
from accounts.errors import AccountError
from accounts.service import activate_user, create_user, deactivate_user, ensure_roles
from accounts.sign_in import expires_at, issue_token, revoke_tokens, user_named
from config import token_lifetime
from extensions import db
from models import User
from workflows.transaction import write_transaction

users = AppGroup("users", help="Manage users and their API tokens.")


def _user(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"No user named '{username}'.")
    return user


@users.command("create")
@click.argument("username")
@click.option("--password", default=None, help="The initial password (asked for, unseen, when left out).")
@click.option("--role", "roles", multiple=True, required=True, help="A role; repeat for several.")
@click.option("--department", required=True, help="The department (created if new).")
@click.option("--name", "full_name", default=None, help="The person's full name.")
@click.option("--email", default=None, help="Where notifications go.")
def create(username, password, roles, department, full_name, email) -> None:
    """Create a user."""
    if password is None:
        # Asked for, unseen and twice: given on the command line, it shows in `ps` to every local
        # user and stays in the shell's history. Asked once the rest is known to be right (the
        # options given, the name free), not typed twice for nothing; and outside the write
        # transaction, which would hold every writer back while it is typed.
        if (taken := user_named(db.session, username.strip())) is not None:
            raise click.ClickException(f"A user named '{taken.username}' already exists.")
        db.session.rollback()
        password = click.prompt("Initial password", hide_input=True, confirmation_prompt=True)
    try:
        with write_transaction(db.session) as session:
            ensure_roles(session)
            before = gaps(None)
            user = create_user(session, username, password, list(roles), department, full_name, email)
    except AccountError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Created user {user.username} ({', '.join(sorted(user.role_names))}) in {user.department.name}.")
    for message in new_warnings(before, user):  # (what waited for no one and is theirs now is mailed to them)
        click.echo(f"Warning: {message}")


@users.command("token")
@click.argument("username")
def token(username) -> None:
    """Issue an API token; it is printed alone on the last line."""
    # Each command reads its user inside its write transaction: read first and written after
    # another's commit, SQLite refused the write ("database is locked").
    with write_transaction(db.session) as session:
        user = _user(session, username)
        if not user.active:
            raise click.ClickException(f"{username} is deactivated: a token of theirs would be refused.")
        value = issue_token(session, user)
    ends = expires_at(token_lifetime(current_app.config))
    click.echo(f"Token for {username}, valid {f'until {ends:%Y-%m-%d %H:%M} UTC' if ends else 'until revoked'}"
               " (store it now; it cannot be shown again):")
    click.echo(value)


@users.command("revoke-tokens")
@click.argument("username")
def revoke(username) -> None:
    """Revoke every API token of a user."""
    with write_transaction(db.session) as session:
        count = revoke_tokens(session, _user(session, username))
    click.echo(f"Revoked {count} token(s) of {username}.")


@users.command("deactivate")
@click.argument("username")
def deactivate(username) -> None:
    """Close a user's account: they can no longer sign in, their web sessions end and their API
    tokens are revoked (so that reopening it later does not bring an old token back); their
    requests and their place in the audit trail stay."""
    with write_transaction(db.session) as session:
        user = _user(session, username)
        if not user.active:
            click.echo(f"{username}'s account was already deactivated: nothing changed.")
            return
        before = gaps(user, user.department_id)
        count = deactivate_user(session, user)
    click.echo(f"Deactivated {username}: web sessions ended, {count} token(s) revoked.")
    for message in new_warnings(before, user, user.department_id):  # (as the Users page tells it)
        click.echo(f"Warning: {message}")


@users.command("activate")
@click.argument("username")
def activate(username) -> None:
    """Reopen a closed account (they sign in with their password; tokens are issued afresh)."""
    with write_transaction(db.session) as session:
        user = _user(session, username)
        if user.active:
            click.echo(f"{username}'s account was already active: nothing changed.")
            return
        before = gaps(user, user.department_id)
        activate_user(session, user)
    click.echo(f"Activated {username}.")
    for message in new_warnings(before, user, user.department_id):
        click.echo(f"Warning: {message}")


def register(app: Flask) -> None:
    app.cli.add_command(users)
