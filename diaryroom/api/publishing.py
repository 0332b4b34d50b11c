"""API routes for publishing an episode: to the organisation's private feeds
(``internal``), then to the public feed (``public``, a second approver). Staff and admins
only; each answers with the episode's publication state (``publication_state``)."""
from __future__ import annotations

from flask import jsonify, request

from podcast.publishing import service as publishing
from podcast.studio.service import get_episode

from ..auth import allow, current_principal
from ..domain.roles import Role
from ..errors import InvalidInput
from ..http import json_object
from . import bp

PUBLISHERS = (Role.ADMIN, Role.STAFF)
FIELDS = {"audience"}


def _body(*, required: bool) -> dict:
    """The JSON body with only known fields; an empty body is {} where one is optional."""
    if not required and not request.get_data(cache=True):
        return {}
    data = json_object('{"audience": "internal" | "public"}')
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", code="invalid_json")
    return data


@bp.post("/episodes/<int:episode_id>/publish")
@allow(*PUBLISHERS)
def publish_episode(episode_id: int):
    episode = get_episode(episode_id)  # first: another organisation's is 404, body or not
    data = _body(required=True)
    user = current_principal().user
    publishing.publish(episode, data.get("audience"), user=user)
    return jsonify(publishing.publication_state(episode, user=user))


@bp.post("/episodes/<int:episode_id>/unpublish")
@allow(*PUBLISHERS)
def unpublish_episode(episode_id: int):
    """Without an audience both stages end; ending ``internal`` ends ``public`` too."""
    episode = get_episode(episode_id)
    data = _body(required=False)
    user = current_principal().user
    publishing.unpublish(episode, data.get("audience"), user=user)
    return jsonify(publishing.publication_state(episode, user=user))
