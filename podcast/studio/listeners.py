"""What the studio does when an entry's life changes after approval (``lifecycle``).

An episode holding the entry says so at once: each of its segments gets a problem that
tells co-hosts to remove or replace it, and every render holding audio that may not be
heard any more is deleted (its row stays in the history, with the reason). A render
still being made is failed here, and fails again at its own final check if it gets
there first. Each listener is quick and safe to run twice.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from diaryroom import lifecycle, tenancy
from diaryroom.domain.consent import Consent, may_be_in_episode, narrowest
from diaryroom.extensions import db
from diaryroom.models import ConsentRecord, Entry

from . import files
from . import sources as src
from .jobs import CHANGED_WHILE_RENDERING, WITHDRAWN_WHILE_RENDERING
from .models import EpisodeRender, Segment

REASONS = {
    "withdrawn": "An entry in it was withdrawn: its audio was deleted.",
    "narrowed": "The person in one of its entries narrowed their consent.",
    "unapproved": "One of its entries was sent back for another check.",
    "changed": "One of its entries was re-rendered after review changes.",
}


def init_app(app: Flask) -> None:
    lifecycle.subscribe(app, lifecycle.WITHDRAWN, entry_withdrawn)
    lifecycle.subscribe(app, lifecycle.CONSENT_NARROWED, consent_narrowed)
    lifecycle.subscribe(app, lifecycle.APPROVAL_UNDONE, approval_undone)
    lifecycle.subscribe(app, lifecycle.RERENDERED, entry_rerendered)


def _segments(entry_id: int) -> list[Segment]:
    return list(db.session.scalars(select(Segment).where(Segment.entry_id == entry_id)))


def _renders_holding(entry_id: int, holds: Callable[[dict], bool] = lambda item: True
                     ) -> list[EpisodeRender]:
    """Renders (made, or being made) with this entry's audio in them."""
    rows = db.session.scalars(select(EpisodeRender).where(
        EpisodeRender.state.in_(("queued", "running", "done"))))
    return [r for r in rows if entry_id in (r.entry_ids or [])
            and any(item.get("entry_id") == entry_id and holds(item) for item in r.sources)]


def _take_out(entry_id: int, problem: str, *, segments: list[Segment],
              renders: list[EpisodeRender]) -> None:
    for segment in segments:
        segment.problem = src.worse(segment.problem, problem)
    for render in renders:
        if render.state == "done":
            files.remove_render(render, REASONS[problem])
        else:
            files.delete_render_files(render)
            files.mark_failed(render, WITHDRAWN_WHILE_RENDERING if problem == "withdrawn"
                              else CHANGED_WHILE_RENDERING)
    db.session.commit()


def entry_withdrawn(event: lifecycle.EntryEvent) -> None:
    with tenancy.as_org(event.org_id):
        _take_out(event.entry_id, "withdrawn", segments=_segments(event.entry_id),
                  renders=_renders_holding(event.entry_id))
        entry = db.session.get(Entry, event.entry_id)
        if entry is not None:
            files.delete_entry_peaks(entry)


def approval_undone(event: lifecycle.EntryEvent) -> None:
    """Nothing unreviewed may stay shareable: renders holding it go."""
    with tenancy.as_org(event.org_id):
        _take_out(event.entry_id, "unapproved", segments=_segments(event.entry_id),
                  renders=_renders_holding(event.entry_id))


def entry_rerendered(event: lifecycle.EntryEvent) -> None:
    """A new revision replaced the audio segments and renders used: those of an older
    revision are marked and deleted (co-hosts refresh or remove the segment)."""
    with tenancy.as_org(event.org_id):
        entry = db.session.get(Entry, event.entry_id)
        if entry is None:
            return
        current = entry.rendered_revision
        _take_out(entry.id, "changed",
                  segments=[s for s in _segments(entry.id) if s.entry_revision != current],
                  renders=_renders_holding(
                      entry.id, lambda item: item.get("entry_revision") != current))
        files.delete_entry_peaks(entry, keep=current)


def _voice_now_disguised(entry: Entry) -> bool:
    """Whether the latest consent disguised a voice that was natural before (every
    revision made before it has the natural voice in it)."""
    voices = list(db.session.scalars(select(ConsentRecord.voice).where(
        ConsentRecord.entry_id == entry.id, ConsentRecord.action.in_(("given", "changed")))
        .order_by(ConsentRecord.id.desc()).limit(2)))
    return len(voices) == 2 and voices[0] == "disguise" and voices[1] == "natural"


def consent_narrowed(event: lifecycle.EntryEvent) -> None:
    """Out of every episode if it may not be in one any more, or if its voice must now
    be disguised; otherwise the episodes' audiences follow (they are computed from the
    consents) and its renders are recorded with the narrower audience."""
    with tenancy.as_org(event.org_id):
        entry = db.session.get(Entry, event.entry_id)
        if entry is None:
            return
        consent = Consent.from_dict(entry.consent)
        renders = _renders_holding(entry.id)
        if not may_be_in_episode(consent) or _voice_now_disguised(entry):
            _take_out(entry.id, "narrowed", segments=_segments(entry.id), renders=renders)
            return
        for render in renders:
            render.audience = narrowest([a for a in (render.audience, consent.audience) if a])
        db.session.commit()
