"""Rate limits shared by the kiosk pages and the API."""
from flask import current_app

from .auth import current_principal
from .extensions import limiter
from .proxy import client_address


def _receipt_limit() -> str:
    return current_app.config["RECEIPT_RATE_LIMIT"]


def _per_device() -> str:
    """Receipt guesses are counted per kiosk, per account, or per address."""
    principal = current_principal()
    if principal is not None:
        return f"{principal.kind}:{principal.id}"
    return client_address()  # through the trusted proxy hops, like sign-in


# One budget for wrong receipt codes, shared by every door (kiosk page and API, look up,
# change, withdraw), so guessing costs the same everywhere. Only misses count: a busy
# kiosk where people type their codes right is never locked out.
receipt_rate = limiter.shared_limit(_receipt_limit, scope="receipts", key_func=_per_device,
                                    deduct_when=lambda response: response.status_code == 404)
