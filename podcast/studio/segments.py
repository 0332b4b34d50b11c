"""An episode's segments: which source each uses, their order, and their edit lists.

Each segment's edit list has its own ``version``, so two co-hosts can edit two segments
side by side; the order of segments moves ``Episode.version`` (``changes.bump``). A saved
edit list keeps the one it replaced, for undo.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from sqlalchemy import delete, select, update

from diaryroom.auth import current_principal
from diaryroom.domain import status as st
from diaryroom.domain.consent import Consent, may_be_in_episode
from diaryroom.errors import Conflict, InvalidInput, NotFound
from diaryroom.extensions import db
from diaryroom.models import Entry, User

from . import sources as src
from .changes import (
    MAX_TITLE,
    SEGMENT_CHANGED,
    bump,
    parse_id,
    parse_position,
    parse_text,
    parse_version,
    user_id,
)
from .edits import EditError, parse_edits
from .files import queue_peaks
from .models import CohostRecording, Episode, MusicTrack, Segment, SegmentEdit
from .recordings import receive_recording

TEAM_ONLY = ("This person asked that only the diary-room team hears their recording, so "
             "it cannot go into an episode.")
SOURCE_KEYS = ("entry_id", "upload_id", "recording_id", "music_id")


def get_segment(episode: Episode, segment_id: int) -> Segment:
    segment = db.session.get(Segment, segment_id)
    if segment is None or segment.episode_id != episode.id:
        raise NotFound("This part is not in this episode any more.")
    return segment


def segments_of(episode: Episode) -> list[Segment]:
    return list(db.session.scalars(select(Segment).where(Segment.episode_id == episode.id)
                                   .order_by(Segment.position, Segment.id)))


def checked_spec(spec: Mapping) -> dict[str, Any]:
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
    title = parse_text(spec, "title", limit=MAX_TITLE) or None
    prepared: dict[str, Any] = {"edits": edits, "title": title}
    if source_key == "upload_id":
        if not isinstance(spec["upload_id"], str):
            raise InvalidInput("upload_id must be the id of a finished upload.",
                               code="upload_not_found")
        prepared.update(kind=src.RECORDING, upload_id=spec["upload_id"])
        return prepared
    source_id = parse_id(spec[source_key], source_key)
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


def new_segment(episode: Episode, prepared: dict[str, Any], position: int) -> Segment:
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


def _renumber(episode: Episode, ordered: list[Segment]) -> None:
    for i, segment in enumerate(ordered):
        segment.position = i


def add_segment(episode: Episode, spec: Mapping, *, version: Any, user: User | None
                ) -> Segment:
    prepared = checked_spec(spec)
    wanted = None if spec.get("position") in (None, "") else parse_position(spec["position"])
    bump(episode, version)
    ordered = segments_of(episode)
    at = len(ordered) if wanted is None else min(wanted, len(ordered))
    try:
        segment = new_segment(episode, prepared, at)
    except Exception:
        db.session.rollback()
        raise
    ordered.insert(at, segment)
    _renumber(episode, ordered)
    db.session.commit()
    queue_peaks(segment)
    return segment


def move_segment(episode: Episode, segment_id: int, position: Any, *, version: Any,
                 user: User | None) -> None:
    segment = get_segment(episode, segment_id)
    at = parse_position(position)
    bump(episode, version)
    ordered = [s for s in segments_of(episode) if s.id != segment.id]
    ordered.insert(min(at, len(ordered)), segment)
    _renumber(episode, ordered)
    db.session.commit()


def remove_segment(episode: Episode, segment_id: int, *, version: Any, user: User | None
                   ) -> None:
    segment = get_segment(episode, segment_id)
    bump(episode, version)
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
    segment = _write_edits(segment, parse_edits(edits).to_dict(), version, user,
                           entry_revision=entry.rendered_revision, problem=None)
    queue_peaks(segment)  # the new revision's audio
    return segment


def _write_edits(segment: Segment, edits: dict[str, Any], version: Any, user: User | None,
                 **values: Any) -> Segment:
    seen = parse_version(version)
    before = dict(segment.edits or {})
    moved = db.session.execute(
        update(Segment).where(Segment.id == segment.id, Segment.version == seen)
        .values(edits=edits, version=seen + 1, **values)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.rollback()
        raise Conflict(SEGMENT_CHANGED)
    db.session.add(SegmentEdit(org_id=segment.org_id, segment_id=segment.id, version=seen,
                               edits=before, user_id=user_id(user)))
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
    seen = parse_version(version)
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


def segment_audio(segment: Segment) -> tuple[BinaryIO, str]:
    """The segment's source audio for the editor (an entry's redacted revision only),
    decrypted into a work folder; the handle outlives the folder, and is seekable."""
    if segment.kind == src.ENTRY and src.segment_problem(segment) == "withdrawn":
        raise NotFound("This part's audio was deleted.")
    return src.open_segment_audio(segment)
