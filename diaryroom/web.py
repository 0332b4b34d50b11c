"""Blueprints, error pages and the few app-wide routes (home, health, signed media)."""
from __future__ import annotations

import logging

from flask import Flask, abort, jsonify, redirect, render_template, request, send_file, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .adapters import get_storage
from .auth import PUBLIC, allow, current_principal
from .auth.principal import wants_json
from .errors import Conflict, DiaryRoomError, InvalidInput, NotFound
from .storage import LocalStorage, NoSuchObject

log = logging.getLogger(__name__)


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
    return jsonify(status="ok")


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
    return 500


def error_response(status: int, code: str, message: str):
    if wants_json():
        return jsonify(error={"code": code, "message": message}), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    from kiosk import bp as kiosk_bp
    from podcast import bp as podcast_bp

    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth.views import bp as auth_bp
    from .extensions import csrf
    from .review import bp as review_bp

    app.add_url_rule("/", "home", home)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/media/<path:key>", "signed_media", signed_media)
    csrf.exempt(api_bp)  # the API takes bearer tokens only, never the session cookie
    for bp in (auth_bp, api_bp, review_bp, admin_bp, kiosk_bp, podcast_bp):
        app.register_blueprint(bp)

    @app.errorhandler(CSRFError)
    def csrf_error(e: CSRFError):
        return error_response(400, "csrf_failed",
                              "This form has expired. Go back, reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        code = (e.name or "error").lower().replace(" ", "_")
        return error_response(e.code or 500, code, e.description or e.name)

    @app.errorhandler(DiaryRoomError)
    def domain_error(e: DiaryRoomError):
        status = _status_for(e)
        if status == 500:
            log.exception("unhandled %s", type(e).__name__)
        return error_response(status, getattr(e, "code", type(e).__name__.lower()), str(e))

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        log.exception("unexpected error")
        return error_response(500, "internal_error",
                              "Something went wrong on our side. Please try again.")

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
            "object-src 'none'; frame-ancestors 'none'; base-uri 'self'")
        if request.path.startswith(("/api/", "/review", "/media", "/admin")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
