"""JSON actions the kiosk page calls: its session cookie plus an X-CSRFToken header.

Each parses the request, calls one intake service and returns JSON; errors come back as
``{"error": {"code", "message"}}`` with a message the kiosk shows in plain words.
"""
from flask import jsonify, request

from diaryroom import idempotency, intake, uploads
from diaryroom.auth import KIOSK, allow, current_principal
from diaryroom.http import json_object, received_response
from diaryroom.limits import receipt_rate

from . import bp

uploads.register_tus_routes(bp, access=(KIOSK,))


@bp.post("/entries")
@allow(KIOSK, machine=True)
def create_entry():
    # The kiosk sends its own id for the entry, so a retry after a lost reply (written
    # text has no upload id to recognise it by) answers with the entry already made.
    key = idempotency.parse_key(request.headers.get(idempotency.HEADER))
    return received_response(intake.receive(current_principal(), json_object(),
                                            idempotency_key=key))


def consent_json(entry):
    # What was chosen and when: never any of the content.
    return jsonify(consent=entry.consent, status=entry.status, kind=entry.kind,
                   received=entry.created_at.date().isoformat())


@bp.post("/receipts/lookup")
@allow(KIOSK, machine=True)
@receipt_rate
def receipt_lookup():
    return consent_json(intake.find_by_receipt(str(json_object().get("code", ""))))


@bp.post("/receipts/consent")
@allow(KIOSK, machine=True)
@receipt_rate
def receipt_consent():
    data = json_object()
    entry = intake.find_by_receipt(str(data.get("code", "")))
    consent = intake.parse_consent(data.get("consent"))
    actor = intake.receipt_actor(current_principal())
    return consent_json(intake.change_consent(entry, consent, actor=actor))


@bp.post("/receipts/withdraw")
@allow(KIOSK, machine=True)
@receipt_rate
def receipt_withdraw():
    entry = intake.find_by_receipt(str(json_object().get("code", "")))
    intake.withdraw(entry, actor=intake.receipt_actor(current_principal()))
    return jsonify(status=entry.status)
