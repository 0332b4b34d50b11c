"""Entry services: find entries and read what the team may read of them.

Taking entries in (and consent and receipts) lives in ``intake``; the pipeline's jobs in
``processing``; review decisions in ``review.service``.
"""
from __future__ import annotations

import json
import logging

from sqlalchemy import select

from .adapters import get_private_storage
from .asr import Transcript
from .domain import status as st
from .errors import NotFound, Withdrawn
from .extensions import db
from .models import Entry

log = logging.getLogger(__name__)


def get_entry(entry_id: int) -> Entry:
    """An entry of the current organisation (tenancy scoping makes others invisible)."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(f"entry {entry_id} not found")
    return entry


def live_entry(entry_id: int) -> Entry:
    """An entry whose recording and words still exist: a withdrawn one raises Withdrawn
    (410), for every route that would read or change what was deleted."""
    entry = get_entry(entry_id)
    if entry.status == st.WITHDRAWN:
        raise Withdrawn()
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


def load_redacted(entry: Entry) -> dict | None:
    """The redacted transcript (or written text) of the entry's last rendered revision."""
    if entry.rendered_revision is None or entry.status == st.WITHDRAWN:
        return None
    with get_private_storage().open(entry.result_key("redacted.json")) as fh:
        return json.load(fh)
