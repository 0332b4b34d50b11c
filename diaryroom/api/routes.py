"""API routes: parse the request, call one service, return JSON."""
from __future__ import annotations

from flask import jsonify, request

from podcast.studio.jobs import RENDER_EPISODE

from .. import entries, idempotency, intake, processing, uploads
from ..auth import KIOSK, PUBLIC, allow, current_principal
from ..bodylimit import accepts_media
from ..domain import status as st
from ..domain.roles import ALL_ROLES, Role
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..http import json_object, json_value, received_response
from ..limits import receipt_rate
from ..models import Entry, Job
from ..review import service as review
from . import bp
from .openapi import document

TEAM = (Role.ADMIN, Role.STAFF)
# Co-hosts upload their own recordings and show music the same resumable way.
uploads.register_tus_routes(bp, access=(*TEAM, Role.COHOST, KIOSK))


def entry_json(entry: Entry) -> dict:
    if entry.status == st.WITHDRAWN:
        return tombstone_json(entry)
    return {"id": entry.id, "status": entry.status, "status_reason": entry.status_reason,
            "kind": entry.kind, "consent": entry.consent, "language": entry.language,
            "duration": entry.duration, "created_at": entry.created_at.isoformat() + "Z",
            "urgent": entry.urgent, "redaction_revision": entry.redaction_revision,
            "rendered_revision": entry.rendered_revision, "retry": _retry_json(entry)}


def _retry_json(entry: Entry) -> dict | None:
    wait = processing.waiting_to_retry(entry)
    return wait.to_api() if wait else None


def tombstone_json(entry: Entry) -> dict:
    """What is left of a withdrawn entry: that it existed, when, and what kind it was.
    Its consent is in the history (``GET /entries/{id}``), the record that the person's
    choices were followed; everything else came from the recording and is gone."""
    return {"id": entry.id, "status": entry.status, "kind": entry.kind,
            "created_at": entry.created_at.isoformat() + "Z",
            "withdrawn_at": entry.withdrawn_at.isoformat() + "Z" if entry.withdrawn_at
            else None}


def flags_json(entry: Entry) -> list[dict]:
    """Safeguarding flags: only ever in staff and admin responses (every entry route is)."""
    return [{"category": f.category, "first_word": f.first_word, "last_word": f.last_word,
             "phrase": f.phrase} for f in review.flags(entry)]


@bp.get("/openapi.json")
@allow(PUBLIC)
def openapi():
    return jsonify(document())


@bp.get("/me")
@allow(*ALL_ROLES, KIOSK)
def me():
    p = current_principal()
    body = {"kind": p.kind, "organisation_id": p.org_id}
    if p.user:
        body.update(email=p.user.email, role=p.user.role)
    else:
        body.update(kiosk=p.kiosk.name)
    return jsonify(body)


@bp.get("/jobs/<int:job_id>")
@allow(*TEAM, Role.COHOST)
def get_job(job_id: int):
    """Staff see every job of their organisation; co-hosts the renders of episodes."""
    job = db.session.get(Job, job_id)
    if job is None or (current_principal().role == Role.COHOST
                       and job.kind != RENDER_EPISODE):
        raise NotFound(f"job {job_id} not found")
    return jsonify(job.to_api())


def _entry_request() -> dict:
    """Entry fields from JSON, or from a multipart form where consent is a JSON string."""
    if request.is_json:
        return json_object()
    data = request.form.to_dict()
    if data.get("consent"):
        data["consent"] = json_value(data["consent"], what="consent", code="invalid_consent")
    if "prompt_id" in data:  # a form sends text: a number, or nothing for no card
        value = data["prompt_id"].strip()
        number = value.isascii() and value.isdigit() and len(value) <= 10
        data["prompt_id"] = int(value) if number else value or None
    return data


@bp.post("/entries")
@allow(*TEAM, KIOSK)
@accepts_media
def create_entry():
    key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
    return received_response(intake.receive(current_principal(), _entry_request(),
                                            media=request.files.get("media"),
                                            files_accepted=True, idempotency_key=key))


@bp.get("/entries")
@allow(*TEAM)
def list_entries():
    return jsonify(entries=[entry_json(e) for e in entries.list_entries()])


@bp.get("/entries/<int:entry_id>")
@allow(*TEAM)
def get_entry(entry_id: int):
    entry = entries.get_entry(entry_id)
    history = [{"action": r.action, "audience": r.audience, "voice": r.voice,
                "panel_quotes": r.panel_quotes, "actor": r.actor,
                "at": r.created_at.isoformat() + "Z"} for r in intake.consent_history(entry)]
    if entry.status == st.WITHDRAWN:  # no receipt code, no flags: a tombstone
        return jsonify({**tombstone_json(entry), "consent_history": history})
    return jsonify({**entry_json(entry), "receipt_code": intake.receipt_code(entry),
                    "consent_history": history, "flags": flags_json(entry)})


@bp.post("/entries/<int:entry_id>/withdraw")
@allow(*TEAM)
def withdraw_entry(entry_id: int):
    """Staff withdraw an entry on the person's behalf."""
    entry = intake.withdraw(entries.get_entry(entry_id),
                            actor=f"staff:{current_principal().user.id}")
    return jsonify(entry_json(entry))


@bp.post("/receipts/<code>/consent")
@allow(*TEAM, KIOSK)
@receipt_rate
def receipt_consent(code: str):
    data = json_object("the consent as a JSON object")
    consent = intake.parse_consent(data.get("consent", data))
    entry = intake.change_consent(intake.find_by_receipt(code), consent,
                                  actor=intake.receipt_actor(current_principal()))
    return jsonify(id=entry.id, status=entry.status, consent=entry.consent)


@bp.post("/receipts/<code>/withdraw")
@allow(*TEAM, KIOSK)
@receipt_rate
def receipt_withdraw(code: str):
    entry = intake.withdraw(intake.find_by_receipt(code),
                            actor=intake.receipt_actor(current_principal()))
    return jsonify(id=entry.id, status=entry.status)


@bp.get("/entries/<int:entry_id>/transcript")
@allow(*TEAM)
def get_transcript(entry_id: int):
    """Redacted by default. ``?original=1`` gives the unredacted words (logged)."""
    entry = entries.live_entry(entry_id)
    if request.args.get("original") in ("1", "true"):
        words = review.original_words(entry)
        if not words:
            raise NotFound("this entry has no transcript yet")
        review.viewed_original(entry, actor=current_principal().user, where="api")
        return jsonify({"original": True, "language": entry.language, "words": [
            {"index": w.index, "text": w.text, "start": w.start, "end": w.end}
            for w in words]})
    document = entries.load_redacted(entry)
    if document is None:
        raise NotFound("this entry has no redacted transcript yet")
    return jsonify({**document, "original": False, "revision": entry.rendered_revision})


@bp.post("/entries/<int:entry_id>/redactions")
@allow(*TEAM)
def change_redactions(entry_id: int):
    """Add (``first``..``last`` words, ``type``) or remove (the one covering ``word``)."""
    entry = entries.live_entry(entry_id)
    data = json_object()
    user = current_principal().user
    action = data.get("action")
    if action == "add":
        last = data.get("last", data.get("first"))
        review.add_redaction(entry, data.get("first"), last, data.get("type", "OTHER"),
                             actor=user)
    elif action == "remove":
        if not isinstance(data.get("word"), int):
            raise InvalidInput("word must be a word index", code="invalid_words")
        review.remove_redaction(entry, data["word"], actor=user)
    else:
        raise InvalidInput("action must be add or remove", code="invalid_action")
    return jsonify({**entry_json(entry), "redactions": redactions_json(entry)})


def redactions_json(entry: Entry) -> list[dict]:
    return [{"first_word": r.first_word, "last_word": r.last_word, "type": r.type,
             "source": r.source, "start": r.start, "end": r.end, "text_hash": r.text_hash}
            for r in review.redactions(entry)]


@bp.get("/entries/<int:entry_id>/redactions")
@allow(*TEAM)
def list_redactions(entry_id: int):
    return jsonify(redactions=redactions_json(entries.live_entry(entry_id)))


@bp.post("/entries/<int:entry_id>/approve")
@allow(*TEAM)
def approve_entry(entry_id: int):
    entry = entries.live_entry(entry_id)
    review.approve(entry, actor=current_principal().user)
    return jsonify(entry_json(entry))


@bp.post("/entries/<int:entry_id>/send-back")
@allow(*TEAM)
def send_back_entry(entry_id: int):
    entry = entries.live_entry(entry_id)
    review.send_back(entry, json_object().get("reason", ""), actor=current_principal().user)
    return jsonify(entry_json(entry))


@bp.post("/entries/<int:entry_id>/reprocess")
@allow(*TEAM)
def reprocess_entry(entry_id: int):
    entry = entries.live_entry(entry_id)
    review.reprocess(entry, actor=current_principal().user)
    return jsonify(entry_json(entry)), 202
