"""Which address a request came from, when the app sits behind reverse proxies.

Rate limits are keyed by client address. Behind a proxy every request arrives from the
proxy, so the address must come from ``X-Forwarded-For`` - but only the hops we were told
to trust (DIARYROOM_TRUSTED_PROXIES), since anyone can send that header. With none trusted
(the default) the header is ignored and the socket's address is the client.
"""
from __future__ import annotations

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        # Each trusted proxy appends one address; ProxyFix takes the one the outermost
        # trusted proxy saw, so entries a client wrote itself further left are ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def client_address() -> str:
    """The client's address as far as we can trust it: the key for per-client limits."""
    return request.remote_addr or "unknown"
