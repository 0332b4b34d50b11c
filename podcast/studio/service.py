"""The studio's decisions: episodes, their segments and edit lists, renders and the
co-hosts' collaboration. Views (pages and API) only translate HTTP into these calls.

Two people may change one episode at once. Every change names the version it was made
on, and is written by an UPDATE conditional on that version: a change made on an older
version is refused with ``Conflict`` (never merged, never silently overwriting), and the
page then shows what the other person saved. The order of segments and the episode's
details share ``Episode.version``; each segment's edit list has its own ``version``, so
two co-hosts can edit two segments side by side.
"""
from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, BinaryIO

from sqlalchemy import delete, select, update

from diaryroom import jobs, keys, tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.auth import current_principal
from diaryroom.domain import status as st
from diaryroom.domain.consent import Consent, may_be_in_episode
from diaryroom.errors import Conflict, InvalidInput, NotFound
from diaryroom.extensions import db
from diaryroom.models import Entry, Job, User, utcnow

from . import sources as src
from .assets import RELEASE_VERSION, check_notes, prepare_cover
from .edits import EditError, parse_edits
from .files import render_file, segment_peaks
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
from .recordings import delete_recording, receive_recording
from .state import episode_state

__all__ = [
    "available_entries", "list_episodes", "get_episode", "get_segment", "create_episode",
    "update_episode", "set_cover", "cover", "add_segment", "move_segment", "remove_segment",
    "refresh_segment", "save_edits", "undo_edits", "request_render", "episode_state",
    "add_comment", "join", "accept_release", "segment_audio", "segment_peaks", "render_file",
    "list_music", "list_recordings",
]

EPISODE_CHANGED = ("Someone else changed this episode a moment ago. Your change was not "
                   "saved; the page now shows theirs.")
SEGMENT_CHANGED = ("Someone else changed this part a moment ago. Your change was not "
                   "saved; the page now shows theirs.")
TEAM_ONLY = ("This person asked that only the diary-room team hears their recording, so "
             "it cannot go into an episode.")
DETAILS = ("title", "notes", "season", "number", "theme")
SOURCE_KEYS = ("entry_id", "upload_id", "recording_id", "music_id")
MAX_TITLE = 200
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


def get_segment(episode: Episode, segment_id: int) -> Segment:
    segment = db.session.get(Segment, segment_id)
    if segment is None or segment.episode_id != episode.id:
        raise NotFound("This part is not in this episode any more.")
    return segment


def segments_of(episode: Episode) -> list[Segment]:
    return list(db.session.scalars(select(Segment).where(Segment.episode_id == episode.id)
                                   .order_by(Segment.position, Segment.id)))


def list_music() -> list[MusicTrack]:
    return list(db.session.scalars(select(MusicTrack).order_by(MusicTrack.title)))


def list_recordings(episode: Episode) -> list[CohostRecording]:
    return list(db.session.scalars(select(CohostRecording).where(
        CohostRecording.episode_id == episode.id).order_by(CohostRecording.id)))


# -- checking what people send -------------------------------------------------------------

def _version(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("Say which version of the episode you changed (reload the page "
                           "and try again).", code="invalid_version")
    return value


def _text(data: Mapping, name: str, *, limit: int, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"The episode needs a {name}.", code=f"invalid_{name}")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"The {name} must be text.", code=f"invalid_{name}")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"The episode needs a {name}.", code=f"invalid_{name}")
    if len(value) > limit:
        raise InvalidInput(f"The {name} is too long (at most {limit} characters).",
                           code=f"invalid_{name}")
    return value


def _number(data: Mapping, name: str) -> int | None:
    value = data.get(name)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if not (value.isascii() and value.isdigit()):
            raise InvalidInput(f"The {name} must be a whole number.", code=f"invalid_{name}")
        value = int(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
        raise InvalidInput(f"The {name} must be a whole number.", code=f"invalid_{name}")
    return value


def _details(data: Mapping, *, creating: bool) -> dict[str, Any]:
    """The episode's details present in ``data``, checked (absent ones are left alone)."""
    out: dict[str, Any] = {}
    if creating or "title" in data:
        out["title"] = _text(data, "title", limit=MAX_TITLE, required=True)
    if "notes" in data:
        out["notes"] = check_notes(data.get("notes"))
    for name in ("season", "number"):
        if name in data:
            out[name] = _number(data, name)
    if "theme" in data:
        out["theme"] = _text(data, "theme", limit=MAX_THEME) or None
    return out


def _user_id(user: User | None) -> int | None:
    return user.id if user is not None else None


# -- episodes ------------------------------------------------------------------------------

def create_episode(user: User | None, data: Mapping) -> Episode:
    """A new episode with its details and, optionally, its first segments. All or
    nothing: a segment that cannot go in refuses the whole episode."""
    values = _details(data, creating=True)
    specs = data.get("segments") or []
    if not isinstance(specs, list) or not all(isinstance(s, Mapping) for s in specs):
        raise InvalidInput("segments must be a list of objects.", code="invalid_segments")
    checked = [_checked_spec(spec) for spec in specs]  # before anything is written
    episode = Episode(org_id=_org(), created_by_id=_user_id(user), **values)
    db.session.add(episode)
    db.session.flush()
    try:
        for position, prepared in enumerate(checked):
            _new_segment(episode, prepared, position)
        db.session.commit()
    except Exception:
        db.session.rollback()
        if episode.id is not None and db.session.get(Episode, episode.id) is not None:
            _discard(episode)
        raise
    return episode


def _org() -> int:
    org_id = tenancy.current_org_id()
    if org_id is None:
        raise RuntimeError("an episode is made inside one organisation's context")
    return org_id


def _discard(episode: Episode) -> None:
    """Undo a half-made episode: receiving an upload commits its recording, so a segment
    refused after it leaves rows and files to take away again."""
    ids = [s.id for s in segments_of(episode)]
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
    _bump(episode, version, **values)
    db.session.commit()
    return episode


def _bump(episode: Episode, version: Any, **values: Any) -> None:
    """Move the episode from ``version`` to the next, with ``values``, or refuse: the
    condition is in the UPDATE, so of two changes made on one version only one lands."""
    seen = _version(version)
    moved = db.session.execute(
        update(Episode).where(Episode.id == episode.id, Episode.version == seen)
        .values(version=seen + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.rollback()
        raise Conflict(EPISODE_CHANGED)
    db.session.refresh(episode)


def set_cover(episode: Episode, data: BinaryIO, *, version: Any = None,
              user: User | None = None) -> Episode:
    """Rebuild the picture (``prepare_cover``) and keep it under a new name per change."""
    picture, mimetype = prepare_cover(data)
    name = f"cover-{episode.version + 1}.{'png' if mimetype == 'image/png' else 'jpg'}"
    key = keys.episode_cover(episode.org_id, episode.id, name)
    old = episode.cover_key
    get_private_storage().put(key, io.BytesIO(picture))
    try:
        _bump(episode, episode.version if version in (None, "") else version,
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


# -- segments ------------------------------------------------------------------------------

def _checked_spec(spec: Mapping) -> dict[str, Any]:
    """Which source a new segment uses and its first edit list, checked; nothing is
    written. Refusals say why the source cannot go in."""
    named = [k for k in SOURCE_KEYS if spec.get(k) not in (None, "")]
    if len(named) != 1:
        raise InvalidInput("Each part needs one of entry_id, upload_id, recording_id or "
                           "music_id.", code="invalid_segment")
    source_key = named[0]
    edits = {k: v for k, v in spec.items()
             if k not in (*SOURCE_KEYS, "title", "position", "version")}
    try:
        parse_edits(edits)
    except EditError as e:
        raise InvalidInput(str(e), code="invalid_edits") from None
    title = _text(spec, "title", limit=MAX_TITLE) or None
    prepared: dict[str, Any] = {"edits": edits, "title": title}
    if source_key == "upload_id":
        if not isinstance(spec["upload_id"], str):
            raise InvalidInput("upload_id must be the id of a finished upload.",
                               code="upload_not_found")
        prepared.update(kind=src.RECORDING, upload_id=spec["upload_id"])
        return prepared
    source_id = _id(spec[source_key], source_key)
    if source_key == "entry_id":
        entry = usable_entry(source_id)
        prepared.update(kind=src.ENTRY, entry_id=entry.id, entry_revision=entry.rendered_revision)
    elif source_key == "recording_id":
        if db.session.get(CohostRecording, source_id) is None:
            raise NotFound("That recording was not found.")
        prepared.update(kind=src.RECORDING, recording_id=source_id)
    else:
        if db.session.get(MusicTrack, source_id) is None:
            raise NotFound("That music track was not found.")
        prepared.update(kind=src.MUSIC, music_id=source_id)
    _check_edits(edits, _source(prepared))
    return prepared


def _id(value: Any, name: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{name} must be a number.", code="invalid_segment")
    return value


def usable_entry(entry_id: int) -> Entry:
    """An entry of this organisation that may go into an episode now, or why not."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(f"entry {entry_id} not found")
    if entry.status == st.WITHDRAWN:
        raise InvalidInput("This entry was withdrawn by the person who recorded it, so it "
                           "cannot go into an episode.", code="withdrawn")
    if entry.kind == "text":
        raise InvalidInput("This is a written entry: it has no audio to put in an episode.",
                           code="no_audio")
    if not may_be_in_episode(Consent.from_dict(entry.consent)):
        raise InvalidInput(TEAM_ONLY, code="team_only")
    if entry.status != st.APPROVED or not entry.rendered:
        raise InvalidInput("This entry has not been approved by staff yet, so it cannot go "
                           "into an episode.", code="not_approved")
    return entry


def _source(prepared: Mapping) -> src.Source:
    return src.source_of(prepared["kind"], entry_id=prepared.get("entry_id"),
                         revision=prepared.get("entry_revision"),
                         recording_id=prepared.get("recording_id"),
                         music_id=prepared.get("music_id"))


def _check_edits(edits: Mapping, source: src.Source) -> None:
    """An edit list that leaves nothing (or is not valid for these words) is refused."""
    try:
        src.kept(dict(edits), source)
    except EditError as e:
        raise InvalidInput(str(e), code="invalid_edits") from None


def _new_segment(episode: Episode, prepared: dict[str, Any], position: int) -> Segment:
    if prepared.get("upload_id"):
        rec = receive_recording(current_principal(), episode=episode,
                                upload_id=prepared["upload_id"])
        prepared = {**prepared, "recording_id": rec.id}
    segment = Segment(org_id=episode.org_id, episode_id=episode.id, position=position,
                      kind=prepared["kind"], entry_id=prepared.get("entry_id"),
                      entry_revision=prepared.get("entry_revision"),
                      recording_id=prepared.get("recording_id"),
                      music_id=prepared.get("music_id"), title=prepared.get("title"),
                      edits=parse_edits(prepared["edits"]).to_dict())
    db.session.add(segment)
    db.session.flush()
    return segment


def _position(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("position must be a number (0 is the first place).",
                           code="invalid_position")
    return value


def _renumber(episode: Episode, ordered: list[Segment]) -> None:
    for i, segment in enumerate(ordered):
        segment.position = i


def add_segment(episode: Episode, spec: Mapping, *, version: Any, user: User | None
                ) -> Segment:
    prepared = _checked_spec(spec)
    wanted = None if spec.get("position") in (None, "") else _position(spec["position"])
    _bump(episode, version)
    ordered = segments_of(episode)
    at = len(ordered) if wanted is None else min(wanted, len(ordered))
    try:
        segment = _new_segment(episode, prepared, at)
    except Exception:
        db.session.rollback()
        raise
    ordered.insert(at, segment)
    _renumber(episode, ordered)
    db.session.commit()
    return segment


def move_segment(episode: Episode, segment_id: int, position: Any, *, version: Any,
                 user: User | None) -> None:
    segment = get_segment(episode, segment_id)
    at = _position(position)
    _bump(episode, version)
    ordered = [s for s in segments_of(episode) if s.id != segment.id]
    ordered.insert(min(at, len(ordered)), segment)
    _renumber(episode, ordered)
    db.session.commit()


def remove_segment(episode: Episode, segment_id: int, *, version: Any, user: User | None
                   ) -> None:
    segment = get_segment(episode, segment_id)
    _bump(episode, version)
    db.session.execute(delete(SegmentEdit).where(SegmentEdit.segment_id == segment.id))
    db.session.delete(segment)
    db.session.flush()
    _renumber(episode, segments_of(episode))
    db.session.commit()


def refresh_segment(segment: Segment, *, version: Any, user: User | None) -> Segment:
    """Point an entry's segment at the entry's current approved revision (after a
    re-render or a new approval). Cut words are cleared: word numbers may differ between
    revisions; the previous edit list can be brought back with undo."""
    if segment.kind != src.ENTRY:
        raise InvalidInput("Only a diary-room entry can be refreshed.", code="not_an_entry")
    entry = usable_entry(segment.entry_id)
    edits = {**segment.edits, "cut_words": []}
    source = src.source_of(src.ENTRY, entry_id=entry.id, revision=entry.rendered_revision)
    _check_edits(edits, source)
    return _write_edits(segment, parse_edits(edits).to_dict(), version, user,
                        entry_revision=entry.rendered_revision, problem=None)


def _write_edits(segment: Segment, edits: dict[str, Any], version: Any, user: User | None,
                 **values: Any) -> Segment:
    seen = _version(version)
    before = dict(segment.edits or {})
    moved = db.session.execute(
        update(Segment).where(Segment.id == segment.id, Segment.version == seen)
        .values(edits=edits, version=seen + 1, **values)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.rollback()
        raise Conflict(SEGMENT_CHANGED)
    db.session.add(SegmentEdit(org_id=segment.org_id, segment_id=segment.id, version=seen,
                               edits=before, user_id=_user_id(user)))
    db.session.commit()
    db.session.refresh(segment)
    return segment


def save_edits(segment: Segment, edits: Any, *, version: Any, user: User | None) -> Segment:
    """Save a segment's edit list made on ``version``; the one it replaces is kept for
    undo. A save made on an older version is refused (``Conflict``)."""
    if not isinstance(edits, Mapping):
        raise InvalidInput("edits must be an object.", code="invalid_edits")
    try:
        parsed = parse_edits(edits).to_dict()
    except EditError as e:
        raise InvalidInput(str(e), code="invalid_edits") from None
    _check_edits(parsed, src.segment_source(segment))
    return _write_edits(segment, parsed, version, user)


def undo_edits(segment: Segment, *, version: Any, user: User | None) -> Segment:
    """Bring back the edit list before the last save (an undo is a versioned change
    too: two people undoing at once undo once)."""
    seen = _version(version)
    last = db.session.scalar(select(SegmentEdit).where(SegmentEdit.segment_id == segment.id)
                             .order_by(SegmentEdit.id.desc()).limit(1))
    if last is None:
        if seen != segment.version:
            raise Conflict(SEGMENT_CHANGED)
        raise InvalidInput("There is nothing to undo in this part.", code="nothing_to_undo")
    moved = db.session.execute(
        update(Segment).where(Segment.id == segment.id, Segment.version == seen)
        .values(edits=last.edits, version=seen + 1)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.rollback()
        raise Conflict(SEGMENT_CHANGED)
    db.session.delete(last)
    db.session.commit()
    db.session.refresh(segment)
    return segment


# -- renders -------------------------------------------------------------------------------

def _snapshot(episode: Episode) -> tuple[list[dict[str, Any]], list[str]]:
    """What a render will be made of, fixed when it is asked for, and the consent
    audiences of its entries. Refuses what cannot be rendered, with a message saying
    which part to fix."""
    ordered = segments_of(episode)
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
                           requested_by_id=_user_id(user), state="queued", sources=sources,
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


# -- audio for the editor --------------------------------------------------------------------

def segment_audio(segment: Segment) -> tuple[BinaryIO, str]:
    """The segment's source audio for the editor (an entry's redacted revision only),
    decrypted into a work folder; the handle outlives the folder, and is seekable."""
    if segment.kind == src.ENTRY and src.segment_problem(segment) == "withdrawn":
        raise NotFound("This part's audio was deleted.")
    return src.open_segment_audio(segment)
