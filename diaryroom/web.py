"""Blueprints, error pages and the few app-wide routes (home, health, signed media)."""
from __future__ import annotations

import logging
import re
import uuid

from flask import (
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .adapters import get_storage
from .auth import PUBLIC, allow, current_principal
from .auth.principal import wants_json
from .errors import (
    ComponentUnavailable,
    Conflict,
    DiaryRoomError,
    Gone,
    InvalidInput,
    NotFound,
    Withdrawn,
)
from .preflight import readiness
from .storage import LocalStorage, NoSuchObject, StorageError

log = logging.getLogger(__name__)
# An id a proxy in front of us chose is kept only if it cannot carry anything odd into logs.
REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
INTERNAL_ERROR = "Something went wrong on our side. Please try again."
UNAVAILABLE = "This service is temporarily unavailable. Please try again in a few minutes."
GONE_MISSING = "That file is not available."
RETRY_AFTER = "30"  # seconds a client is asked to wait after a 503


@allow(PUBLIC)
def home():
    principal = current_principal()
    if principal is None:
        return redirect(url_for("auth.login"))
    if principal.kind == "kiosk":
        return redirect(url_for("kiosk.home"))
    return render_template("home.html", principal=principal)


@allow(PUBLIC)
def healthz():
    """Liveness: the process answers. It looks at nothing else, so it stays cheap."""
    return jsonify(status="ok")


@allow(PUBLIC)
def favicon():
    """The icon browsers ask for at /favicon.ico (pages also name static/favicon.svg)."""
    return current_app.send_static_file("favicon.ico")


@allow(PUBLIC)
def readyz():
    """Readiness: the database, queue and storage answer. Names what is down, never where."""
    checks = readiness(current_app._get_current_object())
    if all(state == "ok" for state in checks.values()):
        return jsonify(status="ready", checks=checks)
    return jsonify(status="unavailable", checks=checks), 503, {"Retry-After": RETRY_AFTER}


def request_id() -> str:
    """This request's id: the caller's X-Request-ID if it is well-formed, else a new one."""
    if "request_id" not in g:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else str(uuid.uuid4())
    return g.request_id


@allow(PUBLIC)
def signed_media(key: str):
    """Serve local media to whoever holds an unexpired signed URL (S3 signs its own)."""
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        abort(404)
    if not storage.verify_signature(key, request.args.get("expires", ""),
                                    request.args.get("sig", "")):
        abort(403)
    return send_file(storage.open(key), mimetype="application/octet-stream",
                     download_name=key.rsplit("/", 1)[-1], max_age=0)


def _status_for(error: DiaryRoomError) -> int:
    if isinstance(error, NotFound | NoSuchObject):
        return 404
    if isinstance(error, InvalidInput):
        return 422
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, ComponentUnavailable | StorageError):
        return 503
    if isinstance(error, Withdrawn | Gone):
        return 410
    return 500


def error_response(status: int, code: str, message: str):
    if wants_json():
        return jsonify(error={"code": code, "message": message}), status
    return render_template("error.html", status=status, message=message), status


def _chain(error: BaseException) -> str:
    """The error and its causes on one log line: an outage needs no traceback, but the
    operator needs the cause (the endpoint that did not answer, say)."""
    parts: list[str] = []
    seen: BaseException | None = error
    while seen is not None and len(parts) < 5:
        parts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return " <- ".join(parts)


def server_error(status: int, code: str, message: str):
    """A 5xx: a generic message and a reference to quote; the details are in the log only
    (exception text can name an internal URL, a bucket or a storage key)."""
    body, status = error_response(status, code, f"{message} (Reference: {request_id()})")
    if status == 503:
        return body, status, {"Retry-After": RETRY_AFTER}
    return body, status


def init_app(app: Flask) -> None:
    from kiosk import bp as kiosk_bp
    from podcast import bp as podcast_bp
    from podcast.feeds.views import bp as feeds_bp
    from podcast.player.views import bp as player_bp

    from .account import bp as account_bp
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth.views import bp as auth_bp
    from .extensions import csrf
    from .review import bp as review_bp

    app.add_url_rule("/", "home", home)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    app.add_url_rule("/media/<path:key>", "signed_media", signed_media)
    csrf.exempt(api_bp)  # the API takes bearer tokens only, never the session cookie
    for bp in (auth_bp, api_bp, review_bp, admin_bp, kiosk_bp, podcast_bp, account_bp,
               player_bp, feeds_bp):
        app.register_blueprint(bp)

    @app.errorhandler(CSRFError)
    def csrf_error(e: CSRFError):
        return error_response(400, "csrf_failed",
                              "This form has expired. Go back, reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        code = (e.name or "error").lower().replace(" ", "_")
        if (e.code or 500) >= 500:
            log.error("HTTP %s [request %s]: %s", e.code, request_id(), e.description)
            return server_error(e.code or 500, code, INTERNAL_ERROR)
        body, status = error_response(e.code or 500, code, e.description or e.name)
        # Keep what the error says besides its words: Retry-After on a 429, Allow on a 405.
        extra = [(k, v) for k, v in e.get_headers() if k.lower() != "content-type"]
        return body, status, extra

    @app.errorhandler(DiaryRoomError)
    def domain_error(e: DiaryRoomError):
        status = _status_for(e)
        if status == 503:
            log.error("unavailable [request %s]: %s", request_id(), _chain(e))
            return server_error(503, "unavailable", UNAVAILABLE)
        if status == 500:
            log.exception("unhandled %s [request %s]", type(e).__name__, request_id())
            return server_error(500, "internal_error", INTERNAL_ERROR)
        if isinstance(e, NoSuchObject):  # its text is the storage key
            log.warning("%s [request %s]", e, request_id())
            return error_response(404, "not_found", GONE_MISSING)
        return error_response(status, getattr(e, "code", type(e).__name__.lower()), str(e))

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        log.exception("unexpected error [request %s]", request_id())
        return server_error(500, "internal_error", INTERNAL_ERROR)

    @app.after_request
    def security_headers(response):
        response.headers["X-Request-ID"] = request_id()
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
            "object-src 'none'; frame-ancestors 'none'; base-uri 'self'")
        if request.path.startswith(("/api/", "/review", "/media", "/admin", "/auth")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
