"""Bearer-token authentication for the API."""
from __future__ import annotations

import logging
from functools import wraps

from flask import current_app, g, make_response, request

from accounts.devices import remember_device
from accounts.errors import AccountError
from accounts.passwords import verify_password
from accounts.sign_in import expires_at, issue_token, user_for_token, user_named
from api import bp
from api.errors import error_response
from api.parse import parse
from api.schemas import TokenArgs
from config import token_lifetime
from extensions import (db, sign_in_attempts_per_address, sign_in_attempts_per_username,
                        sign_in_attempts_per_device_burst, sign_in_attempts_per_username_burst,
                        sign_in_failures_per_address, sign_in_failures_per_device)
from workflows.transaction import write_transaction

log = logging.getLogger("accord.security")


def token_required(view):
    """Require a valid bearer token; the user is then in g.api_user."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        refused = authenticate()
        if refused is not None:
            return refused
        return view(*args, **kwargs)

    wrapper.accord_token_required = True
    return wrapper


def authenticate():
    """Put the user of the request's bearer token in g.api_user; or return the 401 answer."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = (user_for_token(db.session, token.strip(), lifetime=token_lifetime(current_app.config))
            if scheme.lower() == "bearer" else None)
    if user is None:
        return error_response(401, "Send a valid token: Authorization: Bearer <token>"
                              " (an expired or revoked one is refused: ask for a new one).",
                              headers={"WWW-Authenticate": "Bearer"})
    g.api_user = user
    return None


def refusal_of_unauthenticated():
    """Return the 401 answer if the request is for an API view that takes a token and its token is
    not valid; else None. For the checks that answer before the view: a caller without a valid
    token learns that first, not what the address or its query names (an id too large, a NUL)."""
    view = current_app.view_functions.get(request.endpoint)
    return authenticate() if getattr(view, "accord_token_required", False) else None


@bp.post("/auth/token")
@sign_in_failures_per_address
@sign_in_attempts_per_address
@sign_in_attempts_per_username_burst
@sign_in_attempts_per_username
@sign_in_attempts_per_device_burst
@sign_in_failures_per_device
def create_token():
    """Exchange a username and password for an API token.
    ---
    post:
      summary: Issue an API token
      security: []
      requestBody:
        required: true
        content:
          application/json:
            schema: TokenArgs
      responses:
        200:
          description: A new token
          content:
            application/json:
              schema: TokenSchema
        400: {$ref: '#/components/responses/Error'}
        401: {$ref: '#/components/responses/Error'}
        422: {$ref: '#/components/responses/Error'}
    """
    args = parse(TokenArgs)
    user = user_named(db.session, args["username"])
    if not verify_password(user.password_hash if user else None, args["password"]) or not user.active:
        log.warning("failed API sign-in for %r from %s", args["username"], request.remote_addr)
        return error_response(401, "Wrong username or password.")
    try:
        with write_transaction(db.session) as session:
            token = issue_token(session, user, verified=user.password_hash)
    except AccountError as err:  # the password was changed, or the account closed, meanwhile
        log.warning("API sign-in for %r from %s refused: its password or status changed during the check",
                    args["username"], request.remote_addr)
        return error_response(401, str(err))
    ends = expires_at(token_lifetime(current_app.config))
    # A token is a credential: no cache on the way may keep it (RFC 6749, 5.1).
    response = make_response({"token": token, "expires_at": ends.isoformat(timespec="seconds") + "Z" if ends else None},
                             200, {"Cache-Control": "no-store"})
    return remember_device(response, user.username)
