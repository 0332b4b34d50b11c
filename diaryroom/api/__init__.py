"""The JSON API under /api/v1, for the kiosk and for integrations. Bearer tokens only."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import episodes, listeners, publishing, routes  # noqa: E402,F401  (registers routes)
