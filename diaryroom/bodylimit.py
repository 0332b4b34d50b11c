"""How big a request body may be: media routes take up to DIARYROOM_MAX_UPLOAD_MB, every
other body (JSON, forms) at most DIARYROOM_MAX_JSON_KB.

The limit is set on each request before anything reads its body: a Content-Length over
it is refused at once, and a streamed body is read no further than the limit, so an
oversized body never reaches memory.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

F = TypeVar("F", bound=Callable[..., Any])

# A media route still gets the small limit for a JSON body: only these carry media.
MEDIA_TYPES = ("multipart/form-data", "application/offset+octet-stream")
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def accepts_media(view: F) -> F:
    """Mark a view whose multipart or tus body may be as large as an upload."""
    view.accepts_media = True  # type: ignore[attr-defined]
    return view


def _is_media() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "accepts_media", False)) and request.mimetype in MEDIA_TYPES


def _message(media: bool) -> str:
    if media:
        mb = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return f"This file is larger than the server accepts (at most {mb} MB)."
    kb = current_app.config["MAX_JSON_BYTES"] // 1024
    return f"This request is too large: send at most {kb} KB."


def limit_body() -> None:
    media = _is_media()
    limit = current_app.config["MAX_CONTENT_LENGTH" if media else "MAX_JSON_BYTES"]
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(_message(media))
    if media or request.content_length is not None or request.method not in BODY_METHODS:
        request.max_content_length = limit
        return
    # A streamed (chunked) small body: Werkzeug would quietly cut it at the limit, so
    # read one byte past it, keep it for the view (the form parser and get_json reuse it)
    # and refuse if it is there.
    request.max_content_length = limit + 1
    if len(request.get_data(cache=True)) > limit:
        raise RequestEntityTooLarge(_message(media))


def too_large(error: RequestEntityTooLarge):
    from .web import error_response

    message = error.description
    if message == RequestEntityTooLarge.description:  # Werkzeug's words: say ours instead
        message = _message(_is_media())
    return error_response(413, "request_entity_too_large", message)


def init_app(app: Flask) -> None:
    # First of all the hooks: CSRF and sign-in read form bodies in theirs.
    app.before_request_funcs.setdefault(None, []).insert(0, limit_body)
    app.register_error_handler(RequestEntityTooLarge, too_large)
