"""The server-rendered web pages."""
from flask import Blueprint

bp = Blueprint("web", __name__)

from web import admin, auth, cases, pages, scoring  # noqa: E402,F401  (routes register on import)
