"""Sign in, sign out, change password, personal API tokens."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import login_user, logout_user

from .. import accounts
from ..domain.roles import ALL_ROLES
from ..errors import InvalidInput
from ..extensions import limiter
from .access import PUBLIC, allow
from .principal import current_principal

bp = Blueprint("auth", __name__, url_prefix="/auth")
EVERY_USER = ALL_ROLES


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so a crafted link cannot bounce staff elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") \
            and not urlparse(target).netloc:
        return target
    return url_for("home")


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if request.method == "POST":
        user = accounts.authenticate(request.form.get("email", ""),
                                     request.form.get("password", ""))
        if user is None:
            flash("That email and password do not match an account.", "error")
            return render_template("auth/login.html"), 401
        next_url = (url_for("auth.change_password") if user.must_change_password
                    else _safe_next(request.args.get("next")))
        session.clear()  # a fresh session on sign-in (no fixation)
        login_user(user)
        session.permanent = True
        return redirect(next_url)
    return render_template("auth/login.html")


@bp.route("/logout", methods=["POST"])
@allow(*EVERY_USER)
def logout():
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@allow(*EVERY_USER)
def change_password():
    principal = current_principal()
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            flash("The two new passwords are not the same.", "error")
            return render_template("auth/password.html"), 422
        try:
            accounts.change_password(principal.user, request.form.get("current_password", ""),
                                     new)
        except InvalidInput as e:
            flash(str(e).capitalize() + ".", "error")
            return render_template("auth/password.html"), 422
        flash("Your password has been changed.", "info")
        return redirect(url_for("home"))
    return render_template("auth/password.html")


@bp.route("/tokens", methods=["GET", "POST"])
@allow(*EVERY_USER)
def tokens():
    user = current_principal().user
    new_token = None
    if request.method == "POST":
        _, new_token = accounts.issue_api_token(user, request.form.get("name", "").strip())
    return render_template("auth/tokens.html", tokens=accounts.list_api_tokens(user),
                           new_token=new_token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@allow(*EVERY_USER)
def revoke_token(token_id: int):
    accounts.revoke_api_token(current_principal().user, token_id)
    flash("The token has been revoked.", "info")
    return redirect(url_for("auth.tokens"))
