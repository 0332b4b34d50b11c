"""Staff pages: the entry list, reviewing an entry (redactions, safeguarding, approval)
and the organisation's lists of local names. Views parse, call ``service``, respond."""
from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, flash, jsonify, redirect, render_template, request, send_file, url_for

from .. import entries
from ..adapters import get_private_storage
from ..auth import allow, current_principal
from ..auth.principal import wants_json
from ..domain import redaction as rd
from ..domain import status as st
from ..domain.roles import Role
from ..errors import InvalidInput, NotFound
from . import service

bp = Blueprint("review", __name__, url_prefix="/review")
TEAM = (Role.ADMIN, Role.STAFF)
# A reviewer reloading an entry's page (after each change without JavaScript) is one look.
LOOK_LOGGED_EVERY = dt.timedelta(minutes=30)


def _user():
    return current_principal().user


@bp.get("/")
@allow(*TEAM)
def index():
    items = entries.list_entries()
    # Urgent entries first: a safeguarding flag must not wait behind a long list.
    items.sort(key=lambda e: not e.urgent)
    return render_template("review/entries.html", entries=items)


@bp.get("/entries/<int:entry_id>")
@allow(*TEAM)
def entry(entry_id: int):
    item = entries.get_entry(entry_id)
    if item.status == st.WITHDRAWN:  # the list still links here: say what happened
        return render_template("review/withdrawn.html", tomb=service.tombstone(item))
    words = service.original_words(item)
    if words:
        service.viewed_original(item, actor=_user(), where="review page",
                                quiet_for=LOOK_LOGGED_EVERY)
    history = service.history(item)
    return render_template(
        "review/entry.html", entry=item, words=words, redactions=service.redactions(item),
        flags=service.flags(item), types=rd.TYPES, placeholders=rd.PLACEHOLDERS,
        history=history, actors=service.actor_names(history),
        redacted=entries.load_redacted(item))


@bp.get("/entries/<int:entry_id>/state")
@allow(*TEAM)
def state(entry_id: int):
    """What the review page polls while a re-render runs."""
    item = entries.live_entry(entry_id)
    return jsonify(status=item.status, status_reason=item.status_reason,
                   rendered=item.rendered,
                   redaction_revision=item.redaction_revision,
                   rendered_revision=item.rendered_revision, redactions=[
                       {"first_word": r.first_word, "last_word": r.last_word,
                        "type": r.type, "source": r.source}
                       for r in service.redactions(item)])


@bp.get("/entries/<int:entry_id>/audio.<any(mp3, opus):fmt>")
@allow(*TEAM)
def audio(entry_id: int, fmt: str):
    """The redacted audio of the last render (decrypted here; never a public link)."""
    item = entries.live_entry(entry_id)
    if item.rendered_revision is None or item.kind == "text":
        raise NotFound("there is no redacted audio for this entry yet")
    with get_private_storage().open(item.result_key(f"redacted.{fmt}")) as fh:
        data = io.BytesIO(fh.read())
    mimetype = "audio/mpeg" if fmt == "mp3" else "audio/ogg"
    # conditional=True answers Range requests, so the player can seek.
    return send_file(data, mimetype=mimetype, conditional=True, max_age=0,
                     download_name=f"entry-{item.id}-r{item.rendered_revision}.{fmt}")


def _done(entry_id: int, message: str):
    if wants_json():
        return state(entry_id)
    flash(message, "success")
    return redirect(url_for("review.entry", entry_id=entry_id))


def _int(name: str) -> int:
    value = request.form.get(name, "")
    if not value.isdigit():
        raise InvalidInput(f"{name} must be a word number", code="invalid_words")
    return int(value)


def _rerendering(item) -> str:
    what = "redacted text" if item.kind == "text" else "audio and text"
    return f"the {what} is being re-rendered."


@bp.post("/entries/<int:entry_id>/redactions")
@allow(*TEAM)
def change_redactions(entry_id: int):
    item = entries.live_entry(entry_id)
    action = request.form.get("action")
    if action == "add":
        first = _int("first")
        last = _int("last") if request.form.get("last") else first
        service.add_redaction(item, first, last, request.form.get("type", "OTHER"),
                              actor=_user())
        return _done(entry_id, f"Redaction added; {_rerendering(item)}")
    if action == "remove":
        service.remove_redaction(item, _int("word"), actor=_user())
        return _done(entry_id, f"Redaction removed; {_rerendering(item)}")
    raise InvalidInput("action must be add or remove", code="invalid_action")


@bp.post("/entries/<int:entry_id>/approve")
@allow(*TEAM)
def approve(entry_id: int):
    service.approve(entries.live_entry(entry_id), actor=_user())
    return _done(entry_id, "Approved: the redacted entry is now available for podcast work.")


@bp.post("/entries/<int:entry_id>/send-back")
@allow(*TEAM)
def send_back(entry_id: int):
    service.send_back(entries.live_entry(entry_id), request.form.get("reason", ""),
                      actor=_user())
    return _done(entry_id, "Sent back.")


@bp.post("/entries/<int:entry_id>/reprocess")
@allow(*TEAM)
def reprocess(entry_id: int):
    service.reprocess(entries.live_entry(entry_id), actor=_user())
    return _done(entry_id, "The pipeline is running again on this entry.")


@bp.get("/local-names")
@allow(*TEAM)
def local_names():
    return render_template("review/local_names.html", names=service.local_names(),
                           types=service.LOCAL_TYPES)


@bp.post("/local-names")
@allow(*TEAM)
def add_local_name():
    service.add_local_name(request.form.get("text", ""), request.form.get("type", "PLACE"),
                           request.form.get("list", "redact"), actor=_user())
    flash("Added. It applies to entries processed from now on.", "success")
    return redirect(url_for("review.local_names"))


@bp.post("/local-names/<int:name_id>/delete")
@allow(*TEAM)
def remove_local_name(name_id: int):
    service.remove_local_name(name_id, actor=_user())
    flash("Removed.", "success")
    return redirect(url_for("review.local_names"))
