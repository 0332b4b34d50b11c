"""Sign in, sign out, change password, personal API tokens."""
from __future__ import annotations

import math
import re
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
from flask.wrappers import Response
from flask_login import login_user, logout_user
from limits import parse

from .. import accounts
from ..domain.roles import ALL_ROLES
from ..errors import InvalidInput
from ..extensions import limiter
from ..models import User
from .access import PUBLIC, allow
from .principal import current_principal

bp = Blueprint("auth", __name__, url_prefix="/auth")
EVERY_USER = ALL_ROLES
# A path, query and fragment made only of the characters a URL may hold unencoded: no
# spaces, controls (a CR/LF would split the Location header), backslashes or quotes.
SAFE_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&()*+,;=:@/?%#]*")


def _client_failure_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_failure_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _too_many_failures() -> str:
    windows = [parse(current_app.config[name]).get_expiry()
               for name in ("LOGIN_RATE_LIMIT", "LOGIN_ACCOUNT_RATE_LIMIT")]
    minutes = max(1, math.ceil(max(windows) / 60))
    return ("Too many sign-in attempts have failed, for this account or from this network. "
            f"Wait {minutes} minute{'s' if minutes != 1 else ''} and try again, or ask an "
            "admin for help.")


def _account_key() -> str:
    return "account:" + request.form.get("email", "").strip().lower()[:254]


def _failed(response: Response) -> bool:
    """Only a wrong email or password counts towards the sign-in limits."""
    return response.status_code == 401


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a same-site relative path, else None: so a crafted link cannot
    bounce staff elsewhere, nor put a line break into the redirect.

    >>> safe_next("/review/?status=flagged")
    '/review/?status=flagged'
    >>> [safe_next(t) for t in ("//evil.example", "/\\\\evil", "/a\\r\\nb", "http:/x")]
    [None, None, None, None]
    """
    if (target and SAFE_PATH.fullmatch(target) and not target.startswith("//")
            and not urlparse(target).netloc and not urlparse(target).scheme):
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
# Failed attempts are counted per client address and per account, never successes: a
# lockout of one address or one account leaves everyone else able to sign in.
@limiter.limit(_client_failure_limit, methods=["POST"], deduct_when=_failed,
               error_message=_too_many_failures)
@limiter.limit(_account_failure_limit, methods=["POST"], key_func=_account_key,
               deduct_when=_failed, error_message=_too_many_failures)
def login():
    if request.method == "POST":
        user = accounts.authenticate(request.form.get("email", ""),
                                     request.form.get("password", ""))
        if user is None:
            flash("That email and password do not match an account.", "error")
            return render_template("auth/login.html"), 401
        next_url = (url_for("auth.change_password") if user.must_change_password
                    else safe_next(request.args.get("next")) or url_for("home"))
        _sign_in_again(user)
        return redirect(next_url)
    return render_template("auth/login.html")


@bp.route("/logout", methods=["POST"])
@allow(*EVERY_USER)
def logout():
    principal = current_principal()
    if not principal.via_token:
        # A session cookie copied before now must not outlive the sign-out, and the cookie
        # cannot be taken back: so every session of the account ends, on every device.
        accounts.end_sessions(principal.user)
    logout_user()
    session.clear()
    flash("You have signed out, here and on any other device signed in as you.", "info")
    return redirect(url_for("auth.login"))


def _sign_in_again(user: User) -> None:
    """A new session cookie for this browser, carrying the account's current session
    version (and nothing from the session before it: no fixation)."""
    session.clear()
    login_user(user)
    session.permanent = True


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
        if not principal.via_token:
            _sign_in_again(principal.user)  # other devices are signed out; this one stays
        flash("Your password has been changed. Any other device signed in as you has been "
              "signed out.", "info")
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
