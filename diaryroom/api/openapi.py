"""The OpenAPI 3 description of /api/v1. A test keeps it in step with the routes."""
from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}


def _op(summary: str, ok: dict[str, Any], *, secured: bool = True, params: list | None = None,
        body: dict | None = None, status: str = "200", errors: tuple[str, ...] = ()
        ) -> dict[str, Any]:
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
        # 413: a body over DIARYROOM_MAX_JSON_KB (media bodies have their own limit).
        op["responses"].update({"413": ERROR, "422": ERROR})
    op["responses"].update(dict.fromkeys(errors, ERROR))
    return op


def _json(schema_ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _code() -> dict[str, Any]:
    return {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "Receipt code, e.g. amber-otter-lake-27"}


def _idempotency_key() -> dict[str, Any]:
    return {"name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": "Your own id for this request (a UUID, say). Sent again with the "
                           "same key (its answer was lost), the request makes no second "
                           "entry: it answers 200 with the entry the first one made and its "
                           "receipt code. Keys are per kiosk or account; a key names one "
                           "entry for good, whatever is sent with it later. A finished "
                           "upload's `upload_id` does the same without a key."}


def _created_again() -> dict[str, Any]:
    return _json("#/components/schemas/Created",
                 "Already made by an earlier request with the same Idempotency-Key or "
                 "upload_id; job_id is null")


def _create_entry() -> dict[str, Any]:
    op = _op("Make an entry: a recording sent whole (multipart `media`), a finished "
             "resumable upload (`upload_id`), or written text (`kind: text`). Answered once "
             "the entry is stored, even if the job queue is briefly down (it is queued "
             "later).", _json("#/components/schemas/Created", "Created"), status="201",
             errors=("413",), body={"required": True, "content": {
                 "multipart/form-data": {"schema": {
                     "$ref": "#/components/schemas/NewEntryForm"}},
                 "application/json": {"schema": {
                     "$ref": "#/components/schemas/NewEntry"}}}})
    op["parameters"] = [_idempotency_key()]
    op["responses"]["200"] = _created_again()
    return op


def _upload_id() -> dict[str, Any]:
    return {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _episode_paths() -> dict[str, Any]:
    """The podcast studio: co-hosts, staff and admins."""
    state = "#/components/schemas/Episode"
    return {
        "/episodes": {"post": _op(
            "Make an episode from approved entries (their latest approved, redacted "
            "revision) and finished uploads (each becomes a co-host recording). A withdrawn "
            "(`withdrawn`), unapproved (`not_approved`) or team-only (`team_only`) entry, "
            "or cuts that leave nothing of a part (`invalid_edits`), refuse the whole "
            "episode with 422; an entry of another organisation is 404",
            _json(state, "Created"), status="201", errors=("404",),
            body={"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/NewEpisode"}}}})},
        "/episodes/{episode_id}": {"get": _op(
            "An episode: its widest allowed audience (the narrowest consent of its entries) "
            "and the entries that limit it, each part's problem, the latest render request "
            "and the current render's files (`current.audio_url` ends in .mp3)",
            _json(state), params=[_id("episode_id")])},
        "/episodes/{episode_id}/render": {"post": _op(
            "Queue a render of the episode as it is now; the current render stays "
            "available until it is done. Refused (422, the part's problem as the code) "
            "while a part is withdrawn, narrowed, unapproved or changed",
            _json("#/components/schemas/RenderStarted", "Accepted"), status="202",
            params=[_id("episode_id")], errors=("422",))},
    }


def _episode_schemas() -> dict[str, Any]:
    nullable_str = {"type": "string", "nullable": True}
    nullable_num = {"type": "number", "nullable": True}
    audience = {"type": "string", "enum": ["organisation", "public"], "nullable": True}
    url = {"type": "string", "format": "uri-reference"}
    return {
        "NewSegment": {"type": "object", "description": "One of entry_id or upload_id, and "
                       "optionally an edit list's settings", "properties": {
                           "entry_id": {"type": "integer"},
                           "upload_id": {"type": "string", "description": "A finished "
                                         "resumable upload: a co-host recording"},
                           "title": {"type": "string", "maxLength": 200},
                           "trim_start": {"type": "number", "minimum": 0},
                           "trim_end": nullable_num,
                           "cut_words": {"type": "array", "description": "Inclusive word "
                                         "index ranges of the redacted transcript",
                                         "items": {"type": "array", "minItems": 2,
                                                   "maxItems": 2,
                                                   "items": {"type": "integer"}}},
                           "cut_ranges": {"type": "array", "items": {
                               "type": "array", "items": {"type": "number"}}},
                           "remove_fillers": {"type": "boolean"},
                           "shorten_pauses": {"type": "boolean"},
                           "gain_db": {"type": "number", "minimum": -20, "maximum": 20},
                           "crossfade": {"type": "number", "minimum": 0, "maximum": 5}}},
        "NewEpisode": {"type": "object", "required": ["title"], "properties": {
            "title": {"type": "string", "maxLength": 200},
            "description": {"type": "string", "description": "Show notes (Markdown)"},
            "season": {"type": "integer", "nullable": True},
            "number": {"type": "integer", "nullable": True},
            "theme": {"type": "string", "maxLength": 100, "nullable": True},
            "segments": {"type": "array",
                         "items": {"$ref": "#/components/schemas/NewSegment"}}}},
        "RenderStarted": {"type": "object", "required": ["job_id", "render_id"],
                          "properties": {"job_id": {"type": "integer"},
                                         "render_id": {"type": "integer"}}},
        "Episode": {"type": "object", "properties": {
            "id": {"type": "integer"}, "title": {"type": "string"},
            "notes": {"type": "string"}, "notes_html": {"type": "string"},
            "season": {"type": "integer", "nullable": True},
            "number": {"type": "integer", "nullable": True}, "theme": nullable_str,
            "version": {"type": "integer"}, "cover_url": nullable_str,
            "audience": audience,
            "limited_by": {"type": "array", "items": {"type": "object", "properties": {
                "entry_id": {"type": "integer"}, "audience": {"type": "string"}}}},
            "problems": {"type": "array", "items": {"type": "object", "properties": {
                "segment_id": {"type": "integer"},
                "problem": {"type": "string",
                            "enum": ["withdrawn", "narrowed", "unapproved", "changed"]},
                "message": {"type": "string"}}}},
            "cohosts": {"type": "array", "items": {"type": "object", "properties": {
                "user_id": {"type": "integer"}, "name": {"type": "string"},
                "released": {"type": "boolean"}}}},
            "segments": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "kind": {"type": "string",
                                                    "enum": ["entry", "recording", "music"]},
                "position": {"type": "integer"}, "title": {"type": "string"},
                "version": {"type": "integer"}, "edits": {"type": "object"},
                "entry_id": {"type": "integer", "nullable": True},
                "duration": nullable_num, "kept_duration": {"type": "number"},
                "words": {"type": "array", "items": {"type": "object"}},
                "audio_url": nullable_str, "peaks_url": nullable_str,
                "problem": nullable_str}}},
            "duration": {"type": "number", "description": "Seconds, by the edit lists"},
            "render": {"type": "object", "nullable": True, "properties": {
                "id": {"type": "integer"}, "state": {"type": "string", "enum": [
                    "queued", "running", "done", "failed", "deleted"]},
                "progress": {"type": "integer"}, "job_id": {"type": "integer"},
                "error": nullable_str}},
            "current": {"type": "object", "nullable": True, "properties": {
                "id": {"type": "integer"}, "audio_url": url, "opus_url": url,
                "chapters_url": url, "vtt_url": url, "srt_url": url,
                "duration": {"type": "number"}, "lufs": {"type": "number"},
                "true_peak": {"type": "number"},
                "created_at": {"type": "string", "format": "date-time"},
                "requested_by": nullable_str}},
            "history": {"type": "array", "items": {"type": "object"}},
            "comments": {"type": "array", "items": {"type": "object"}}}},
    }


def _listener_paths() -> dict[str, Any]:
    """Listeners' private feed links: staff and admins."""
    return {
        "/listeners": {"post": _op(
            "Give the account with `email` (of your organisation) a private feed link; "
            "their older link stops working (its feed and files answer 410). Unknown or "
            "another organisation's account: 404",
            {"description": "Created", "content": {"application/json": {"schema": {
                "type": "object", "required": ["id", "feed_url"], "properties": {
                    "id": {"type": "integer"},
                    "feed_url": {"type": "string", "format": "uri"}}}}}},
            status="201", errors=("404",), body={"required": True, "content": {
                "application/json": {"schema": {
                    "type": "object", "required": ["email"],
                    "properties": {"email": {"type": "string", "format": "email"}}}}}})},
        "/listeners/{listener_id}": {"delete": _op(
            "Turn a private feed link off: its feed and its files answer 410 from now on",
            {"description": "Revoked"}, status="204", params=[_id("listener_id")])},
    }


def _publishing_paths() -> dict[str, Any]:
    """Publishing: staff and admins."""
    state = "#/components/schemas/PublicationState"
    body = {"content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/PublishRequest"}}}}
    return {
        "/episodes/{episode_id}/publish": {"post": _op(
            "Publish the episode's current render: `internal` (the organisation's private "
            "feeds; every entry's consent at least `organisation`) or `public` (the same "
            "render live internally, approved by someone else; every entry's consent "
            "`public`, every co-host's release, the show's details complete, the stored "
            "audio byte for byte the audio approved). 422 codes: `invalid_audience`, "
            "`consent_too_narrow`, `same_approver`, `not_released`, `show_incomplete`; 409 "
            "codes: `stale_render`, `not_internal_first`, `already_published`, "
            "`hash_mismatch`", _json(state), params=[_id("episode_id")], errors=("409",),
            body={"required": True, **body})},
        "/episodes/{episode_id}/unpublish": {"post": _op(
            "End the live publications of `audience`, or of both without one (ending "
            "`internal` ends `public` too); nothing live is not an error",
            _json(state), params=[_id("episode_id")], body={"required": False, **body})},
    }


def _publishing_schemas() -> dict[str, Any]:
    stage = {"type": "object", "nullable": True, "properties": {
        "publication_id": {"type": "integer"}, "render_id": {"type": "integer"},
        "current_render": {"type": "boolean"},
        "approved_by_id": {"type": "integer", "nullable": True},
        "approved_by": {"type": "string"},
        "approved_at": {"type": "string", "format": "date-time"},
        "copy": {"type": "boolean"}}}
    possible = {"type": "object", "properties": {
        "possible": {"type": "boolean"},
        "code": {"type": "string", "nullable": True},
        "reason": {"type": "string", "nullable": True}}}
    return {
        "PublishRequest": {"type": "object", "properties": {
            "audience": {"type": "string", "enum": ["internal", "public"]}}},
        "PublicationState": {"type": "object", "properties": {
            "episode_id": {"type": "integer"},
            "guid": {"type": "string", "nullable": True,
                     "description": "The episode's feed guid, fixed at first publication"},
            "current_render_id": {"type": "integer", "nullable": True},
            "internal": stage, "public": stage,
            "can_publish": {"type": "object", "properties": {
                "internal": possible, "public": possible}},
            "history": {"type": "array", "items": {"type": "object", "properties": {
                "at": {"type": "string", "format": "date-time"},
                "action": {"type": "string",
                           "enum": ["published", "unpublished", "ended", "refused"]},
                "audience": {"type": "string", "enum": ["internal", "public"]},
                "render_id": {"type": "integer", "nullable": True},
                "publication_id": {"type": "integer", "nullable": True},
                "user_id": {"type": "integer", "nullable": True},
                "by": {"type": "string"},
                "detail": {"type": "string", "nullable": True}}}}}},
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Diary Room API", "version": "1",
                 "description": "Errors are JSON: {\"error\": {\"code\", \"message\"}}. "
                                "Every answer carries an X-Request-ID; a 500 or 503 says "
                                "only to try again, with that id as its reference. A "
                                "withdrawn entry answers 410 to anything but GET "
                                "/entries/{entry_id}, which gives its tombstone."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/openapi.json": {"get": _op("This document", {"description": "OpenAPI 3"},
                                         secured=False)},
            "/me": {"get": _op("Who the token belongs to", _json("#/components/schemas/Me"))},
            "/jobs/{job_id}": {"get": _op("A background job's state and progress (co-hosts: "
                                          "episode renders only)",
                                          _json("#/components/schemas/Job"),
                                          params=[_id("job_id")])},
            "/entries": {
                "get": _op("Entries of your organisation, newest first",
                           _json("#/components/schemas/EntryList")),
                "post": _create_entry(),
            },
            "/entries/{entry_id}": {"get": _op("One entry, with its receipt code and consent "
                                               "history", _json("#/components/schemas/Entry"),
                                               params=[_id("entry_id")])},
            "/entries/{entry_id}/transcript": {
                "get": _op("The redacted transcript (words with times, placeholders, "
                           "redaction list, no redacted text). `?original=1` gives the "
                           "unredacted words instead, and is recorded in the audit trail",
                           _json("#/components/schemas/Transcript"),
                           params=[_id("entry_id"), {
                               "name": "original", "in": "query", "required": False,
                               "schema": {"type": "string", "enum": ["1", "true"]}}],
                           errors=("410",))},
            "/entries/{entry_id}/redactions": {
                "get": _op("The entry's redactions (type, word range, times, keyed hash)",
                           _json("#/components/schemas/RedactionList"),
                           params=[_id("entry_id")], errors=("410",)),
                "post": _op("Add a redaction over words `first`..`last` with a `type`, or "
                            "remove the one covering `word`; the audio is re-rendered",
                            _json("#/components/schemas/Entry"), params=[_id("entry_id")],
                            errors=("409", "410"), body={"required": True, "content": {
                                "application/json": {"schema": {
                                    "$ref": "#/components/schemas/RedactionChange"}}}})},
            "/entries/{entry_id}/approve": {
                "post": _op("Approve the reviewed entry (its latest render) for podcast "
                            "work", _json("#/components/schemas/Entry"),
                            params=[_id("entry_id")], errors=("409", "410"))},
            "/entries/{entry_id}/send-back": {
                "post": _op("Undo an approval, or stop an entry in review, with a reason",
                            _json("#/components/schemas/Entry"), params=[_id("entry_id")],
                            errors=("409", "410"), body={"required": True, "content": {
                                "application/json": {"schema": {
                                    "type": "object", "required": ["reason"],
                                    "properties": {"reason": {"type": "string"}}}}}})},
            "/entries/{entry_id}/reprocess": {
                "post": _op("Run the pipeline again on an entry that needs attention",
                            _json("#/components/schemas/Entry", "Accepted"), status="202",
                            params=[_id("entry_id")], errors=("409", "410"))},
            "/entries/{entry_id}/withdraw": {
                "post": _op("Withdraw an entry on the person's behalf: media and text are "
                            "deleted, the consent history stays",
                            _json("#/components/schemas/Entry"), params=[_id("entry_id")])},
            "/receipts/{code}/consent": {
                "post": _op("Change the consent of the entry with this receipt code",
                            _json("#/components/schemas/ReceiptResult"), params=[_code()],
                            errors=("422", "429"),
                            body={"required": True, "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Consent"}}}})},
            "/receipts/{code}/withdraw": {
                "post": _op("Withdraw the entry with this receipt code",
                            _json("#/components/schemas/ReceiptResult"), params=[_code()],
                            errors=("429",))},
            **_episode_paths(),
            **_publishing_paths(),
            **_listener_paths(),
            # tus 1.0.0 (https://tus.io/protocols/resumable-upload); every request but
            # OPTIONS sends Tus-Resumable: 1.0.0 (412 without it).
            "/uploads": {
                "options": _op("What the server supports (Tus-Version, Tus-Extension, "
                               "Tus-Max-Size, Tus-Checksum-Algorithm headers)",
                               {"description": "No content; the headers say"},
                               status="204"),
                "post": _op("Start a resumable upload (tus 1.0.0 creation: Upload-Length, "
                            "Upload-Metadata headers)", {"description": "Created; Location "
                                                         "header names the upload"},
                            status="201", errors=("400", "412", "413", "429"))},
            "/uploads/{upload_id}": {
                "options": _op("What the server supports (as OPTIONS /uploads)",
                               {"description": "No content; the headers say"},
                               status="204", params=[_upload_id()]),
                "head": _op("How much of an upload the server has (Upload-Offset)",
                            {"description": "Upload-Offset and Upload-Length headers"},
                            params=[_upload_id()], errors=("410", "412")),
                "patch": _op("Append bytes at Upload-Offset "
                             "(Content-Type: application/offset+octet-stream)",
                             {"description": "Appended; new Upload-Offset"}, status="204",
                             params=[_upload_id()],
                             errors=("400", "409", "410", "412", "413", "415", "423",
                                     "460")),
                "delete": _op("Abandon an upload (tus termination)",
                              {"description": "Deleted"}, status="204",
                              params=[_upload_id()], errors=("410", "412", "423")),
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": _json("#/components/schemas/Error", "Error")},
            "schemas": {**_schemas(), **_episode_schemas(), **_publishing_schemas()},
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
            "error": nullable_str, "attempts": {"type": "integer"},
            "retry_at": {"type": "string", "format": "date-time", "nullable": True,
                         "description": "A queued job is not run before this (its back-off "
                                        "after a temporary failure)"}}},
        "RetryWait": {"type": "object", "nullable": True, "description":
                      "The entry's processing is waiting to try again after a temporary "
                      "failure (storage, network, queue or database unreachable)",
                      "properties": {
                          "reason": {"type": "string"},
                          "attempt": {"type": "integer", "description": "the next attempt"},
                          "max_attempts": {"type": "integer"},
                          "retry_at": {"type": "string", "format": "date-time"},
                          "message": {"type": "string", "description":
                                      "e.g. waiting to retry (storage unavailable), "
                                      "attempt 2 of 6, next try in ~20 s"}}},
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
            "created_at": {"type": "string", "format": "date-time"},
            "receipt_code": {"type": "string", "nullable": True},
            "consent_history": {"type": "array", "items": {"type": "object"}},
            "urgent": {"type": "boolean"},
            "redaction_revision": {"type": "integer"},
            "rendered_revision": {"type": "integer", "nullable": True},
            "retry": {"$ref": "#/components/schemas/RetryWait"},
            "flags": {"type": "array", "description": "Safeguarding flags (staff only)",
                      "items": {"type": "object", "properties": {
                          "category": {"type": "string"}, "first_word": {"type": "integer"},
                          "last_word": {"type": "integer"}, "phrase": {"type": "string"}}}},
            "redactions": {"type": "array",
                           "items": {"$ref": "#/components/schemas/Redaction"}}}},
        "Redaction": {"type": "object", "properties": {
            "first_word": {"type": "integer"}, "last_word": {"type": "integer"},
            "type": {"type": "string"}, "source": {"type": "string",
                                                   "enum": ["auto", "local", "staff", "sweep"]},
            "start": {"type": "number", "nullable": True},
            "end": {"type": "number", "nullable": True}, "text_hash": {"type": "string"}}},
        "RedactionList": {"type": "object", "properties": {
            "redactions": {"type": "array",
                           "items": {"$ref": "#/components/schemas/Redaction"}}}},
        "RedactionChange": {"type": "object", "required": ["action"], "properties": {
            "action": {"type": "string", "enum": ["add", "remove"]},
            "first": {"type": "integer"}, "last": {"type": "integer"},
            "type": {"type": "string"}, "word": {"type": "integer"}}},
        "EntryList": {"type": "object", "properties": {
            "entries": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}}}},
        "Created": {"type": "object", "properties": {
            "id": {"type": "integer"}, "receipt_code": {"type": "string"},
            "status": {"type": "string"}, "job_id": {"type": "integer", "nullable": True}}},
        "NewEntry": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["audio", "video", "text"]},
            "upload_id": {"type": "string"}, "text": {"type": "string", "maxLength": 10000},
            "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$",
                       "description": "SHA-256 of the uploaded bytes; checked before saving"},
            "consent": {"$ref": "#/components/schemas/Consent"},
            "prompt_id": {"type": "integer", "nullable": True}}},
        "NewEntryForm": {"type": "object", "properties": {
            "media": {"type": "string", "format": "binary"},
            "upload_id": {"type": "string", "description": "A finished upload, instead of "
                                                           "media"},
            "kind": {"type": "string", "enum": ["audio", "video"]},
            "consent": {"type": "string", "description": "Consent as JSON"},
            "prompt_id": {"type": "integer"}}},
        "ReceiptResult": {"type": "object", "properties": {
            "id": {"type": "integer"}, "status": {"type": "string"},
            "consent": {"$ref": "#/components/schemas/Consent"}}},
        "Transcript": {"type": "object", "properties": {
            "original": {"type": "boolean"}, "revision": {"type": "integer"},
            "language": {"type": "string", "nullable": True},
            "duration": {"type": "number"}, "text": {"type": "string"},
            "segments": {"type": "array", "items": {"type": "object"}},
            "words": {"type": "array", "items": {"type": "object"}},
            "redactions": {"type": "array", "items": {"type": "object"}}}},
    }
