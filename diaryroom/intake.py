"""Taking in an entry: validate it, keep the original encrypted, record consent and a
receipt, queue the pipeline. And later: changing consent or withdrawing by receipt.

Nothing is half-stored: the original is written before the entry is committed and
removed again if the commit fails; an upload is only marked used in the same commit.
What other features must hear of (a withdrawal, narrowed consent, an approval undone by
a voice change) is announced through ``lifecycle`` after the commit: see
``entry_events`` for why a listener's failure never undoes or hides the change.
"""
from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from . import idempotency, jobs, keys, lifecycle, processing, uploads, workdir
from .adapters import encryption_key, get_private_storage
from .auth.principal import Principal
from .crypto import seal, unseal
from .domain import receipts
from .domain import status as st
from .domain.consent import Consent, is_narrower
from .entry_events import announce
from .errors import Conflict, InvalidInput, NotFound
from .extensions import db
from .media.validate import validate
from .models import ConsentRecord, Entry, Job, utcnow
from .storage import Storage

KINDS = ("audio", "video", "text")
MEDIA_SUFFIXES = {".webm", ".ogg", ".opus", ".mp3", ".m4a", ".mp4", ".wav", ".flac", ".mkv",
                  ".mka"}
MAX_TEXT_CHARS = 10_000
MAX_CARD_ID = 2**31 - 1  # the column is a 32-bit integer
RECEIPT_CONTEXT = b"diaryroom:receipt"
WITHDRAWN_MESSAGE = "This recording has been withdrawn and deleted."


@dataclass(frozen=True)
class Received:
    entry: Entry
    job: Job | None  # None when the entry already existed (a repeated request)
    receipt_code: str


def _actor(principal: Principal) -> str:
    return f"kiosk:{principal.kiosk.id}" if principal.kiosk else f"staff:{principal.user.id}"


def receipt_actor(principal: Principal) -> str:
    """Who acted by receipt code, for the consent history: ``receipt@kiosk:3``."""
    return "receipt@" + _actor(principal)


def receive(principal: Principal, data: Mapping, *, media: FileStorage | None = None,
            files_accepted: bool = False, idempotency_key: str | None = None) -> Received:
    """Make an entry from request fields, whichever way it came: written text, a finished
    resumable upload (``upload_id``, optionally its ``sha256``) or, where
    ``files_accepted`` (the API), a file sent whole, whose content may decide the kind.

    With ``idempotency_key`` (the client's own id for this request), a repeat answers
    with the entry the first one made. (A finished upload's id already does that.)"""
    once = idempotency.digest(principal, idempotency_key) if idempotency_key else None
    if once and (made := idempotency.entry_made_with(once)) is not None:
        return Received(made, None, receipt_code(made))

    def stamp(entry: Entry) -> None:
        entry.idempotency_key = once

    try:
        return _receive(principal, data, media=media, files_accepted=files_accepted,
                        on_commit=stamp if once else None)
    except IntegrityError:
        # Its twin, sent at the same moment, committed first: answer with that entry.
        if once and (made := idempotency.entry_made_with(once)) is not None:
            return Received(made, None, receipt_code(made))
        raise


def _receive(principal: Principal, data: Mapping, *, media: FileStorage | None,
             files_accepted: bool, on_commit: Callable[[Entry], None] | None) -> Received:
    kind = parse_kind(data.get("kind"), allow_none=files_accepted)
    consent = parse_consent(data.get("consent"))
    card = parse_card(data.get("prompt_id"))
    if kind == "text":
        return receive_text(principal, data.get("text", ""), consent=consent, card_id=card,
                            on_commit=on_commit)
    if files_accepted and not data.get("upload_id"):
        if media is None:
            raise InvalidInput("send the recording as a multipart field named 'media', or "
                               "the id of a finished upload as 'upload_id'",
                               code="missing_media")
        return receive_file(principal, media.stream, media.filename or "", kind=kind,
                            consent=consent, card_id=card, on_commit=on_commit)
    return receive_upload(principal, str(data.get("upload_id") or ""), kind=kind,
                          consent=consent, card_id=card,
                          sha256=parse_sha256(data.get("sha256")))


def _new_entry(principal: Principal, kind: str, consent: Consent,
               card_id: int | None) -> tuple[Entry, str]:
    code = receipts.generate()
    key = encryption_key()
    consent = consent.for_kind(kind)  # a written entry has no voice to choose
    entry = Entry(org_id=principal.org_id, kind=kind, status=st.RECEIVED,
                  consent=consent.to_dict(), question_card_id=card_id,
                  receipt_hash=receipts.lookup_hash(code, key),
                  receipt_sealed=seal(key, code.encode(), context=RECEIPT_CONTEXT),
                  kiosk_id=principal.kiosk.id if principal.kiosk else None,
                  created_by_id=principal.user.id if principal.user else None)
    db.session.add(entry)
    db.session.flush()  # the entry's id names its storage keys
    db.session.add(ConsentRecord(org_id=entry.org_id, entry_id=entry.id, action="given",
                                 actor=_actor(principal), **consent.to_dict()))
    return entry, code


def _store_and_commit(entry: Entry, key: str, data: BinaryIO, *,
                      extra: Callable[[Entry], None] | None = None,
                      private: Storage | None = None) -> None:
    private = private or get_private_storage()
    stored = private.put(key, data)
    try:
        entry.original_key, entry.original_sha256 = stored.key, stored.sha256
        if extra:
            extra(entry)
        db.session.commit()
    except Exception:
        db.session.rollback()
        private.delete(key)
        raise


def _receive_file(principal: Principal, path: Path, *, filename: str, kind: str | None,
                  consent: Consent, card_id: int | None, on_commit=None) -> Received:
    config = current_app.config
    keep, info = validate(path, kind=kind, max_seconds=config["MAX_RECORDING_SECONDS"],
                          timeout=config["MEDIA_TIMEOUT_SECONDS"])
    entry, code = _new_entry(principal, "video" if info.has_video else "audio", consent,
                             card_id)
    entry.duration, entry.original_filename = info.duration, Path(filename).name[:200] or None
    key = keys.entry_original(entry.org_id, entry.id, keep.suffix)
    with keep.open("rb") as fh:
        _store_and_commit(entry, key, fh, extra=on_commit)
    return Received(entry, jobs.enqueue(processing.PROCESS, entry.id, org_id=entry.org_id), code)


def receive_upload(principal: Principal, upload_id: str, *, kind: str | None,
                   consent: Consent, card_id: int | None = None,
                   sha256: str | None = None) -> Received:
    """Make an entry from a finished resumable upload (used once, then gone).

    Asked again for the same upload by the same kiosk (its first reply was lost), it
    answers with the entry already made, so the person still gets their receipt code.
    """
    made = uploads.entry_made_from(upload_id, principal)
    if made is not None and (entry := db.session.get(Entry, made)) is not None:
        return Received(entry, None, receipt_code(entry))
    path, upload = uploads.claim_completed_upload(upload_id, principal)
    if sha256 is not None and sha256.lower() != (upload.sha256 or ""):
        # The bytes we hold are not the bytes the kiosk recorded: make nothing, so the
        # kiosk (which still has the recording) sends it again.
        uploads.discard(upload)
        db.session.commit()
        raise InvalidInput("The recording arrived damaged. It is still safe on the kiosk "
                           "and will be sent again.", code="checksum_mismatch")
    # Without a filename it is what a kiosk's MediaRecorder makes (the part file's own
    # ".part" must not count). Only a first sieve: validate() judges the content.
    filename = (upload.meta or {}).get("filename") or ""
    suffix = Path(filename).suffix.lower() or ".webm"
    if suffix not in MEDIA_SUFFIXES:
        raise InvalidInput(f"unsupported file type {suffix}", code="unsupported_media")
    with workdir.work_folder(current_app.config["DATA_DIR"]) as folder:
        work = folder / f"upload{suffix}"
        shutil.copyfile(path, work)
        received = _receive_file(principal, work, filename=filename, kind=kind,
                                 consent=consent, card_id=card_id,
                                 on_commit=lambda entry: uploads.mark_consumed(upload, entry.id))
    # Keep the row (marked used) so a replayed id is refused; it goes when it expires.
    uploads.discard(upload, keep_record=True)
    db.session.commit()
    return received


def receive_file(principal: Principal, media: BinaryIO, filename: str, *, kind: str | None,
                 consent: Consent, card_id: int | None = None,
                 on_commit: Callable[[Entry], None] | None = None) -> Received:
    """Make an entry from a file sent in one request (API multipart)."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in MEDIA_SUFFIXES:
        raise InvalidInput(f"unsupported file type {suffix or '(none)'}",
                           code="unsupported_media")
    with workdir.work_folder(current_app.config["DATA_DIR"]) as folder:
        work = folder / f"upload{suffix}"
        with work.open("wb") as fh:
            shutil.copyfileobj(media, fh)
        return _receive_file(principal, work, filename=filename, kind=kind, consent=consent,
                             card_id=card_id, on_commit=on_commit)


def receive_text(principal: Principal, text: str, *, consent: Consent,
                 card_id: int | None = None,
                 on_commit: Callable[[Entry], None] | None = None) -> Received:
    if not isinstance(text, str | None):
        raise InvalidInput("text must be a string", code="invalid_text")
    text = (text or "").strip()
    if not text:
        raise InvalidInput("There is nothing written yet.", code="empty_text")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"Please keep it under {MAX_TEXT_CHARS} characters.",
                           code="text_too_long")
    entry, code = _new_entry(principal, "text", consent, card_id)
    key = keys.entry_original(entry.org_id, entry.id, ".txt")
    _store_and_commit(entry, key, io.BytesIO(text.encode()), extra=on_commit)
    return Received(entry, jobs.enqueue(processing.PROCESS, entry.id, org_id=entry.org_id), code)


def parse_sha256(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise InvalidInput("sha256 must be 64 hexadecimal characters", code="invalid_sha256")
    return value.lower()


def parse_kind(value: str | None, *, allow_none: bool = False) -> str | None:
    if value is None and allow_none:
        return None
    if value not in KINDS:
        raise InvalidInput("kind must be audio, video or text", code="invalid_kind")
    return value


def parse_card(value) -> int | None:
    """The question card's id from a request: a whole number, or None for none."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_CARD_ID:
        raise InvalidInput("prompt_id must be the number of a question card",
                           code="invalid_prompt")
    return value


def parse_consent(data) -> Consent:
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("consent must be an object", code="invalid_consent")
    try:
        return Consent.from_dict(data)
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"consent is not valid: {e}", code="invalid_consent") from None


# -- by receipt ------------------------------------------------------------------------


def find_by_receipt(typed: str) -> Entry:
    """The entry of the current organisation with this receipt code, or NotFound."""
    code = receipts.normalise(typed or "")
    entry = None
    if code:
        digest = receipts.lookup_hash(code, encryption_key())
        entry = db.session.scalar(select(Entry).where(Entry.receipt_hash == digest))
    if entry is None:
        raise NotFound("We could not find a recording with that code. Please check it "
                       "and try again.")
    return entry


def receipt_code(entry: Entry) -> str | None:
    if not entry.receipt_sealed:
        return None
    return unseal(encryption_key(), entry.receipt_sealed, context=RECEIPT_CONTEXT).decode()


def change_consent(entry: Entry, consent: Consent, *, actor: str) -> Entry:
    """Record the person's new choices. The row is written only while the entry is still
    in the status read here (a conditional UPDATE), so a withdrawal that lands in between
    always wins: a withdrawn entry is never put back to review, on any database.

    Once committed, a narrower consent is announced (``CONSENT_NARROWED``), and so is an
    approval the new voice choice undid (``APPROVAL_UNDONE``)."""
    read_status = entry.status
    if read_status == st.WITHDRAWN:
        raise InvalidInput(WITHDRAWN_MESSAGE, code="withdrawn")
    consent = consent.for_kind(entry.kind)
    old = Consent.from_dict(entry.consent).for_kind(entry.kind)
    voice_changed = old.voice != consent.voice
    values: dict = {"consent": consent.to_dict()}
    rerender = voice_changed and entry.kind != "text" and entry.rendered_revision is not None \
        and read_status in (st.AWAITING_REVIEW, st.APPROVED)
    if rerender:
        # The shared audio must follow the person's choice; an approval of the old
        # voice no longer holds, so it goes back to review.
        if read_status == st.APPROVED:
            st.check_transition(read_status, st.AWAITING_REVIEW, decision=True)
            values.update(status=st.AWAITING_REVIEW, approved_at=None, approved_by_id=None,
                          status_reason="the person changed their voice choice: check the "
                                        "new audio")
        values["redaction_revision"] = Entry.redaction_revision + 1
    written = db.session.execute(
        update(Entry).where(Entry.id == entry.id, Entry.status == read_status).values(**values)
        .execution_options(synchronize_session=False))
    if written.rowcount != 1:
        db.session.rollback()  # and read the entry again: it changed since it was loaded
        if entry.status == st.WITHDRAWN:
            raise InvalidInput(WITHDRAWN_MESSAGE, code="withdrawn")
        raise Conflict("This recording changed while your choices were being saved. "
                       "Please try again.")
    db.session.add(ConsentRecord(org_id=entry.org_id, entry_id=entry.id, action="changed",
                                 actor=actor, **consent.to_dict()))
    db.session.commit()
    if rerender:
        jobs.enqueue(processing.RENDER, entry.id, org_id=entry.org_id)
    if is_narrower(consent, old):
        announce(lifecycle.CONSENT_NARROWED, entry_id=entry.id, org_id=entry.org_id,
                 actor=actor)
    if rerender and read_status == st.APPROVED:
        announce(lifecycle.APPROVAL_UNDONE, entry_id=entry.id, org_id=entry.org_id,
                 actor=actor)
    return entry


def withdraw(entry: Entry, *, actor: str, private: Storage | None = None,
             data_dir: str | Path | None = None) -> Entry:
    """Withdraw an entry: its media and text are deleted and only a tombstone is left
    (id, kind, dates, the consent history, and the receipt's lookup hash so that someone
    typing the code is told it is already withdrawn).

    The entry's own files are deleted here, before the commit, so a withdrawal is never
    reported done while they remain (a storage failure fails it, and it can be tried
    again). Copies other features hold are theirs to remove: they hear ``WITHDRAWN``
    after the commit, and a listener's failure does not fail the withdrawal."""
    if entry.status == st.WITHDRAWN:
        return entry
    st.check_transition(entry.status, st.WITHDRAWN)
    private = private or get_private_storage()
    if entry.original_key:
        private.delete(entry.original_key)
    processing.erase_results(entry, private=private)  # transcript, track, renders, rows
    # People name files after themselves, and a hash or a length can identify a copy of
    # the recording kept elsewhere: nothing that came from the recording may stay.
    entry.status, entry.status_reason = st.WITHDRAWN, None
    entry.original_key = entry.transcript_key = entry.audio_key = None
    entry.original_filename = entry.original_sha256 = entry.receipt_sealed = None
    entry.duration, entry.language, entry.question_card_id = None, None, None
    entry.rendered_revision, entry.urgent = None, False
    entry.withdrawn_at = utcnow()
    db.session.execute(update(uploads.Upload).where(uploads.Upload.entry_id == entry.id)
                       .values(meta={}, sha256=None))
    # A job's error may quote what the pipeline read (a file name, a transcript reason).
    db.session.execute(update(Job).where(Job.target_id == entry.id, Job.kind.in_(
        (processing.PROCESS, processing.RENDER))).values(error=None))
    db.session.add(ConsentRecord(org_id=entry.org_id, entry_id=entry.id, action="withdrawn",
                                 actor=actor, **Consent.from_dict(entry.consent).to_dict()))
    db.session.commit()
    # A worker killed mid-job may have left this entry's plaintext in a work folder.
    workdir.sweep(data_dir or current_app.config["DATA_DIR"])
    announce(lifecycle.WITHDRAWN, entry_id=entry.id, org_id=entry.org_id, actor=actor)
    return entry


def consent_history(entry: Entry) -> list[ConsentRecord]:
    return list(db.session.scalars(select(ConsentRecord).where(
        ConsentRecord.entry_id == entry.id).order_by(ConsentRecord.id)))

