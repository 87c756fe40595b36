"""Every API error as JSON: {"error", "message", "errors"?}, never an HTML page or a traceback."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from api.parse import BodyRefused
from models.liveness import said, unreachable
from workflows.errors import WorkflowError
from workflows.transaction import COMMIT_STATE

log = logging.getLogger("accord.api")
web_log = logging.getLogger("accord.web")

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
         415: "unsupported_media_type", 422: "validation_failed", 429: "too_many_requests",
         500: "internal_error", 503: "unavailable"}
#: What a request is answered when the database does not answer.
UNAVAILABLE = "Accord cannot reach its database just now; nothing was changed. Try again in a minute."
#: ... and when every connection to it is in use (the pool waited its pool_timeout in vain).
BUSY = "Accord is too busy to answer just now; nothing was changed. Try again in a minute."
#: ... and when the request had sent its changes to be saved: whether they were is not known.
UNCERTAIN = ("Accord lost its database while saving what you sent: it may or may not have been saved. "
             "Look at the request again in a minute, before you send anything twice.")
#: ... and when they were saved, and what failed came after (the answer, a message to send).
SAVED = ("What you sent was saved, but Accord could not show the result just now. Look at the request "
         "again in a minute; do not send it again.")


def error_response(status: int, message: str, code: str | None = None, errors: dict | None = None,
                   headers=None, **extra):
    """Return the API's JSON error response."""
    body = {"error": code or CODES.get(status, "error"), "message": message, **extra}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    if headers:
        response.headers.extend(headers)
    return response


def is_api_request() -> bool:
    """Return whether the current request is for the JSON API."""
    return request.path.startswith("/api/")


PAGE_MESSAGES = {
    401: "Please sign in.", 403: "You may not do this.", 404: "There is no such page, or you may not see it.",
    405: "This action is not available here.", 413: "What you sent is too large.",
    415: "Send the form as its page sends it: Accord takes no files, and its pages take no JSON.",
    429: "Too many attempts; wait a minute and try again.", 500: "Something went wrong on our side.",
}
API_MESSAGES = {404: "No such resource.", 405: "This method is not allowed here.",
                413: "The request is too large.", 401: "Sign in with a bearer token."}


def register(app: Flask) -> None:
    """Answer errors with JSON under /api and with a plain page elsewhere, never a traceback."""

    @app.errorhandler(WorkflowError)
    def workflow_error(err: WorkflowError):
        if not is_api_request():
            return render_template("error.html", status=err.status, message=err.message), err.status
        body = err.to_dict()
        return error_response(err.status, code=body.pop("error"), **body)

    @app.errorhandler(ValidationError)
    def validation_error(err: ValidationError):
        return error_response(422, "Some fields are not valid.", "validation_failed", err.messages)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        status = err.code or 500
        if not is_api_request():
            message = err.description if status in (400, 429) else PAGE_MESSAGES.get(status, err.description)
            return render_template("error.html", status=status, message=message), status
        headers = {}
        if status == 405 and getattr(err, "valid_methods", None):
            headers["Allow"] = ", ".join(sorted(err.valid_methods))
        message = API_MESSAGES.get(status) or err.description or "Request refused."
        if status == 400 and request.mimetype == "application/json" and not isinstance(err, BodyRefused):
            message = "The request body is not valid JSON."
        return error_response(status, message, headers=headers)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(err: DBAPIError):
        # The database did not answer (stopped, unreachable, restarting; SQLite's file locked):
        # every request failed with a bare 500 and three tracebacks, the error page itself failing
        # as it asked who was signed in. One line is logged, and the answer says to try again;
        # the transaction was rolled back, so nothing was changed. A statement refused (a
        # deadlock, an unknown column) is a fault, answered and logged as one.
        if not unreachable(err):
            return unexpected(err)
        return unavailable("database unavailable", said(err), UNAVAILABLE)

    @app.errorhandler(PoolTimeout)
    def pool_exhausted(err: PoolTimeout):
        # Every connection the pool may open was in use for pool_timeout seconds: an overload to
        # wait out, like a database that does not answer, not a fault with a traceback.
        return unavailable("database busy", str(err).splitlines()[0], BUSY)

    def unavailable(what: str, detail: str, message: str):
        (log if is_api_request() else web_log).error("%s on %s %r: %s", what, request.method, request.path, detail)
        # Sent or saved, the request is not one to send again after a while (a case made twice).
        commit = request.environ.get(COMMIT_STATE)
        message = {"sent": UNCERTAIN, "saved": SAVED}.get(commit, message)
        headers = {} if commit else {"Retry-After": "30"}
        if is_api_request():
            return error_response(503, message, headers=headers)
        return app.jinja_env.get_template("unavailable.html").render(message=message), 503, headers

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        if isinstance(err, HTTPException):
            return http_error(err)
        (log if is_api_request() else web_log).exception("unexpected error on %s %r", request.method, request.path)
        if not is_api_request():
            return render_template("error.html", status=500, message=PAGE_MESSAGES[500]), 500
        return error_response(500, "Something went wrong on our side; it has been logged.")
