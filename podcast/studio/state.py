"""An episode as the studio page and the API see it: one JSON document (its shape is
in the studio's contract). The page polls it while a render runs; the API returns it."""
from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import select

from diaryroom.domain.consent import EPISODE_AUDIENCES, Consent, narrowest
from diaryroom.extensions import db
from diaryroom.models import Entry, Job, User

from . import sources as src
from .assets import RELEASE_VERSION, notes_html
from .edits import EditError, removals_preview
from .models import Episode, EpisodeCohost, EpisodeComment, EpisodeRender, Segment

RENDER_FILES = {"audio_url": "episode.mp3", "opus_url": "episode.opus",
                "chapters_url": "chapters.json", "vtt_url": "transcript.vtt",
                "srt_url": "transcript.srt"}
NOTHING_TO_REMOVE = {"filler_words": [], "pauses": [], "seconds_saved": 0.0}


def _preview(segment: Segment, words: list[dict]) -> dict:
    """What the one-click buttons would remove, shown before they are clicked: counted
    after the part's other cuts, so "saves 4.1 s" is what the part really loses."""
    if not words:
        return NOTHING_TO_REMOVE
    try:
        return removals_preview(segment.edits or {}, words)
    except EditError:  # edits saved before a refresh no longer fit these words
        return removals_preview({}, words)


def _at(value) -> str | None:
    return value.isoformat() + "Z" if value else None


class _Names:
    """People as this episode knows them: a co-host by the name they chose; anyone
    else by what they do (never an email address)."""

    def __init__(self, episode: Episode):
        self.cohosts = list(db.session.scalars(select(EpisodeCohost).where(
            EpisodeCohost.episode_id == episode.id).order_by(EpisodeCohost.id)))
        self.chosen = {c.user_id: c.display_name for c in self.cohosts}

    def __call__(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id in self.chosen:
            return self.chosen[user_id]
        user = db.session.get(User, user_id)
        role = user.role if user else None
        return {"cohost": "a co-host", "staff": "a staff member",
                "admin": "an administrator"}.get(role or "", "someone")


def _url(endpoint: str, external: bool, **values: Any) -> str:
    return url_for(endpoint, _external=external, **values)


def _segment_json(segment: Segment, entry: Entry | None, source: src.Source,
                  external: bool) -> dict[str, Any]:
    title = src.default_title(segment)
    problem = src.segment_problem(segment, entry)
    try:
        ranges = src.kept(segment.edits, source)
        kept = sum(end - start for start, end in ranges)
    except (EditError, ValueError):
        kept = 0.0
    usable = problem != "withdrawn" and source.duration is not None
    ids = {"episode_id": segment.episode_id, "segment_id": segment.id}
    item = {
        "id": segment.id, "kind": segment.kind, "position": segment.position,
        "title": title, "version": segment.version, "edits": dict(segment.edits or {}),
        "entry_id": segment.entry_id, "recording_id": segment.recording_id,
        "music_id": segment.music_id, "duration": source.duration, "kept_duration": kept,
        "words": source.words,
        "audio_url": _url("podcast.segment_audio", external, **ids) if usable else None,
        "peaks_url": _url("podcast.segment_peaks", external, **ids) if usable else None,
        "problem": problem,
        "preview": _preview(segment, source.words),
        "findings": source.findings,
    }
    if segment.kind == src.RECORDING:
        item["status"] = source.status
    return item


def _audience(entries: list[Entry]) -> tuple[str | None, list[dict[str, Any]]]:
    """The widest audience the episode may reach (the narrowest consent among its
    entries) and the entries that set it. None when no entry is in it, or one of them
    may not be in an episode at all (that segment's problem says what to do)."""
    consents = [(e.id, Consent.from_dict(e.consent).audience) for e in entries
                if e.status != "withdrawn"]
    if not consents:
        return None, []
    audience = narrowest(a for _, a in consents)
    limited = [{"entry_id": i, "audience": a} for i, a in consents if a == audience]
    return (audience if audience in EPISODE_AUDIENCES else None), limited


def segment_state(segment: Segment, *, external: bool = False) -> dict[str, Any]:
    """One segment as it is in ``episode_state`` (what a save or an undo answers)."""
    entry = db.session.get(Entry, segment.entry_id) if segment.entry_id else None
    return _segment_json(segment, entry, src.segment_source(segment), external)


def _render_json(render: EpisodeRender) -> dict[str, Any]:
    job = db.session.get(Job, render.job_id) if render.job_id else None
    progress = 100 if render.state == "done" else (job.progress if job else 0)
    return {"id": render.id, "state": render.state, "progress": progress,
            "job_id": render.job_id, "error": render.error}


def _current_json(episode: Episode, render: EpisodeRender, names: _Names,
                  external: bool) -> dict[str, Any]:
    urls = {field: _url("podcast.render_file", external, episode_id=episode.id,
                        render_id=render.id, name=name)
            for field, name in RENDER_FILES.items()}
    return {"id": render.id, **urls, "duration": render.duration, "lufs": render.lufs,
            "true_peak": render.true_peak, "created_at": _at(render.created_at),
            "requested_by": names(render.requested_by_id)}


def episode_state(episode: Episode, *, external: bool = False) -> dict[str, Any]:
    """Everything the studio shows of an episode, as JSON (``external``: absolute URLs,
    for API clients)."""
    names = _Names(episode)
    segments = list(db.session.scalars(select(Segment).where(
        Segment.episode_id == episode.id).order_by(Segment.position, Segment.id)))
    entries = {e.id: e for e in db.session.scalars(select(Entry).where(
        Entry.id.in_([s.entry_id for s in segments if s.entry_id is not None])))}
    items, parts, problems = [], [], []
    for segment in segments:
        entry = entries.get(segment.entry_id) if segment.entry_id else None
        source = src.segment_source(segment)
        item = _segment_json(segment, entry, source, external)
        items.append(item)
        if item["problem"]:
            problems.append({"segment_id": segment.id, "problem": item["problem"],
                             "message": src.problem_message(item["problem"], segment.position,
                                                            item["title"])})
        if source.duration is not None:
            parts.append((segment.edits, source, item["title"]))
    audience, limited_by = _audience([entries[i] for i in sorted(entries)])
    renders = list(db.session.scalars(select(EpisodeRender).where(
        EpisodeRender.episode_id == episode.id).order_by(EpisodeRender.id.desc())))
    current = next((r for r in renders if r.id == episode.current_render_id
                    and r.state == "done"), None)
    comments = db.session.scalars(select(EpisodeComment).where(
        EpisodeComment.episode_id == episode.id).order_by(EpisodeComment.id))
    return {
        "id": episode.id, "title": episode.title, "notes": episode.notes or "",
        "notes_html": notes_html(episode.notes or ""), "season": episode.season,
        "number": episode.number, "theme": episode.theme, "version": episode.version,
        "cover_url": _url("podcast.episode_cover", external, episode_id=episode.id)
        if episode.cover_key else None,
        "audience": audience, "limited_by": limited_by, "problems": problems,
        "cohosts": [{"user_id": c.user_id, "name": c.display_name,
                     "released": c.release_version == RELEASE_VERSION}
                    for c in names.cohosts],
        "segments": items,
        "duration": src.planned_duration(parts),
        "render": _render_json(renders[0]) if renders else None,
        "current": _current_json(episode, current, names, external) if current else None,
        "history": [{"id": r.id, "state": r.state, "created_at": _at(r.created_at),
                     "requested_by": names(r.requested_by_id),
                     "deleted_reason": r.deleted_reason} for r in renders],
        "comments": [{"id": c.id, "author": names(c.user_id), "body": c.body,
                      "created_at": _at(c.created_at)} for c in comments],
    }
