"""Small helpers for JSON views shared by the API and the kiosk's own actions."""
from flask import jsonify, request

from .errors import InvalidInput
from .intake import Received


def json_object(what: str = "a JSON object") -> dict:
    """The request body as a JSON object, or a clear 422."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput(f"send {what}", code="invalid_json")
    return data


def received_response(received: Received):
    """201 for a new entry; 200 when this request was already answered once (a kiosk
    retrying after a lost reply gets the same entry and receipt code)."""
    body = jsonify(id=received.entry.id, receipt_code=received.receipt_code,
                   status=received.entry.status,
                   job_id=received.job.id if received.job else None)
    return body, 201 if received.job else 200
