"""The kiosk: pairing a device, the recording flow, and its JSON actions."""
from flask import Blueprint

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")

from . import actions, pages  # noqa: E402,F401  (register their routes on bp)
