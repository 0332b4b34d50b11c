"""Entry services: list and show entries, and the job that transcribes them.

Taking entries in (and consent and receipts) lives in ``intake``.
"""
from __future__ import annotations

import io
import json
import logging
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import select, update

from . import jobs
from .adapters import get_private_storage, get_transcriber
from .asr import Transcript
from .domain import status as st
from .errors import NotFound
from .extensions import db
from .models import Entry, utcnow

log = logging.getLogger(__name__)
TRANSCRIBE = "transcribe_entry"


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
    with get_private_storage().open(entry.transcript_key) as fh:
        return Transcript.from_dict(json.load(fh))


def load_text(entry: Entry) -> str | None:
    """The words of a written entry (decrypted), for the team's review page."""
    if entry.kind != "text" or not entry.original_key:
        return None
    with get_private_storage().open(entry.original_key) as fh:
        return fh.read().decode()


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
    if entry.kind == "text":
        # Written entries need no transcription; the anonymiser reads the text itself.
        _finish_processing(entry, st.AWAITING_REVIEW)
        return
    storage = get_private_storage()
    suffix = Path(entry.original_key).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with storage.open(entry.original_key) as src:
            shutil.copyfileobj(src, tmp)
        tmp.flush()
        transcript = get_transcriber().transcribe(
            tmp.name, on_progress=lambda fraction: ctx.progress(fraction * 95))
    if not transcript.text.strip():
        _finish_processing(entry, st.NEEDS_ATTENTION,
                           reason="no speech was recognised in this recording")
        return
    key = f"org/{entry.org_id}/entries/{entry.id}/transcript.json"
    storage.put(key, io.BytesIO(json.dumps(transcript.to_dict()).encode()))
    if not _finish_processing(entry, st.AWAITING_REVIEW, transcript_key=key,
                              language=transcript.language,
                              duration=transcript.duration or entry.duration):
        storage.delete(key)  # withdrawn while we listened: keep nothing


def _finish_processing(entry: Entry, new: str, *, reason: str | None = None,
                       **values: object) -> bool:
    """Move a processing entry on, unless it was withdrawn meanwhile. The condition is in
    the UPDATE itself, so a withdrawal that lands during the job always wins."""
    st.check_transition(st.PROCESSING, new)
    moved = db.session.execute(
        update(Entry).where(Entry.id == entry.id, Entry.status == st.PROCESSING)
        .values(status=new, status_reason=reason, updated_at=utcnow(), **values)).rowcount
    db.session.commit()
    return moved == 1
