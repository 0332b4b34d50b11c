"""The kiosk: pairing a device and (with the kiosk issue) the recording flow."""
from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from diaryroom.auth import KIOSK, PUBLIC, allow, current_principal
from diaryroom.auth.principal import KIOSK_COOKIE, principal_for_token

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
COOKIE_AGE = 365 * 24 * 3600  # seconds: a paired kiosk stays paired until revoked


@bp.route("/pair", methods=["GET", "POST"])
@allow(PUBLIC)
def pair():
    """Staff open the pairing link on the device; the token arrives in the URL fragment
    (never sent to or logged by the server) and the page posts it here."""
    if request.method == "POST":
        token = request.form.get("token", "").strip()
        principal = principal_for_token(token) if token else None
        if principal is None or principal.kind != "kiosk":
            flash("That pairing code is not valid or has been revoked.", "error")
            return render_template("kiosk/pair.html"), 401
        response = make_response(redirect(url_for("kiosk.home")))
        response.set_cookie(KIOSK_COOKIE, token, max_age=COOKIE_AGE, httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"],
                            samesite="Strict", path="/")
        return response
    return render_template("kiosk/pair.html")


@bp.get("/")
@allow(KIOSK)
def home():
    return render_template("kiosk/home.html", kiosk=current_principal().kiosk)
