"""Admin pages: accounts and kiosks of the admin's own organisation."""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from . import accounts
from .auth import allow, current_principal
from .domain.roles import ALL_ROLES, Role
from .errors import InvalidInput

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users", methods=["GET", "POST"])
@allow(Role.ADMIN)
def users():
    created = None
    if request.method == "POST":
        try:
            user, password = accounts.create_user(current_principal().org_id,
                                                  request.form.get("email", ""),
                                                  request.form.get("role", ""))
            created = (user.email, password)
        except InvalidInput as e:
            flash(str(e).capitalize() + ".", "error")
    return render_template("admin/users.html", users=accounts.list_users(), roles=ALL_ROLES,
                           created=created)


@bp.route("/kiosks", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.STAFF)
def kiosks():
    paired = None
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        if not name:
            flash("Give the kiosk a name, for example 'Diary room, ground floor'.", "error")
        else:
            kiosk, token = accounts.pair_kiosk(current_principal().org_id, name)
            paired = (kiosk.name, token, accounts.issue_pairing_code(kiosk))
    return render_template("admin/kiosks.html", kiosks=accounts.list_kiosks(), paired=paired)


@bp.post("/kiosks/<int:kiosk_id>/revoke")
@allow(Role.ADMIN, Role.STAFF)
def revoke_kiosk(kiosk_id: int):
    accounts.revoke_kiosk(kiosk_id)
    flash("The kiosk has been unpaired; it can no longer send recordings.", "info")
    return redirect(url_for("admin.kiosks"))
