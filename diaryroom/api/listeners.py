"""API routes for listeners' private feed links: give a person of the organisation a
link (their older one stops), or turn one off. Staff and admins only."""
from __future__ import annotations

from flask import jsonify

from podcast.publishing import listeners

from ..accounts import find_user
from ..auth import allow, current_principal
from ..domain.roles import Role
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..http import json_object
from ..models import Organisation
from . import bp

TEAM = (Role.ADMIN, Role.STAFF)


@bp.post("/listeners")
@allow(*TEAM)
def create_listener():
    """A new private feed link for the account with ``email``; 201 with its URL."""
    data = json_object('{"email": "..."}')
    unknown = sorted(set(data) - {"email"})
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", code="invalid_json")
    email = data.get("email")
    if not isinstance(email, str) or not email.strip():
        raise InvalidInput("email: the account's e-mail address", code="invalid_email")
    principal = current_principal()
    try:
        user = find_user(email)
    except NotFound:
        user = None
    if user is None or user.org_id != principal.org_id:
        raise NotFound("There is no account with that e-mail address here.")
    listener, token = listeners.create_listener(user, by=principal.user)
    org = db.session.get(Organisation, principal.org_id)
    return jsonify(id=listener.id, feed_url=listeners.feed_url(org, token)), 201


@bp.delete("/listeners/<int:listener_id>")
@allow(*TEAM)
def revoke_listener(listener_id: int):
    """Turn a link off: its feed and its files answer 410 from now on."""
    principal = current_principal()
    listeners.revoke(listeners.get_listener(principal.org_id, listener_id),
                     by=principal.user)
    return "", 204
