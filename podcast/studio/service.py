"""The studio's decisions: episodes, renders and the co-hosts' collaboration, with the
segments' from ``segments``. Views (pages and API) only translate HTTP into these calls.

Every change names the version it was made on and is refused (``Conflict``) if someone
changed it meanwhile (``changes``). The episode's details and the order of its segments
share ``Episode.version``; each segment's edit list has its own.
"""
from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, BinaryIO

from sqlalchemy import delete, select

from diaryroom import jobs, keys, tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.domain import status as st
from diaryroom.domain.consent import Consent, may_be_in_episode
from diaryroom.errors import InvalidInput, NotFound
from diaryroom.extensions import db
from diaryroom.models import Entry, Job, User, utcnow

from . import segments
from . import sources as src
from .assets import RELEASE_VERSION, check_notes, prepare_cover
from .changes import MAX_TITLE, bump, parse_number, parse_text, user_id
from .edits import EditError
from .files import queue_peaks, render_file, segment_peaks
from .jobs import RENDER_EPISODE
from .models import (
    CohostRecording,
    Episode,
    EpisodeCohost,
    EpisodeComment,
    EpisodeRender,
    MusicTrack,
    Segment,
    SegmentEdit,
)
from .plan import PlanError
from .recordings import delete_recording
from .segments import (
    add_segment,
    get_segment,
    move_segment,
    refresh_segment,
    remove_segment,
    save_edits,
    segment_audio,
    undo_edits,
    usable_entry,
)
from .state import episode_state

__all__ = [
    "available_entries", "list_episodes", "get_episode", "get_segment", "create_episode",
    "update_episode", "set_cover", "cover", "add_segment", "move_segment", "remove_segment",
    "refresh_segment", "save_edits", "undo_edits", "request_render", "episode_state",
    "add_comment", "join", "accept_release", "segment_audio", "segment_peaks", "render_file",
    "list_music", "list_recordings", "usable_entry",
]

MAX_THEME = 100
MAX_NAME = 80
MAX_COMMENT = 5000


# -- finding things ----------------------------------------------------------------------

def available_entries() -> list[Entry]:
    """Entries co-hosts may put in an episode: approved, rendered, with audio, and whose
    consent reaches at least the whole organisation (tenancy keeps other organisations
    out). A team-only entry is not even listed."""
    rows = db.session.scalars(select(Entry).where(Entry.status == st.APPROVED,
                                                  Entry.kind != "text")
                              .order_by(Entry.approved_at.desc(), Entry.id.desc()))
    return [e for e in rows if e.rendered and may_be_in_episode(Consent.from_dict(e.consent))]


def list_episodes() -> list[Episode]:
    return list(db.session.scalars(select(Episode).order_by(Episode.updated_at.desc(),
                                                            Episode.id.desc())))


def get_episode(episode_id: int) -> Episode:
    episode = db.session.get(Episode, episode_id)
    if episode is None:
        raise NotFound(f"episode {episode_id} not found")
    return episode


def list_music() -> list[MusicTrack]:
    return list(db.session.scalars(select(MusicTrack).order_by(MusicTrack.title)))


def list_recordings(episode: Episode) -> list[CohostRecording]:
    return list(db.session.scalars(select(CohostRecording).where(
        CohostRecording.episode_id == episode.id).order_by(CohostRecording.id)))


def _details(data: Mapping, *, creating: bool) -> dict[str, Any]:
    """The episode's details present in ``data``, checked (absent ones are left alone)."""
    out: dict[str, Any] = {}
    if creating or "title" in data:
        out["title"] = parse_text(data, "title", limit=MAX_TITLE, required=True)
    if "notes" in data:
        out["notes"] = check_notes(data.get("notes"))
    for name in ("season", "number"):
        if name in data:
            out[name] = parse_number(data, name)
    if "theme" in data:
        out["theme"] = parse_text(data, "theme", limit=MAX_THEME) or None
    return out


# -- episodes ------------------------------------------------------------------------------

def create_episode(user: User | None, data: Mapping) -> Episode:
    """A new episode with its details and, optionally, its first segments. All or
    nothing: a segment that cannot go in refuses the whole episode."""
    values = _details(data, creating=True)
    specs = data.get("segments") or []
    if not isinstance(specs, list) or not all(isinstance(s, Mapping) for s in specs):
        raise InvalidInput("segments must be a list of objects.", code="invalid_segments")
    checked = [segments.checked_spec(spec) for spec in specs]  # before anything is written
    episode = Episode(org_id=_org(), created_by_id=user_id(user), **values)
    db.session.add(episode)
    db.session.flush()
    try:
        made = [segments.new_segment(episode, prepared, position)
                for position, prepared in enumerate(checked)]
        db.session.commit()
    except Exception:
        db.session.rollback()
        if episode.id is not None and db.session.get(Episode, episode.id) is not None:
            _discard(episode)
        raise
    for segment in made:
        queue_peaks(segment)
    return episode


def _org() -> int:
    org_id = tenancy.current_org_id()
    if org_id is None:
        raise RuntimeError("an episode is made inside one organisation's context")
    return org_id


def _discard(episode: Episode) -> None:
    """Undo a half-made episode: receiving an upload commits its recording, so a segment
    refused after it leaves rows and files to take away again."""
    ids = [s.id for s in segments.segments_of(episode)]
    if ids:
        db.session.execute(delete(SegmentEdit).where(SegmentEdit.segment_id.in_(ids)))
        db.session.execute(delete(Segment).where(Segment.id.in_(ids)))
        db.session.commit()
    for recording in list_recordings(episode):
        delete_recording(recording)
    db.session.execute(delete(Episode).where(Episode.id == episode.id))
    db.session.commit()


def update_episode(episode: Episode, data: Mapping, *, version: Any, user: User | None
                   ) -> Episode:
    values = _details(data, creating=False)
    bump(episode, version, **values)
    db.session.commit()
    return episode


def set_cover(episode: Episode, data: BinaryIO, *, version: Any = None,
              user: User | None = None) -> Episode:
    """Rebuild the picture (``prepare_cover``) and keep it under a new name per change."""
    picture, mimetype = prepare_cover(data)
    name = f"cover-{episode.version + 1}.{'png' if mimetype == 'image/png' else 'jpg'}"
    key = keys.episode_cover(episode.org_id, episode.id, name)
    old = episode.cover_key
    get_private_storage().put(key, io.BytesIO(picture))
    try:
        bump(episode, episode.version if version in (None, "") else version,
              cover_key=key, cover_type=mimetype)
        db.session.commit()
    except Exception:
        get_private_storage().delete(key)
        raise
    if old and old != key:
        get_private_storage().delete(old)
    return episode


def cover(episode: Episode) -> tuple[BinaryIO, str]:
    if not episode.cover_key:
        raise NotFound("This episode has no cover picture yet.")
    with get_private_storage().open(episode.cover_key) as fh:
        return io.BytesIO(fh.read()), episode.cover_type or "image/jpeg"


# -- renders -------------------------------------------------------------------------------

def _snapshot(episode: Episode) -> tuple[list[dict[str, Any]], list[str]]:
    """What a render will be made of, fixed when it is asked for, and the consent
    audiences of its entries. Refuses what cannot be rendered, with a message saying
    which part to fix."""
    ordered = segments.segments_of(episode)
    if not ordered:
        raise InvalidInput("This episode has nothing in it to render yet.", code="empty")
    parts, sources, audiences = [], [], []
    for segment in ordered:
        title = src.default_title(segment)
        entry = db.session.get(Entry, segment.entry_id) if segment.kind == src.ENTRY else None
        problem = src.segment_problem(segment, entry)
        if problem:
            raise InvalidInput(src.problem_message(problem, segment.position, title),
                               code=problem)
        source = src.segment_source(segment)
        if source.duration is None:
            what = ("is still being processed" if source.status == "processing"
                    else "has no audio ready")
            raise InvalidInput(f"Part {segment.position + 1} ({title}) {what}; wait a "
                               "moment and try again.", code="not_ready")
        parts.append((segment.edits, source, title))
        item = {"segment_id": segment.id, "kind": segment.kind, "title": title,
                "edits": dict(segment.edits or {}), "entry_id": segment.entry_id,
                "entry_revision": segment.entry_revision,
                "recording_id": segment.recording_id, "music_id": segment.music_id}
        if entry is not None:
            consent = Consent.from_dict(entry.consent)
            item.update(audience=consent.audience, voice=consent.voice)
            audiences.append(consent.audience)
        sources.append(item)
    try:
        src.timeline(parts)
    except (PlanError, EditError) as e:
        raise InvalidInput(str(e), code="invalid_plan") from None
    return sources, audiences


def request_render(episode: Episode, *, user: User | None) -> tuple[EpisodeRender, Job]:
    """Queue a render of the episode as it is now. The last good render stays current
    (and playable) until this one is done."""
    from diaryroom.domain.consent import narrowest

    sources, audiences = _snapshot(episode)
    entry_ids = sorted({s["entry_id"] for s in sources if s["entry_id"] is not None})
    render = EpisodeRender(org_id=episode.org_id, episode_id=episode.id,
                           requested_by_id=user_id(user), state="queued", sources=sources,
                           entry_ids=entry_ids, episode_version=episode.version,
                           audience=narrowest(audiences) if audiences else None)
    db.session.add(render)
    db.session.flush()
    job = jobs.enqueue(RENDER_EPISODE, render.id, org_id=episode.org_id)  # commits
    render.job_id = job.id
    db.session.commit()
    return render, job


def get_render(episode: Episode, render_id: int) -> EpisodeRender:
    render = db.session.get(EpisodeRender, render_id)
    if render is None or render.episode_id != episode.id:
        raise NotFound("This render was not found.")
    return render


# -- collaboration -------------------------------------------------------------------------

def add_comment(episode: Episode, body: Any, *, user: User) -> EpisodeComment:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("Write something first.", code="invalid_comment")
    body = body.strip()
    if len(body) > MAX_COMMENT:
        raise InvalidInput(f"This comment is too long (at most {MAX_COMMENT} characters).",
                           code="invalid_comment")
    comment = EpisodeComment(org_id=episode.org_id, episode_id=episode.id, user_id=user.id,
                             body=body)
    db.session.add(comment)
    db.session.commit()
    return comment


def _cohost(episode: Episode, user: User) -> EpisodeCohost | None:
    return db.session.scalar(select(EpisodeCohost).where(
        EpisodeCohost.episode_id == episode.id, EpisodeCohost.user_id == user.id))


def join(episode: Episode, user: User, display_name: Any) -> EpisodeCohost:
    """Join the episode as a co-host, by the name they choose (a pseudonym is welcome);
    joining again changes the name."""
    name = display_name.strip() if isinstance(display_name, str) else ""
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidInput(f"Choose the name you want to be known by in this episode (1 to "
                           f"{MAX_NAME} characters). It can be a made-up name.",
                           code="invalid_name")
    row = _cohost(episode, user)
    if row is None:
        row = EpisodeCohost(org_id=episode.org_id, episode_id=episode.id, user_id=user.id,
                            display_name=name)
        db.session.add(row)
    else:
        row.display_name = name
    db.session.commit()
    return row


def accept_release(episode: Episode, user: User) -> EpisodeCohost:
    """Record that this co-host accepted the current release, and when."""
    row = _cohost(episode, user)
    if row is None:
        raise InvalidInput("Join this episode with the name you want to use first, then "
                           "accept the release.", code="not_joined")
    row.release_version, row.released_at = RELEASE_VERSION, utcnow()
    db.session.commit()
    return row


