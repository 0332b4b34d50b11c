"""The studio's pages and the calls its script makes. Views parse the request, call one
``studio.service`` function and answer: JSON when the request wants JSON, else a
redirect back to the page with a message (every form works without JavaScript).

Audio and files are decrypted per request into a work folder and streamed from a handle
that outlives it, with ranges (players seek) and ``Cache-Control: no-store``.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, BinaryIO

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from diaryroom import uploads
from diaryroom.auth import allow, current_principal
from diaryroom.auth.principal import wants_json
from diaryroom.domain.roles import Role
from diaryroom.errors import Conflict, InvalidInput
from diaryroom.extensions import db
from diaryroom.http import json_object, json_value

from .publishing import service as publishing
from .studio import service
from .studio.assets import release_text
from .studio.recordings import add_music, receive_recording
from .studio.state import segment_state

bp = Blueprint("podcast", __name__, url_prefix="/podcast")
STUDIO = (Role.ADMIN, Role.STAFF, Role.COHOST)
EPISODE = "/episodes/<int:episode_id>"
SEGMENT = EPISODE + "/segments/<int:segment_id>"


def _user():
    return current_principal().user


def _data() -> dict[str, Any]:
    """The request's fields, from JSON or a form."""
    return json_object() if request.is_json else request.form.to_dict()


def _studio(episode_id: int):
    return redirect(url_for("podcast.studio", episode_id=episode_id))


def _answer(episode, message: str, body: Any = None, status: int = 200):
    if wants_json():
        return jsonify(service.episode_state(episode) if body is None else body), status
    flash(message, "success")
    return _studio(episode.id)


def _form_errors(view: Callable) -> Callable:
    """A form sent without JavaScript gets its refusal as a message on the page it came
    from; a script gets the JSON error (409, 422) from the app's error handler."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        try:
            return view(*args, **kwargs)
        except (InvalidInput, Conflict) as e:
            if wants_json():
                raise
            db.session.rollback()
            flash(str(e), "error")
            if "episode_id" in kwargs:
                return _studio(kwargs["episode_id"])
            return redirect(url_for("podcast.index"))
    return wrapped


def _send(handle: BinaryIO, mimetype: str, name: str):
    """Stream a seekable handle with HTTP ranges, never cached."""
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(0)
    response = send_file(handle, mimetype=mimetype, download_name=name, conditional=False,
                         etag=False, max_age=0)
    response.content_length = size
    response = response.make_conditional(request.environ, accept_ranges=True,
                                         complete_length=size)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- pages -------------------------------------------------------------------------------

@bp.get("/")
@allow(*STUDIO)
def index():
    return render_template("podcast/index.html", episodes=service.list_episodes(),
                           entries=service.available_entries())


@bp.post("/episodes")
@allow(*STUDIO)
@_form_errors
def create_episode():
    episode = service.create_episode(_user(), _data())
    if wants_json():
        return jsonify(service.episode_state(episode)), 201
    flash("Episode made. Add entries, recordings and music to it below.", "success")
    return _studio(episode.id)


@bp.get(EPISODE)
@allow(*STUDIO)
def studio(episode_id: int):
    episode = service.get_episode(episode_id)
    return render_template("podcast/studio.html", episode=episode,
                           state=service.episode_state(episode),
                           entries=service.available_entries(), music=service.list_music(),
                           recordings=service.list_recordings(episode),
                           release=release_text(),
                           publishing=publishing.publication_state(episode, user=_user()))


@bp.get(EPISODE + "/state")
@allow(*STUDIO)
def state(episode_id: int):
    response = jsonify(service.episode_state(service.get_episode(episode_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post(EPISODE)
@allow(*STUDIO)
@_form_errors
def update_episode(episode_id: int):
    episode = service.get_episode(episode_id)
    data = _data()
    episode = service.update_episode(episode, data, version=data.get("version"), user=_user())
    return _answer(episode, "Saved.")


@bp.post(EPISODE + "/cover")
@allow(*STUDIO)
@_form_errors
def upload_cover(episode_id: int):
    episode = service.get_episode(episode_id)
    picture = request.files.get("cover")
    if picture is None:
        raise InvalidInput("Choose a picture for the cover first.", code="no_cover")
    episode = service.set_cover(episode, picture.stream, version=request.form.get("version"),
                                user=_user())
    return _answer(episode, "The cover is changed.")


@bp.get(EPISODE + "/cover")
@allow(*STUDIO)
def episode_cover(episode_id: int):
    handle, mimetype = service.cover(service.get_episode(episode_id))
    return _send(handle, mimetype, f"cover-{episode_id}.{mimetype.rsplit('/', 1)[-1]}")


# -- segments ------------------------------------------------------------------------------

@bp.post(EPISODE + "/segments")
@allow(*STUDIO)
@_form_errors
def add_segment(episode_id: int):
    episode = service.get_episode(episode_id)
    data = _data()
    spec = {k: v for k, v in data.items() if k not in ("version", "csrf_token")}
    service.add_segment(episode, spec, version=data.get("version"), user=_user())
    return _answer(episode, "Added to the episode.")


@bp.post(SEGMENT + "/move")
@allow(*STUDIO)
@_form_errors
def move_segment(episode_id: int, segment_id: int):
    episode = service.get_episode(episode_id)
    data = _data()
    service.move_segment(episode, segment_id, data.get("position"),
                         version=data.get("version"), user=_user())
    return _answer(episode, "Moved.")


@bp.post(SEGMENT + "/delete")
@allow(*STUDIO)
@_form_errors
def remove_segment(episode_id: int, segment_id: int):
    episode = service.get_episode(episode_id)
    service.remove_segment(episode, segment_id, version=_data().get("version"), user=_user())
    return _answer(episode, "Taken out of the episode.")


def _segment_answer(episode_id: int, segment, message: str):
    if wants_json():
        return jsonify(segment_state(segment))
    flash(message, "success")
    return _studio(episode_id)


@bp.post(SEGMENT + "/edits")
@allow(*STUDIO)
@_form_errors
def save_edits(episode_id: int, segment_id: int):
    segment = service.get_segment(service.get_episode(episode_id), segment_id)
    data = _data()
    edits = data.get("edits")
    if isinstance(edits, str):  # a form sends the edit list as JSON text
        edits = json_value(edits, what="edits", code="invalid_edits")
    segment = service.save_edits(segment, edits, version=data.get("version"), user=_user())
    return _segment_answer(episode_id, segment, "Saved.")


@bp.post(SEGMENT + "/undo")
@allow(*STUDIO)
@_form_errors
def undo_edits(episode_id: int, segment_id: int):
    segment = service.get_segment(service.get_episode(episode_id), segment_id)
    segment = service.undo_edits(segment, version=_data().get("version"), user=_user())
    return _segment_answer(episode_id, segment, "Undone.")


@bp.post(SEGMENT + "/refresh")
@allow(*STUDIO)
@_form_errors
def refresh_segment(episode_id: int, segment_id: int):
    segment = service.get_segment(service.get_episode(episode_id), segment_id)
    segment = service.refresh_segment(segment, version=_data().get("version"), user=_user())
    return _segment_answer(episode_id, segment, "This part now uses the entry's latest "
                                                "approved version.")


@bp.get(SEGMENT + "/audio")
@allow(*STUDIO)
def segment_audio(episode_id: int, segment_id: int):
    segment = service.get_segment(service.get_episode(episode_id), segment_id)
    handle, mimetype = service.segment_audio(segment)
    extension = {"audio/mpeg": "mp3", "audio/ogg": "ogg"}.get(mimetype, "audio")
    return _send(handle, mimetype, f"part-{segment.id}.{extension}")


@bp.get(SEGMENT + "/peaks.json")
@allow(*STUDIO)
def segment_peaks(episode_id: int, segment_id: int):
    segment = service.get_segment(service.get_episode(episode_id), segment_id)
    response = jsonify(service.segment_peaks(segment))
    response.headers["Cache-Control"] = "no-store"
    return response


# -- recordings, renders and collaboration ---------------------------------------------------

# The studio page sends a co-host's recording (and show music) resumably, with tus, under
# its session and CSRF token: /api/v1/uploads takes bearer tokens only, never cookies.
# The finished upload's id then goes to add_recording (or music) as ``upload_id``.
uploads.register_tus_routes(bp, access=STUDIO)


@bp.post(EPISODE + "/recordings")
@allow(*STUDIO)
@_form_errors
def add_recording(episode_id: int):
    episode = service.get_episode(episode_id)
    data = _data()
    recording = receive_recording(current_principal(), episode=episode,
                                  upload_id=data.get("upload_id") or None,
                                  media=request.files.get("media"))
    if wants_json():
        return jsonify(id=recording.id, status=recording.status), 201
    flash("Your recording is being prepared. Add it to the episode when it is ready.",
          "success")
    return _studio(episode.id)


@bp.post(EPISODE + "/render")
@allow(*STUDIO)
@_form_errors
def render(episode_id: int):
    episode = service.get_episode(episode_id)
    made, job = service.request_render(episode, user=_user())
    return _answer(episode, "Rendering has started. The last render stays playable until "
                            "the new one is ready.",
                   body={"render_id": made.id, "job_id": job.id}, status=202)


@bp.get(EPISODE + "/renders/<int:render_id>/<name>")
@allow(*STUDIO)
def render_file(episode_id: int, render_id: int, name: str):
    handle, mimetype = service.render_file(service.get_episode(episode_id), render_id, name)
    stem, _, extension = name.rpartition(".")
    return _send(handle, mimetype, f"{stem}-{episode_id}-{render_id}.{extension}")


@bp.post(EPISODE + "/comments")
@allow(*STUDIO)
@_form_errors
def comment(episode_id: int):
    episode = service.get_episode(episode_id)
    service.add_comment(episode, _data().get("body"), user=_user())
    return _answer(episode, "Comment added.")


@bp.post(EPISODE + "/cohosts")
@allow(*STUDIO)
@_form_errors
def join(episode_id: int):
    episode = service.get_episode(episode_id)
    service.join(episode, _user(), _data().get("display_name"))
    return _answer(episode, "You are a co-host of this episode.")


@bp.post(EPISODE + "/release")
@allow(*STUDIO)
@_form_errors
def release(episode_id: int):
    episode = service.get_episode(episode_id)
    service.accept_release(episode, _user())
    return _answer(episode, "Thank you: your release is recorded.")


# -- publishing (staff and admins approve; the panel is in templates/podcast/_publish.html) --

PUBLISHERS = (Role.ADMIN, Role.STAFF)
PUBLISHED = {"internal": "Published inside the organisation: it is in everyone's private "
                         "feed now.",
             "public": "Published on the public feed."}


def _publish_answer(episode, message: str):
    if wants_json():
        return jsonify(publishing.publication_state(episode, user=_user()))
    flash(message, "success")
    return redirect(url_for("podcast.studio", episode_id=episode.id, _anchor="publish"))


@bp.post(EPISODE + "/publish")
@allow(*PUBLISHERS)
@_form_errors
def publish(episode_id: int):
    episode = service.get_episode(episode_id)
    audience = _data().get("audience")
    publishing.publish(episode, audience, user=_user())
    return _publish_answer(episode, PUBLISHED[audience])


@bp.post(EPISODE + "/unpublish")
@allow(*PUBLISHERS)
@_form_errors
def unpublish(episode_id: int):
    episode = service.get_episode(episode_id)
    ended = publishing.unpublish(episode, _data().get("audience") or None, user=_user())
    return _publish_answer(episode, "Unpublished: it has left the feeds." if ended
                           else "It was not published.")


# -- music ---------------------------------------------------------------------------------

@bp.route("/music", methods=["GET", "POST"])
@allow(*STUDIO)
@_form_errors
def music():
    if request.method == "GET":
        return render_template("podcast/music.html", tracks=service.list_music())
    data = _data()
    track = add_music(current_principal(), title=data.get("title"),
                      made_by=data.get("made_by"), licence=data.get("licence"),
                      upload_id=data.get("upload_id") or None, media=request.files.get("media"))
    if wants_json():
        return jsonify(id=track.id, title=track.title, made_by=track.made_by,
                       licence=track.licence, duration=track.duration), 201
    flash("Music added. It can be used in every episode.", "success")
    return redirect(url_for("podcast.music"))
