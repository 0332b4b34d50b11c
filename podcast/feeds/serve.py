"""HTTP for feeds and their files: byte ranges, validators and 304s.

Podcast apps (Apple's above all) fetch audio in ranges: a single range is answered 206
with its exact ``Content-Range``; a range that starts past the end is 416 with
``Content-Range: bytes */<size>``; a header that is not one well-formed byte range
(garbage, or several ranges at once, which no podcast app needs) is ignored and the
whole file sent, as RFC 9110 allows. ``If-Range`` that no longer matches also gets the
whole file. Bytes come from a reader with random access, so a range of an encrypted
file decrypts only the chunks it touches.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Protocol

from flask import Response, request
from werkzeug.http import http_date, is_resource_modified, parse_if_range_header

PIECE = 1024 * 1024  # bytes read per step when streaming (bounded memory per request)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class Reader(Protocol):
    size: int

    def read_at(self, offset: int, length: int) -> bytes: ...


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range asked for, as (first, last) inclusive and clamped to the file;
    None to send the whole file; RangeNotSatisfiable (416) if it starts past the end.

    >>> parse_range("bytes=0-99", 1000), parse_range("bytes=-500", 1000)
    ((0, 99), (500, 999))
    >>> parse_range("bytes=990-2000", 1000), parse_range("bytes=10-", 1000)
    ((990, 999), (10, 999))
    >>> parse_range("bytes=1000-", 1000)
    Traceback (most recent call last):
    podcast.feeds.serve.RangeNotSatisfiable
    >>> [parse_range(h, 1000) for h in (None, "bytes=5-1", "bytes=0-1,5-9", "items=0-1",
    ...                                  "bytes=-", "bytes=x-1")]
    [None, None, None, None, None, None]
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # a suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # not a range at all
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(int(last), size - 1) if last else size - 1


def _pieces(reader: Reader, first: int, last: int) -> Iterator[bytes]:
    offset = first
    while offset <= last:
        data = reader.read_at(offset, min(PIECE, last + 1 - offset))
        if not data:
            return
        yield data
        offset += len(data)


def _if_range_allows(etag: str, modified: dt.datetime | None) -> bool:
    """Whether a Range may be honoured: no If-Range, or one naming this version."""
    value = request.headers.get("If-Range")
    if not value:
        return True
    wanted = parse_if_range_header(value)
    if wanted.etag is not None:
        return wanted.etag == etag
    return wanted.date is not None and modified is not None and modified <= wanted.date


def _validators(response: Response, etag: str, modified: dt.datetime | None,
                cache_control: str) -> Response:
    response.set_etag(etag)
    if modified is not None:
        response.headers["Last-Modified"] = http_date(modified)
    response.headers["Cache-Control"] = cache_control
    return response


def not_modified(etag: str, modified: dt.datetime | None) -> bool:
    """If-None-Match (first) or If-Modified-Since say the client has this version."""
    return not is_resource_modified(request.environ, etag=etag, last_modified=modified)


def _not_modified_response(etag: str, modified: dt.datetime | None,
                           cache_control: str) -> Response:
    return _validators(Response(status=304), etag, modified, cache_control)


def send_feed(body: bytes, *, etag: str, modified: dt.datetime, cache_control: str,
              mimetype: str = "application/rss+xml") -> Response:
    """A built feed, or 304 when the client's copy is current."""
    if not_modified(etag, modified):
        return _not_modified_response(etag, modified, cache_control)
    response = Response(body, mimetype=mimetype)
    return _validators(response, etag, modified, cache_control)


def send_ranged(open_reader: Callable[[], Reader], *, mimetype: str, etag: str,
                modified: dt.datetime | None, cache_control: str) -> Response:
    """The bytes of the reader ``open_reader`` gives, whole or one range, streamed in
    pieces; 304 (without opening anything) if the client's copy is current."""
    if not_modified(etag, modified):
        return _not_modified_response(etag, modified, cache_control)
    reader = open_reader()
    size = reader.size
    try:
        wanted = parse_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        response = Response(status=416)
        response.headers["Content-Range"] = f"bytes */{size}"
        response.headers["Accept-Ranges"] = "bytes"
        return _validators(response, etag, modified, cache_control)
    if wanted is not None and not _if_range_allows(etag, modified):
        wanted = None
    first, last = wanted if wanted is not None else (0, size - 1)
    response = Response(_pieces(reader, first, last), mimetype=mimetype,
                        status=206 if wanted is not None else 200, direct_passthrough=True)
    response.headers["Content-Length"] = str(max(0, last + 1 - first))
    if wanted is not None:
        response.headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    response.headers["Accept-Ranges"] = "bytes"
    return _validators(response, etag, modified, cache_control)
