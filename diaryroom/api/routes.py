"""API routes: parse the request, call one service, return JSON."""
from __future__ import annotations

import json

from flask import jsonify, request

from .. import entries, intake, uploads
from ..auth import KIOSK, PUBLIC, allow, current_principal
from ..domain.roles import ALL_ROLES, Role
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..http import json_object, received_response
from ..limits import receipt_rate
from ..models import Entry, Job
from . import bp
from .openapi import document

TEAM = (Role.ADMIN, Role.STAFF)
uploads.register_tus_routes(bp, access=(*TEAM, KIOSK))


def entry_json(entry: Entry) -> dict:
    return {"id": entry.id, "status": entry.status, "status_reason": entry.status_reason,
            "kind": entry.kind, "consent": entry.consent, "language": entry.language,
            "duration": entry.duration, "created_at": entry.created_at.isoformat() + "Z"}


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


def _entry_request() -> dict:
    """Entry fields from JSON, or from a multipart form where consent is a JSON string."""
    if request.is_json:
        return json_object()
    data = request.form.to_dict()
    if data.get("consent"):
        try:
            data["consent"] = json.loads(data["consent"])
        except ValueError:
            raise InvalidInput("consent is not valid JSON", code="invalid_consent") from None
    if "prompt_id" in data:  # a form sends text: a number, or nothing for no card
        value = data["prompt_id"].strip()
        number = value.isascii() and value.isdigit() and len(value) <= 10
        data["prompt_id"] = int(value) if number else value or None
    return data


@bp.post("/entries")
@allow(*TEAM, KIOSK)
def create_entry():
    return received_response(intake.receive(current_principal(), _entry_request(),
                                            media=request.files.get("media"),
                                            files_accepted=True))


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
    return jsonify({**entry_json(entry), "receipt_code": intake.receipt_code(entry),
                    "consent_history": history})


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
    transcript = entries.load_transcript(entries.get_entry(entry_id))
    if transcript is None:
        raise NotFound("this entry has no transcript yet")
    return jsonify({**transcript.to_dict(), "text": transcript.text})
