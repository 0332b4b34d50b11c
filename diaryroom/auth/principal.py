"""Find out who is asking, scope the request to their organisation, enforce access."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import Unauthorized

from .. import tenancy
from ..extensions import db, login_manager
from ..models import ApiToken, Kiosk, User, hash_token, utcnow
from .access import declared_access, is_machine_view, permits

log = logging.getLogger(__name__)
KIOSK_COOKIE = "diaryroom_kiosk"
# Writing last-used times on every request would turn reads into writes; once a
# few minutes is enough to tell an admin whether a token is still in use.
LAST_USED_EVERY = dt.timedelta(minutes=5)
# Pages a user who must choose a new password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {"auth.change_password", "auth.logout"}


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" or "kiosk"
    org_id: int
    user: User | None = None
    kiosk: Kiosk | None = None
    via_token: bool = False

    @property
    def role(self) -> str | None:
        return self.user.role if self.user else None

    @property
    def id(self) -> int:
        return self.user.id if self.user else self.kiosk.id  # type: ignore[union-attr]


def current_principal() -> Principal | None:
    return g.get("principal")


def _touch(row: ApiToken | Kiosk, attr: str) -> None:
    last = getattr(row, attr)
    if last is None or utcnow() - last > LAST_USED_EVERY:
        setattr(row, attr, utcnow())
        db.session.commit()


def principal_for_token(token: str) -> Principal | None:
    """A live API or kiosk token's principal, or None. Lookup is by hash only."""
    digest = hash_token(token)
    with tenancy.unscoped():
        if token.startswith(ApiToken.PREFIX):
            row = db.session.scalar(select(ApiToken).where(
                ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)))
            if row is None or not row.user.active:
                return None
            _touch(row, "last_used_at")
            return Principal("user", row.org_id, user=row.user, via_token=True)
        if token.startswith(Kiosk.PREFIX):
            kiosk = db.session.scalar(select(Kiosk).where(
                Kiosk.token_hash == digest, Kiosk.revoked_at.is_(None)))
            if kiosk is None:
                return None
            _touch(kiosk, "last_seen_at")
            return Principal("kiosk", kiosk.org_id, kiosk=kiosk, via_token=True)
    return None


def load_session_user(session_id: str) -> User | None:
    """The signed-in user of a session cookie, if the session is still current.

    The cookie carries ``"<user id>:<session version>"`` (``User.get_id``). A cookie
    from before a sign-out, a password or role change, or a deactivation names an older
    version and is refused, however validly it is signed.
    """
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None  # a session from before versions existed: sign in again
    with tenancy.unscoped():
        user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def _resolve() -> Principal | None:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use the header 'Authorization: Bearer <token>'")
        principal = principal_for_token(token.strip())
        if principal is None:
            raise Unauthorized("this token is not valid or has been revoked")
        return principal
    if _is_api_request():
        return None  # the API is exempt from CSRF, so cookies must not authenticate there
    if current_user.is_authenticated:
        return Principal("user", current_user.org_id, user=current_user._get_current_object())
    cookie = request.cookies.get(KIOSK_COOKIE)
    if cookie and cookie.startswith(Kiosk.PREFIX):
        return principal_for_token(cookie)
    return None


def _is_api_request() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def wants_json() -> bool:
    """The API and machine views (kiosk JSON and tus) answer errors in JSON."""
    view = current_app.view_functions.get(request.endpoint or "")
    return (_is_api_request() or is_machine_view(view) or request.is_json
            or request.accept_mimetypes.best == "application/json")


def authenticate_and_enforce():
    g.principal = principal = _resolve()
    if principal is not None:
        g.org_token = tenancy.set_org(principal.org_id)
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static" or endpoint.endswith(".static"):
        return None
    declared = declared_access(current_app.view_functions.get(endpoint))
    if declared is None:
        log.error("route %s declares no access; refusing it", endpoint)
        abort(403)
    if not permits(declared, principal.kind if principal else None,
                   principal.role if principal else None):
        if principal is None:
            if wants_json():
                raise Unauthorized("sign in with an API token, or pair this kiosk again")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)
    if (principal and principal.user and not principal.via_token
            and principal.user.must_change_password
            and endpoint not in PASSWORD_CHANGE_ENDPOINTS):
        return redirect(url_for("auth.change_password"))
    return None


def reset_org(_exc: BaseException | None = None) -> None:
    token = g.pop("org_token", None)
    if token is not None:
        tenancy.reset(token)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    login_manager.user_loader(load_session_user)

    app.before_request(authenticate_and_enforce)
    app.teardown_request(reset_org)
