"""Small helpers for JSON views shared by the API and the kiosk's own actions."""
import json
from typing import Any

from flask import jsonify, request

from .errors import InvalidInput
from .intake import Received


def json_object(what: str = "a JSON object") -> dict:
    """The request body as a JSON object, or a clear 422."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # thousands of nested brackets: not a ValueError, so not silenced
        raise InvalidInput(f"send {what} that is not nested so deeply",
                           code="invalid_json") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"send {what}", code="invalid_json")
    return data


def json_value(text: str, *, what: str, code: str) -> Any:
    """A JSON value sent inside a form field, or a clear 422 naming ``what``."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidInput(f"{what} is not valid JSON", code=code) from None


def received_response(received: Received):
    """201 for a new entry; 200 when this request was already answered once (a kiosk
    retrying after a lost reply gets the same entry and receipt code)."""
    body = jsonify(id=received.entry.id, receipt_code=received.receipt_code,
                   status=received.entry.status,
                   job_id=received.job.id if received.job else None)
    return body, 201 if received.job else 200
