"""Resumable uploads: tus 1.0.0 core with the creation, expiration, termination and
checksum extensions (https://tus.io/protocols/resumable-upload).

Bytes go to ``<DATA_DIR>/uploads/<id>.part`` and are fsynced before the new offset is
committed, so the database never claims bytes that are not durable. A crash can leave
the file longer than the committed offset; the next HEAD or PATCH cuts it back. One
request at a time writes an upload (``flock`` on its file; a second one gets 423).
An upload is seen only by the kiosk or user that created it, in its organisation, and
each of them may hold only a few unfinished uploads and reserve only so many bytes at once.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import fcntl
import functools
import hashlib
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from flask import Blueprint, current_app, request, url_for
from sqlalchemy import JSON, BigInteger, ForeignKey, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import (
    BadRequest,
    ClientDisconnected,
    Gone,
    HTTPException,
    Locked,
    NotFound,
    PreconditionFailed,
    RequestEntityTooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)
from werkzeug.http import http_date

from . import jobs, tenancy
from .auth import Principal, allow, current_principal
from .bodylimit import accepts_media
from .config import private_dir
from .errors import InvalidInput
from .extensions import db
from .models import Kiosk, OrgScoped, User, utcnow

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,expiration,termination,checksum"
CHECKSUMS: dict[str, Callable[[], Any]] = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}
OCTETS = "application/offset+octet-stream"
CHUNK = 64 * 1024
MAX_METADATA = 4096      # characters of Upload-Metadata
ORPHAN_GRACE = 600       # seconds before a part file without a row may be removed
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
QUOTA_RETRY_AFTER = 60   # seconds: a kiosk's earlier recording has usually finished by then


class Upload(OrgScoped, db.Model):
    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(32), primary_key=True,
                                    default=lambda: secrets.token_hex(16))
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    # ``metadata`` is reserved by SQLAlchemy's declarative base, hence ``meta``.
    meta: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    completed_at: Mapped[dt.datetime | None]
    consumed_at: Mapped[dt.datetime | None]
    # The entry made from this upload, so a kiosk that lost the reply can ask again.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    sha256: Mapped[str | None] = mapped_column(String(64))

    @property
    def complete(self) -> bool:
        return self.offset >= self.length


class OffsetMismatch(HTTPException):
    code = 409
    name = "Offset Mismatch"


class ChecksumMismatch(HTTPException):
    code = 460
    name = "Checksum Mismatch"
    description = "the chunk does not match its Upload-Checksum; it was discarded, send it again"


def upload_dir() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "uploads"


def _private_file(path: str, flags: int) -> int:
    """An ``open`` opener: a new part file is the owner's alone (0600), whatever the umask."""
    return os.open(path, flags, 0o600)


def part_path(upload_id: str) -> Path:
    return upload_dir() / f"{upload_id}.part"


def _remove_file(upload_id: str) -> None:
    part_path(upload_id).unlink(missing_ok=True)


def _owned_by(upload: Upload, principal: Principal | None) -> bool:
    if principal is None or upload.org_id != principal.org_id:
        return False
    if principal.kind == "kiosk":
        return upload.kiosk_id is not None and upload.kiosk_id == principal.kiosk.id
    return upload.user_id is not None and upload.user_id == principal.user.id


def _find(upload_id: str, principal: Principal | None) -> Upload | None:
    if not UPLOAD_ID.fullmatch(upload_id or ""):
        return None
    upload = db.session.scalar(select(Upload).where(Upload.id == upload_id))
    return upload if upload is not None and _owned_by(upload, principal) else None


# --- service functions for the code that turns a finished upload into an entry -------

def claim_completed_upload(upload_id: str, principal: Principal) -> tuple[Path, Upload]:
    """The complete file of this principal's upload, not yet used for an entry."""
    upload = _find(upload_id, principal)
    if upload is None or upload.expires_at <= utcnow():
        raise InvalidInput("no such upload (it may have expired)", code="upload_not_found")
    if upload.consumed_at is not None:
        raise InvalidInput("this upload has already been used", code="upload_already_used")
    if not upload.complete or upload.completed_at is None:
        raise InvalidInput(f"this upload is not finished ({upload.offset} of {upload.length} "
                           "bytes received)", code="upload_incomplete")
    path = part_path(upload.id)
    if not path.exists():
        raise InvalidInput("this upload's data is gone; upload it again",
                           code="upload_not_found")
    return path, upload


def entry_made_from(upload_id: str, principal: Principal) -> int | None:
    """The entry this principal already made from this upload, if any."""
    upload = _find(upload_id, principal)
    return upload.entry_id if upload is not None and upload.consumed_at else None


def mark_consumed(upload: Upload, entry_id: int | None = None) -> None:
    """Mark an upload used, atomically; the caller commits it with the new entry. A
    second request racing with the same id gets ``upload_already_used``."""
    now = utcnow()
    result = db.session.execute(update(Upload).where(
        Upload.id == upload.id, Upload.consumed_at.is_(None)).values(
            consumed_at=now, entry_id=entry_id))
    if result.rowcount != 1:
        raise InvalidInput("this upload has already been used", code="upload_already_used")
    upload.consumed_at, upload.entry_id = now, entry_id


def discard(upload: Upload, *, keep_record: bool = False) -> None:
    """Delete the part file, and the row too unless ``keep_record`` (a consumed upload's
    row refuses replays until it expires). The caller commits."""
    _remove_file(upload.id)
    if not keep_record:
        db.session.delete(upload)


def purge_expired(now: dt.datetime | None = None) -> int:
    """Delete expired uploads, the files of consumed ones, and stray part files."""
    now = now or utcnow()
    removed = 0
    with tenancy.unscoped():
        for upload in db.session.scalars(select(Upload).where(Upload.expires_at <= now)).all():
            discard(upload)
            removed += 1
        for upload_id in db.session.scalars(
                select(Upload.id).where(Upload.consumed_at.is_not(None))).all():
            _remove_file(upload_id)
        db.session.commit()
        known = set(db.session.scalars(select(Upload.id)))
    for path in upload_dir().glob("*.part"):
        if path.stem not in known and time.time() - path.stat().st_mtime > ORPHAN_GRACE:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


jobs.MAINTENANCE.append(purge_expired)  # the sweeper runs it


# --- the protocol -------------------------------------------------------------------

@contextmanager
def _locked(upload: Upload) -> Iterator[IO[bytes]]:
    """The upload's part file, opened for appending and exclusively locked (423 if not)."""
    private_dir(upload_dir())
    with open(part_path(upload.id), "ab", opener=_private_file) as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Locked("another request is writing this upload; try again shortly") from None
        try:
            yield fh
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _truncate(fh: IO[bytes], size: int) -> None:
    fh.flush()
    os.ftruncate(fh.fileno(), size)
    os.fsync(fh.fileno())


def _repair(upload: Upload, fh: IO[bytes]) -> None:
    """Bring file and committed offset back into line after a crash (under the lock)."""
    db.session.refresh(upload)
    size = os.fstat(fh.fileno()).st_size
    if size > upload.offset:    # bytes written but never committed: drop them
        _truncate(fh, upload.offset)
    elif size < upload.offset:  # bytes lost (should not happen): resume from what is there
        upload.offset, upload.completed_at, upload.sha256 = size, None, None
        db.session.commit()


def _require_tus() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise PreconditionFailed(f"send the header Tus-Resumable: {TUS_VERSION}")


def _int_header(name: str) -> int:
    raw = request.headers.get(name, "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        raise BadRequest(f"the {name} header must be a whole number of bytes")
    return int(raw)


def _get_upload(upload_id: str) -> Upload:
    upload = _find(upload_id, current_principal())
    if upload is None:
        raise NotFound("no such upload")
    if upload.expires_at <= utcnow():
        discard(upload)
        db.session.commit()
        raise Gone("this upload has expired; start it again")
    return upload


def parse_metadata(header: str) -> dict[str, str]:
    """Decode ``Upload-Metadata``: comma-separated ``key base64value`` pairs."""
    if len(header) > MAX_METADATA:
        raise BadRequest("Upload-Metadata is too long")
    meta: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        if not key.isascii() or key in meta:
            raise BadRequest(f"Upload-Metadata has a bad or repeated key {key!r}")
        try:
            meta[key] = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(f"Upload-Metadata value of {key!r} is not base64 UTF-8") from None
    return meta


def _encode_metadata(meta: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())


def _expiry_headers(upload: Upload) -> dict[str, str]:
    return {"Upload-Expires": http_date(upload.expires_at.replace(tzinfo=dt.UTC))}


def _new_expiry() -> dt.datetime:
    return utcnow() + dt.timedelta(hours=current_app.config["UPLOAD_EXPIRY_HOURS"])


def tus_options(**_: str):
    return "", 204, {"Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS,
                     "Tus-Max-Size": str(current_app.config["MAX_CONTENT_LENGTH"]),
                     "Tus-Checksum-Algorithm": ",".join(CHECKSUMS)}


def _lock_principal(principal: Principal) -> None:
    """Serialise one kiosk's or account's creates. On PostgreSQL two creates could both
    count before either inserts; the row lock makes the second wait for the first to
    commit. SQLite needs no lock here: its one writer at a time does the same."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    model, row_id = (Kiosk, principal.kiosk.id) if principal.kiosk else (User, principal.user.id)
    db.session.execute(select(model.id).where(model.id == row_id).with_for_update())


def _check_quota(principal: Principal) -> None:
    """Refuse a create that takes this principal past its unfinished uploads (429) or
    the bytes they reserve (413). Finished, expired and deleted uploads do not count."""
    config = current_app.config
    mine = (Upload.kiosk_id == principal.kiosk.id if principal.kiosk
            else Upload.user_id == principal.user.id)
    count, reserved = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Upload.length), 0)).where(
            mine, Upload.completed_at.is_(None), Upload.expires_at > utcnow())).one()
    who = "This kiosk" if principal.kiosk else "You"
    has = "has" if principal.kiosk else "have"
    if count > config["MAX_OPEN_UPLOADS"]:
        raise TooManyRequests(
            f"{who} already {has} {config['MAX_OPEN_UPLOADS']} unfinished uploads. Finish or "
            "cancel one of them, then try again.", retry_after=QUOTA_RETRY_AFTER)
    if reserved > config["MAX_RESERVED_BYTES"]:
        mb = config["MAX_RESERVED_BYTES"] // (1024 * 1024)
        raise RequestEntityTooLarge(
            f"{who} already {has} unfinished uploads holding most of the {mb} MB allowed at "
            "once. Finish or cancel one of them, then try again.")


def tus_create():
    _require_tus()
    if "Upload-Defer-Length" in request.headers:
        raise BadRequest("deferred length is not supported: send Upload-Length")
    length = _int_header("Upload-Length")
    if length > current_app.config["MAX_CONTENT_LENGTH"]:
        raise RequestEntityTooLarge("this upload is larger than the server accepts")
    principal = current_principal()
    upload = Upload(org_id=principal.org_id, length=length, offset=0, expires_at=_new_expiry(),
                    meta=parse_metadata(request.headers.get("Upload-Metadata", "")),
                    kiosk_id=principal.kiosk.id if principal.kiosk else None,
                    user_id=principal.user.id if principal.user else None)
    if length == 0:
        upload.completed_at, upload.sha256 = utcnow(), hashlib.sha256().hexdigest()
    _lock_principal(principal)
    db.session.add(upload)
    db.session.flush()  # on SQLite this takes the write lock: creates queue up behind it
    try:
        _check_quota(principal)  # counted with the new upload, inside the same transaction
    except HTTPException:
        db.session.rollback()
        raise
    db.session.commit()
    private_dir(upload_dir())
    os.close(_private_file(str(part_path(upload.id)), os.O_WRONLY | os.O_CREAT))
    # A path, not a URL: copying the request's Host header would let a forged one send
    # the client elsewhere, and tus clients resolve it against the endpoint they called.
    location = url_for(".tus_head", upload_id=upload.id)
    return "", 201, {"Location": location, **_expiry_headers(upload)}


def tus_head(upload_id: str):
    _require_tus()
    upload = _get_upload(upload_id)
    if not upload.complete:
        try:
            with _locked(upload) as fh:
                _repair(upload, fh)
        except Locked:
            pass  # a PATCH is writing: the committed offset is still the truth
    headers = {"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length),
               "Cache-Control": "no-store", **_expiry_headers(upload)}
    if upload.meta:
        headers["Upload-Metadata"] = _encode_metadata(upload.meta)
    return "", 200, headers


def _checksum() -> tuple[Any, bytes] | None:
    raw = request.headers.get("Upload-Checksum")
    if raw is None:
        return None
    name, _, value = raw.strip().partition(" ")
    if name not in CHECKSUMS:
        raise BadRequest(f"Upload-Checksum algorithm must be one of {', '.join(CHECKSUMS)}")
    try:
        return CHECKSUMS[name](), base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        raise BadRequest("Upload-Checksum value is not base64") from None


def _append(fh: IO[bytes], room: int, hasher: Any) -> tuple[int, bool]:
    """Stream the body onto the file, fsynced; (bytes written, whether it was cut off)."""
    written, cut_off = 0, False
    try:
        while chunk := request.stream.read(CHUNK):
            written += len(chunk)
            if written > room:
                raise RequestEntityTooLarge("the body goes past Upload-Length")
            if hasher is not None:
                hasher.update(chunk)
            fh.write(chunk)
    except (ClientDisconnected, ConnectionError, TimeoutError):
        cut_off = True  # keep what arrived (tus asks servers to), unless it has a checksum
    fh.flush()
    os.fsync(fh.fileno())
    return written, cut_off


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def tus_patch(upload_id: str):
    _require_tus()
    upload = _get_upload(upload_id)
    if request.mimetype != OCTETS:
        raise UnsupportedMediaType(f"send the chunk as Content-Type: {OCTETS}")
    offset, checksum = _int_header("Upload-Offset"), _checksum()
    if upload.complete:  # nothing more to write, and its file may already have been used
        if offset != upload.offset:
            raise OffsetMismatch(f"the upload is complete at offset {upload.offset}")
        if request.content_length:
            raise RequestEntityTooLarge("the upload is already complete")
        return "", 204, {"Upload-Offset": str(upload.offset), **_expiry_headers(upload)}
    with _locked(upload) as fh:
        _repair(upload, fh)
        if offset != upload.offset:
            raise OffsetMismatch(f"the upload is at offset {upload.offset}, not {offset}")
        room = upload.length - upload.offset
        if (request.content_length or 0) > room:
            raise RequestEntityTooLarge("the body goes past Upload-Length")
        try:
            written, cut_off = _append(fh, room, checksum and checksum[0])
            if checksum and (cut_off or checksum[0].digest() != checksum[1]):
                raise ChecksumMismatch()
        except BaseException:
            _truncate(fh, upload.offset)
            raise
        upload.offset += written
        upload.expires_at = _new_expiry()
        if upload.complete:
            upload.completed_at, upload.sha256 = utcnow(), _file_sha256(part_path(upload.id))
        db.session.commit()  # only now, with the bytes on disk, does the offset move
    return "", 204, {"Upload-Offset": str(upload.offset), **_expiry_headers(upload)}


def tus_delete(upload_id: str):
    _require_tus()
    upload = _get_upload(upload_id)
    with _locked(upload):
        discard(upload)
        db.session.commit()
    return "", 204


def register_tus_routes(bp: Blueprint, *, access: tuple, prefix: str = "/uploads") -> None:
    """Add the tus endpoints (``tus_options``, ``tus_create``, ``tus_head``, ``tus_patch``,
    ``tus_delete``) under ``prefix`` on ``bp``, each allowed to ``access``."""
    def declare(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Any:  # one function per blueprint, each with its access
            return view(**kwargs)
        return allow(*access, machine=True)(wrapper)

    item = prefix + "/<upload_id>"
    rules = [(prefix, tus_options, ["OPTIONS"]), (item, tus_options, ["OPTIONS"]),
             (prefix, tus_create, ["POST"]), (item, tus_head, ["HEAD"]),
             (item, tus_patch, ["PATCH"]), (item, tus_delete, ["DELETE"])]
    views: dict[str, Callable[..., Any]] = {}
    for rule, view, methods in rules:
        views.setdefault(view.__name__, declare(view))
        if view is tus_patch:
            accepts_media(views[view.__name__])
        bp.add_url_rule(rule, view.__name__, views[view.__name__], methods=methods,
                        provide_automatic_options=False)
    endpoints = {f"{bp.name}.{name}" for name in views}

    @bp.after_request
    def tus_headers(response):
        if request.endpoint in endpoints:
            if request.method != "OPTIONS":
                response.headers["Tus-Resumable"] = TUS_VERSION
            if response.status_code == 412:
                response.headers["Tus-Version"] = TUS_VERSION
        return response
