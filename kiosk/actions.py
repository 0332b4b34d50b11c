"""JSON actions the kiosk page calls: its session cookie plus an X-CSRFToken header.

Each parses the request, calls one intake service and returns JSON; errors come back as
``{"error": {"code", "message"}}`` with a message the kiosk shows in plain words.
"""
from flask import jsonify, request

from diaryroom import intake, uploads
from diaryroom.auth import KIOSK, allow, current_principal
from diaryroom.errors import InvalidInput
from diaryroom.limits import receipt_rate

from . import bp

uploads.register_tus_routes(bp, access=(KIOSK,))


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("send a JSON object", code="invalid_json")
    return data


def _card(data: dict) -> int | None:
    return intake.parse_card(data.get("prompt_id"))


def received_json(received: intake.Received):
    return jsonify(id=received.entry.id, receipt_code=received.receipt_code,
                   status=received.entry.status,
                   job_id=received.job.id if received.job else None), \
        201 if received.job else 200  # 200: this request was already answered once


@bp.post("/entries")
@allow(KIOSK, machine=True)
def create_entry():
    data = _body()
    kind = intake.parse_kind(data.get("kind"))
    consent = intake.parse_consent(data.get("consent"))
    if kind == "text":
        received = intake.receive_text(current_principal(), data.get("text", ""),
                                       consent=consent, card_id=_card(data))
    else:
        received = intake.receive_upload(current_principal(), str(data.get("upload_id", "")),
                                         kind=kind, consent=consent, card_id=_card(data),
                                         sha256=intake.parse_sha256(data.get("sha256")))
    return received_json(received)


def consent_json(entry):
    # What was chosen and when: never any of the content.
    return jsonify(consent=entry.consent, status=entry.status, kind=entry.kind,
                   received=entry.created_at.date().isoformat())


@bp.post("/receipts/lookup")
@allow(KIOSK, machine=True)
@receipt_rate
def receipt_lookup():
    return consent_json(intake.find_by_receipt(str(_body().get("code", ""))))


@bp.post("/receipts/consent")
@allow(KIOSK, machine=True)
@receipt_rate
def receipt_consent():
    data = _body()
    entry = intake.find_by_receipt(str(data.get("code", "")))
    consent = intake.parse_consent(data.get("consent"))
    actor = f"receipt@kiosk:{current_principal().kiosk.id}"
    return consent_json(intake.change_consent(entry, consent, actor=actor))


@bp.post("/receipts/withdraw")
@allow(KIOSK, machine=True)
@receipt_rate
def receipt_withdraw():
    entry = intake.find_by_receipt(str(_body().get("code", "")))
    intake.withdraw(entry, actor=f"receipt@kiosk:{current_principal().kiosk.id}")
    return jsonify(status=entry.status)
