"""Security headers, error pages and the routes outside the blueprints."""
from __future__ import annotations

import logging

from flask import Flask, abort, request
from flask_login import current_user
from flask_talisman import Talisman

from web import nav, scoring
from workflows.fields import MAX_ROW_ID

#: Methods that send no form.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


log = logging.getLogger("accord.security")

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def init_app(app: Flask) -> None:
    """Attach headers, error handlers and the OpenAPI route to the app."""
    from api import errors as api_errors
    from api.openapi import openapi_bp

    production = app.config["ACCORD_ENV"] == "production"
    # Production always sends cookies over HTTPS only; elsewhere the configuration decides.
    app.config["SESSION_COOKIE_SECURE"] = production or bool(app.config.get("SESSION_COOKIE_SECURE"))
    talisman = Talisman(
        app,
        content_security_policy=CSP,
        force_https=production and app.config.get("ACCORD_FORCE_HTTPS", True),
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        strict_transport_security=production,
        frame_options="DENY",
        referrer_policy="same-origin",
    )
    # A load balancer asks for /healthz over plain HTTP behind the TLS it ends, and takes a
    # redirect to HTTPS for a failure: it is answered where it asks (it shows nothing private).
    from web.pages import healthz

    talisman(force_https=False)(healthz)
    app.register_blueprint(openapi_bp)
    nav.init_app(app)
    scoring.init_app(app)
    api_errors.register(app)

    @app.before_request
    def refuse_nul_in_query():
        # PostgreSQL cannot store or compare text holding NUL: refuse it before any query sees it.
        bad = sorted({key for key, value in request.args.items(multi=True) if "\x00" in key + value})
        if bad:
            from api.auth import refusal_of_unauthenticated
            from api.errors import error_response, is_api_request

            if is_api_request():
                if (unauthenticated := refusal_of_unauthenticated()) is not None:
                    return unauthenticated
                return error_response(422, "Text must not contain NUL characters.", "validation_failed",
                                      {key.replace("\x00", ""): ["Must not contain NUL characters."] for key in bad})
            abort(400)

    @app.before_request
    def refuse_uploads():
        # Accord takes no files: a form sent as multipart/form-data with a file where text belongs
        # (a password) reached the form's validators as a file object, and answered 500. Nor do its
        # pages' forms take JSON: Flask-WTF reads a JSON body as the form, and a number where text
        # belongs (a title, a comment) answered 500 as well.
        # (A GET that names JSON as its type, as some monitors send, has no form to read.)
        from api.errors import error_response, is_api_request

        if request.mimetype == "multipart/form-data":
            if is_api_request():
                return error_response(415, "Send JSON (application/json); Accord takes no files.")
            abort(415)
        if request.is_json and request.method not in SAFE_METHODS and not is_api_request():
            abort(415)

    @app.before_request
    def refuse_impossible_ids():
        # An id beyond a database integer names nothing: answer 404 before any query overflows.
        if any(isinstance(v, int) and not 0 <= v <= MAX_ROW_ID for v in (request.view_args or {}).values()):
            from api.auth import refusal_of_unauthenticated

            if (unauthenticated := refusal_of_unauthenticated()) is not None:
                return unauthenticated
            abort(404)

    @app.after_request
    def kept_by_no_cache(response):
        # A case's page, its JSON, the report's files: private, and not to be kept by a browser's
        # cache or a proxy, where the next person at a shared computer would find them (the static
        # files, the same for everyone, keep their own rules).
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.after_request
    def log_refusals(response):
        # (A sign-in refused is logged by its view, with the name it gave: not twice.)
        if response.status_code in (401, 403, 429) and not (
                response.status_code == 401 and request.endpoint in ("web.login", "api.create_token")):
            user = current_user.username if getattr(current_user, "is_authenticated", False) else "-"
            # (The path as a repr: a line break written into it, %0a, would forge a line of the log.)
            log.warning("refused %s %r -> %s for %s from %s", request.method, request.path,
                        response.status_code, user, request.remote_addr)
        return response
