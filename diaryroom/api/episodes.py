"""API routes for the podcast studio: make an episode, render it, read it back with the
rendered files' URLs. The same service as the studio's pages; answers as the page's
``state`` call (``episode_state``), with absolute URLs."""
from __future__ import annotations

from flask import jsonify, url_for

from podcast.studio import service

from ..auth import allow, current_principal
from ..domain.roles import Role
from ..errors import InvalidInput
from ..http import json_object
from . import bp

STUDIO = (Role.ADMIN, Role.STAFF, Role.COHOST)
FIELDS = {"title", "description", "notes", "season", "number", "theme", "segments"}


@bp.post("/episodes")
@allow(*STUDIO)
def create_episode():
    """``description`` is the show notes (Markdown)."""
    data = json_object("the episode as a JSON object")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise InvalidInput(f"unknown episode field {unknown[0]!r}", code="invalid_episode")
    if "description" in data:
        data["notes"] = data.pop("description")
    episode = service.create_episode(current_principal().user, data)
    location = url_for("api.get_episode", episode_id=episode.id)
    return jsonify(service.episode_state(episode, external=True)), 201, {"Location": location}


@bp.get("/episodes/<int:episode_id>")
@allow(*STUDIO)
def get_episode(episode_id: int):
    return jsonify(service.episode_state(service.get_episode(episode_id), external=True))


@bp.post("/episodes/<int:episode_id>/render")
@allow(*STUDIO)
def render_episode(episode_id: int):
    """Queue a render; poll ``GET /jobs/{job_id}``, then read the episode for its files."""
    render, job = service.request_render(service.get_episode(episode_id),
                                         user=current_principal().user)
    return jsonify(job_id=job.id, render_id=render.id), 202
