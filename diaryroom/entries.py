"""Entry services: receive a recording, transcribe it, list and show entries.

Views and the CLI call these; they take plain values and return rows, and never
leave a half-made entry behind: the original is stored before the entry is
committed, and removed again if the commit fails.
"""
from __future__ import annotations

import io
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from . import jobs
from .adapters import get_storage, get_transcriber
from .asr import Transcript
from .auth.principal import Principal
from .domain import status as st
from .domain.consent import Consent
from .errors import InvalidInput, MediaError, NotFound
from .extensions import db
from .media import probe
from .models import Entry, Job

log = logging.getLogger(__name__)
ALLOWED_SUFFIXES = {".webm", ".ogg", ".opus", ".mp3", ".m4a", ".mp4", ".wav", ".flac"}
TRANSCRIBE = "transcribe_entry"


def _suffix(filename: str) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        allowed = ", ".join(sorted(ALLOWED_SUFFIXES))
        raise InvalidInput(f"unsupported file type {suffix or '(none)'}; send one of {allowed}",
                           code="unsupported_media")
    return suffix


def receive_recording(principal: Principal, media: BinaryIO, filename: str,
                      consent: Consent) -> tuple[Entry, Job]:
    """Store an uploaded recording as a new entry and queue its transcription."""
    suffix = _suffix(filename)
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        shutil.copyfileobj(media, tmp)
        tmp.flush()
        if tmp.tell() == 0:
            raise InvalidInput("the file is empty", code="empty_media")
        try:
            info = probe(tmp.name)
        except MediaError as e:
            raise InvalidInput(str(e), code="unreadable_media") from None
        if not info.has_audio or info.duration <= 0:
            raise InvalidInput("the file has no audio to transcribe", code="no_audio")
        entry = Entry(org_id=principal.org_id, kind="video" if info.has_video else "audio",
                      status=st.RECEIVED, consent=consent.to_dict(), duration=info.duration,
                      original_filename=Path(filename).name[:200],
                      kiosk_id=principal.kiosk.id if principal.kiosk else None,
                      created_by_id=principal.user.id if principal.user else None)
        db.session.add(entry)
        db.session.flush()  # gives the entry its id for the storage key
        key = f"org/{principal.org_id}/entries/{entry.id}/original{suffix}"
        tmp.seek(0)
        storage = get_storage()
        stored = storage.put(key, tmp)
    try:
        entry.original_key, entry.original_sha256 = stored.key, stored.sha256
        db.session.commit()
    except Exception:
        db.session.rollback()
        storage.delete(key)
        raise
    return entry, jobs.enqueue(TRANSCRIBE, entry.id, org_id=entry.org_id)


def get_entry(entry_id: int) -> Entry:
    """An entry of the current organisation (tenancy scoping makes others invisible)."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(f"entry {entry_id} not found")
    return entry


def list_entries(*, status: str | None = None, limit: int = 200) -> list[Entry]:
    query = select(Entry).order_by(Entry.created_at.desc(), Entry.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Entry.status == status)
    return list(db.session.scalars(query))


def load_transcript(entry: Entry) -> Transcript | None:
    if not entry.transcript_key:
        return None
    with get_storage().open(entry.transcript_key) as fh:
        return Transcript.from_dict(json.load(fh))


def _set_status(entry: Entry, new: str, reason: str | None = None) -> None:
    st.check_transition(entry.status, new)
    entry.status, entry.status_reason = new, reason


def mark_needs_attention(entry_id: int | None, reason: str) -> None:
    """A job gave up: keep the entry (and its original) with the team, saying why."""
    entry = db.session.get(Entry, entry_id) if entry_id else None
    if entry is None or entry.status in (st.WITHDRAWN, st.NEEDS_ATTENTION):
        return
    _set_status(entry, st.NEEDS_ATTENTION, f"transcription failed: {reason}")
    db.session.commit()


@jobs.handler(TRANSCRIBE, on_failure=mark_needs_attention)
def transcribe_entry(ctx: jobs.JobContext, entry_id: int | None) -> None:
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.status not in (st.RECEIVED, st.PROCESSING):
        return  # withdrawn, or already done by an earlier delivery
    _set_status(entry, st.PROCESSING)
    db.session.commit()
    storage = get_storage()
    suffix = Path(entry.original_key).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with storage.open(entry.original_key) as src:
            shutil.copyfileobj(src, tmp)
        tmp.flush()
        transcript = get_transcriber().transcribe(
            tmp.name, on_progress=lambda fraction: ctx.progress(fraction * 95))
    db.session.refresh(entry)
    if entry.status == st.WITHDRAWN:
        return  # withdrawn while we listened: keep nothing
    if not transcript.text.strip():
        _set_status(entry, st.NEEDS_ATTENTION, "no speech was recognised in this recording")
        db.session.commit()
        return
    key = f"org/{entry.org_id}/entries/{entry.id}/transcript.json"
    payload = json.dumps(transcript.to_dict()).encode()
    storage.put(key, io.BytesIO(payload))
    entry.transcript_key, entry.language = key, transcript.language
    entry.duration = transcript.duration or entry.duration
    _set_status(entry, st.AWAITING_REVIEW)
    db.session.commit()
