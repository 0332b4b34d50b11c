"""API routes: parse the request, call one service, return JSON."""
from __future__ import annotations

import json

from flask import jsonify, request

from .. import entries
from ..auth import KIOSK, PUBLIC, allow, current_principal
from ..domain.consent import Consent
from ..domain.roles import ALL_ROLES, Role
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..models import Entry, Job
from . import bp
from .openapi import document

TEAM = (Role.ADMIN, Role.STAFF)


def entry_json(entry: Entry) -> dict:
    return {"id": entry.id, "status": entry.status, "status_reason": entry.status_reason,
            "kind": entry.kind, "consent": entry.consent, "language": entry.language,
            "duration": entry.duration, "created_at": entry.created_at.isoformat() + "Z"}


def _consent_from_form() -> Consent:
    raw = request.form.get("consent")
    try:
        return Consent.from_dict(json.loads(raw) if raw else None)
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"consent is not valid: {e}", code="invalid_consent") from None


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
@allow(*TEAM)
def get_job(job_id: int):
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return jsonify(job.to_api())


@bp.post("/entries")
@allow(*TEAM, KIOSK)
def create_entry():
    media = request.files.get("media")
    if media is None:
        raise InvalidInput("send the recording as a multipart field named 'media'",
                           code="missing_media")
    entry, job = entries.receive_recording(current_principal(), media.stream,
                                           media.filename or "", _consent_from_form())
    return jsonify(id=entry.id, status=entry.status, job_id=job.id), 201


@bp.get("/entries")
@allow(*TEAM)
def list_entries():
    return jsonify(entries=[entry_json(e) for e in entries.list_entries()])


@bp.get("/entries/<int:entry_id>")
@allow(*TEAM)
def get_entry(entry_id: int):
    return jsonify(entry_json(entries.get_entry(entry_id)))


@bp.get("/entries/<int:entry_id>/transcript")
@allow(*TEAM)
def get_transcript(entry_id: int):
    transcript = entries.load_transcript(entries.get_entry(entry_id))
    if transcript is None:
        raise NotFound("this entry has no transcript yet")
    return jsonify({**transcript.to_dict(), "text": transcript.text})
