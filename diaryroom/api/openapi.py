"""The OpenAPI 3 description of /api/v1. A test keeps it in step with the routes."""
from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}


def _op(summary: str, ok: dict[str, Any], *, secured: bool = True, params: list | None = None,
        body: dict | None = None, status: str = "200") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {status: ok}}
    if secured:
        op["responses"].update({"401": ERROR, "403": ERROR})
    else:
        op["security"] = []
    if params:
        op["parameters"] = params
        op["responses"]["404"] = ERROR
    if body:
        op["requestBody"] = body
        op["responses"]["422"] = ERROR
    return op


def _json(schema_ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Diary Room API", "version": "1",
                 "description": "Errors are JSON: {\"error\": {\"code\", \"message\"}}."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/openapi.json": {"get": _op("This document", {"description": "OpenAPI 3"},
                                         secured=False)},
            "/me": {"get": _op("Who the token belongs to", _json("#/components/schemas/Me"))},
            "/jobs/{job_id}": {"get": _op("A background job's state and progress",
                                          _json("#/components/schemas/Job"),
                                          params=[_id("job_id")])},
            "/entries": {
                "get": _op("Entries of your organisation, newest first",
                           _json("#/components/schemas/EntryList")),
                "post": _op("Upload a recording as a new entry",
                            _json("#/components/schemas/Created", "Created"), status="201",
                            body={"required": True, "content": {"multipart/form-data": {
                                "schema": {"type": "object", "required": ["media"],
                                           "properties": {
                                               "media": {"type": "string", "format": "binary"},
                                               "consent": {"type": "string",
                                                           "description": "Consent JSON"}}}}}}),
            },
            "/entries/{entry_id}": {"get": _op("One entry", _json("#/components/schemas/Entry"),
                                               params=[_id("entry_id")])},
            "/entries/{entry_id}/transcript": {
                "get": _op("The entry's transcript with word timings",
                           _json("#/components/schemas/Transcript"), params=[_id("entry_id")])},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": _json("#/components/schemas/Error", "Error")},
            "schemas": _schemas(),
        },
    }


def _schemas() -> dict[str, Any]:
    nullable_str = {"type": "string", "nullable": True}
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
        "Me": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["user", "kiosk"]},
            "organisation_id": {"type": "integer"}, "email": {"type": "string"},
            "role": {"type": "string"}, "kiosk": {"type": "string"}}},
        "Job": {"type": "object", "required": ["state", "progress", "error"], "properties": {
            "id": {"type": "integer"}, "kind": {"type": "string"},
            "state": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "error": nullable_str, "attempts": {"type": "integer"}}},
        "Consent": {"type": "object", "properties": {
            "audience": {"type": "string", "enum": ["team", "organisation", "public"]},
            "voice": {"type": "string", "enum": ["disguise", "natural"]},
            "panel_quotes": {"type": "boolean"}}},
        "Entry": {"type": "object", "properties": {
            "id": {"type": "integer"}, "status": {"type": "string", "enum": [
                "received", "processing", "awaiting_review", "approved", "needs_attention",
                "withdrawn"]},
            "status_reason": nullable_str, "kind": {"type": "string"},
            "consent": {"$ref": "#/components/schemas/Consent"}, "language": nullable_str,
            "duration": {"type": "number", "nullable": True},
            "created_at": {"type": "string", "format": "date-time"}}},
        "EntryList": {"type": "object", "properties": {
            "entries": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}}}},
        "Created": {"type": "object", "properties": {
            "id": {"type": "integer"}, "status": {"type": "string"},
            "job_id": {"type": "integer"}}},
        "Transcript": {"type": "object", "properties": {
            "language": {"type": "string"}, "duration": {"type": "number"},
            "text": {"type": "string"},
            "segments": {"type": "array", "items": {"type": "object"}}}},
    }
