"""Admin pages: accounts, kiosks and feed links of the admin's own organisation."""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from podcast.publishing import listeners as feed_links

from . import accounts
from .auth import allow, current_principal
from .domain.roles import ALL_ROLES, Role
from .errors import InvalidInput

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users", methods=["GET", "POST"])
@allow(Role.ADMIN)
def users():
    org_id = current_principal().org_id
    created = None
    if request.method == "POST":
        try:
            user, password = accounts.add_account(org_id, request.form.get("email", ""),
                                                  request.form.get("role", ""))
            created = (user.email, password)
        except InvalidInput as e:
            flash(_sentence(e), "error")
    return render_template("admin/users.html", users=accounts.list_users(), roles=ALL_ROLES,
                           created=created, tokens=accounts.list_org_api_tokens(org_id))


def _sentence(error: InvalidInput) -> str:
    return str(error)[:1].upper() + str(error)[1:] + "."


@bp.post("/users/<int:user_id>/deactivate")
@allow(Role.ADMIN)
def deactivate_user(user_id: int):
    principal = current_principal()
    user = accounts.org_user(principal.org_id, user_id)
    try:
        revoked = accounts.deactivate_user(user, by=principal.user)
        flash(f"{user.email} can no longer sign in: their sessions have ended and {revoked} "
              f"API token{'' if revoked == 1 else 's'} {'was' if revoked == 1 else 'were'} "
              "revoked.", "info")
    except InvalidInput as e:
        flash(_sentence(e), "error")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/activate")
@allow(Role.ADMIN)
def activate_user(user_id: int):
    user = accounts.org_user(current_principal().org_id, user_id)
    accounts.activate_user(user)
    flash(f"{user.email} can sign in again. Their old API tokens stay revoked.", "info")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/role")
@allow(Role.ADMIN)
def change_role(user_id: int):
    principal = current_principal()
    user = accounts.org_user(principal.org_id, user_id)
    try:
        accounts.change_role(user, request.form.get("role", ""), by=principal.user)
        flash(f"{user.email} is now {user.role}; they will need to sign in again.", "info")
    except InvalidInput as e:
        flash(_sentence(e), "error")
    return redirect(url_for("admin.users"))


@bp.post("/tokens/<int:token_id>/revoke")
@allow(Role.ADMIN)
def revoke_token(token_id: int):
    accounts.revoke_org_api_token(current_principal().org_id, token_id)
    flash("The API token has been revoked.", "info")
    return redirect(url_for("admin.users"))


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


# -- listeners' private feed links (a person's own page: diaryroom/account.py) ---------

@bp.get("/listeners")
@allow(Role.ADMIN)
def listeners():
    return render_template("admin/listeners.html",
                           listeners=feed_links.usage(current_principal().org_id))


@bp.post("/listeners/<int:listener_id>/revoke")
@allow(Role.ADMIN)
def revoke_listener(listener_id: int):
    principal = current_principal()
    feed_links.revoke(feed_links.get_listener(principal.org_id, listener_id),
                      by=principal.user)
    flash("The feed link has been turned off. Its podcast app can no longer get episodes. "
          "The person can get a new link on their own page.", "info")
    return redirect(url_for("admin.listeners"))
