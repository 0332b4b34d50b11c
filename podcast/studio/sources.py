"""What a segment is made of: its source (an approved entry's redacted revision, a
co-host's recording or a music track), the words and length of that source, the edit
list as the renderer applies it, and whether the entry under it is still usable.

The service, the episode's state and the render job all read segments through here,
so the editor, the duration shown and the render agree on every number. Only redacted
results of an entry's approved revision are ever read: never its original.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app

from diaryroom import keys, workdir
from diaryroom.adapters import get_private_storage
from diaryroom.domain import status as st
from diaryroom.domain.consent import Consent, may_be_in_episode
from diaryroom.extensions import db
from diaryroom.models import Entry
from diaryroom.storage import NoSuchObject

from .edits import Edits, kept_ranges, parse_edits
from .models import CohostRecording, MusicTrack, Segment
from .plan import Clip, PlanError, RenderPlan
from .recordings import open_source, recording_words

ENTRY, RECORDING, MUSIC = "entry", "recording", "music"
KINDS = (ENTRY, RECORDING, MUSIC)

# Why a segment cannot be rendered as it is, most serious first: a more serious problem
# is never replaced by a lesser one (a withdrawn entry stays withdrawn).
PROBLEMS = ("withdrawn", "narrowed", "unapproved", "changed")
MESSAGES = {
    "withdrawn": "Part {n} ({title}) was withdrawn by the person who recorded it. Remove "
                 "this part: its audio has been deleted from every render of this episode.",
    "narrowed": "The person in part {n} ({title}) changed their consent, so it cannot be "
                "in this episode as it is. Remove this part, or refresh it once staff have "
                "approved a version that follows their new choice.",
    "unapproved": "Part {n} ({title}) was sent back to staff for another check. Remove "
                  "it, or refresh it once it is approved again.",
    "changed": "Part {n} ({title}) has a newer approved version of its audio. Refresh it "
               "to use the new version, or remove it.",
}


def worse(a: str | None, b: str | None) -> str | None:
    """The more serious of two problems (None is no problem).

    >>> worse("changed", "withdrawn"), worse(None, "unapproved"), worse(None, None)
    ('withdrawn', 'unapproved', None)
    """
    found = [p for p in (a, b) if p]
    return min(found, key=PROBLEMS.index) if found else None


def problem_message(problem: str, position: int, title: str) -> str:
    return MESSAGES[problem].format(n=position + 1, title=title)


def entry_problem(entry: Entry | None, revision: int | None) -> str | None:
    """Whether an entry can (still) be used at ``revision`` in an episode."""
    if entry is None or entry.status == st.WITHDRAWN:
        return "withdrawn"
    if not may_be_in_episode(Consent.from_dict(entry.consent)):
        return "narrowed"
    if entry.status != st.APPROVED or not entry.rendered:
        return "unapproved"
    if revision is not None and entry.rendered_revision != revision:
        return "changed"
    return None


def segment_problem(segment: Segment, entry: Entry | None = None) -> str | None:
    """What the lifecycle listeners recorded, or what a look at the entry now shows
    (a listener that failed must not leave an unusable segment looking fine)."""
    if segment.kind != ENTRY:
        return segment.problem
    entry = entry if entry is not None else db.session.get(Entry, segment.entry_id)
    return worse(segment.problem, entry_problem(entry, segment.entry_revision))


def default_title(segment: Segment) -> str:
    if segment.title:
        return segment.title
    if segment.kind == ENTRY:
        return f"Entry {segment.entry_id}"
    if segment.kind == MUSIC:
        track = db.session.get(MusicTrack, segment.music_id)
        return track.title if track else "Music"
    return "Co-host recording"


# -- words and lengths -----------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """What the editor and the renderer need to know of a segment's source."""

    kind: str
    words: list[dict[str, Any]] = field(default_factory=list)
    duration: float | None = None  # seconds; None while it is not ready (or is gone)
    findings: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None  # a recording's: processing | ready | needs_attention


def _words(raw: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Words as the editor shows them (``cut_words`` indexes this list)."""
    out = []
    for w in raw:
        word = {"text": str(w.get("text", "")).strip(), "start": w.get("start"),
                "end": w.get("end")}
        if w.get("redaction"):
            word["redaction"] = w["redaction"]  # a placeholder: it can only be cut
        out.append(word)
    return out


def entry_document(entry: Entry, revision: int) -> dict[str, Any] | None:
    """The redacted transcript of one revision (None if it is gone)."""
    try:
        with get_private_storage().open(entry.result_key("redacted.json", revision)) as fh:
            return json.load(fh)
    except NoSuchObject:
        return None


def source_of(kind: str, *, entry_id: int | None = None, revision: int | None = None,
              recording_id: int | None = None, music_id: int | None = None) -> Source:
    if kind == ENTRY:
        entry = db.session.get(Entry, entry_id)
        document = entry_document(entry, revision) \
            if entry is not None and entry.status != st.WITHDRAWN and revision is not None \
            else None
        if document is None:
            return Source(kind)
        duration = document.get("duration") or entry.duration
        return Source(kind, _words(document.get("words", [])), duration)
    if kind == RECORDING:
        rec = db.session.get(CohostRecording, recording_id)
        if rec is None:
            return Source(kind)
        ready = recording_ready(rec)
        return Source(kind, _words(recording_words(rec)) if ready else [],
                      rec.duration if ready else None, list(rec.findings or []), rec.status)
    track = db.session.get(MusicTrack, music_id)
    return Source(kind, [], track.duration if track else None)


def recording_ready(rec: CohostRecording) -> bool:
    """Transcribed (or sent to the team) and measured: its audio can be used."""
    return rec.status != "processing" and rec.duration is not None


def segment_source(segment: Segment) -> Source:
    return source_of(segment.kind, entry_id=segment.entry_id, revision=segment.entry_revision,
                     recording_id=segment.recording_id, music_id=segment.music_id)


def applied_edits(edits: dict[str, Any] | None, source: Source) -> Edits:
    """The edit list as rendered: for a co-host's recording, what the personal-data
    detector found is cut unless the co-host chose to keep it (``keep_findings``)."""
    parsed = parse_edits(edits or {})
    if source.kind != RECORDING or not source.findings:
        return parsed
    keep = set(parsed.keep_findings or ())
    cuts = [[int(f["first"]), int(f["last"])] for i, f in enumerate(source.findings)
            if i not in keep and not f.get("kept")]
    if not cuts:
        return parsed
    data = parsed.to_dict()
    return parse_edits({**data, "cut_words": [*data.get("cut_words", []), *cuts]})


def kept(edits: dict[str, Any] | None, source: Source) -> tuple[tuple[float, float], ...]:
    """The stretches of the source that are heard (raises ``EditError``)."""
    if source.duration is None:
        return ()
    return kept_ranges(applied_edits(edits, source), source.words, source.duration)


def clip_for(audio: Path, edits: dict[str, Any] | None, source: Source, *, first: bool,
             title: str) -> Clip:
    parsed = applied_edits(edits, source)
    return Clip(audio, kept_ranges(parsed, source.words, source.duration or 0.0),
                gain_db=parsed.gain_db, crossfade=0.0 if first else parsed.crossfade,
                title=title, chapter=source.kind != MUSIC)


def timeline(parts: list[tuple[dict[str, Any] | None, Source, str]]) -> RenderPlan:
    """The plan of parts ``(edits, source, title)`` with stand-in paths: the same
    arithmetic the render uses, for the duration shown and the checks before a render."""
    clips = tuple(clip_for(Path(f"part-{i}"), edits, source, first=i == 0, title=title)
                  for i, (edits, source, title) in enumerate(parts))
    return RenderPlan(clips)


def planned_duration(parts: list[tuple[dict[str, Any] | None, Source, str]]) -> float:
    """The episode's length by its edit lists; a plan the renderer would refuse still
    has a length (what is kept, less the crossfades) so the page can show it."""
    try:
        return timeline(parts).duration
    except (PlanError, ValueError):
        total = 0.0
        for i, (edits, source, _) in enumerate(parts):
            try:
                ranges = kept(edits, source)
                crossfade = applied_edits(edits, source).crossfade if i else 0.0
            except ValueError:
                continue
            total += sum(end - start for start, end in ranges) - crossfade
        return max(total, 0.0)


# -- the audio -------------------------------------------------------------------------

def work_root() -> str:
    return current_app.config["DATA_DIR"]


def fetch_audio(kind: str, work: Path, *, entry_id: int | None = None,
                revision: int | None = None, recording_id: int | None = None,
                music_id: int | None = None) -> Path:
    """Decrypt a source's audio into ``work`` (a work folder) and return its path."""
    if kind == ENTRY:
        entry = db.session.get(Entry, entry_id)
        if entry is None or entry.status == st.WITHDRAWN:
            raise NoSuchObject()
        path = work / "redacted.mp3"
        with get_private_storage().open(entry.result_key("redacted.mp3", revision)) as fh, \
                path.open("wb") as out:
            shutil.copyfileobj(fh, out)
        return path
    row = db.session.get(CohostRecording, recording_id) if kind == RECORDING \
        else db.session.get(MusicTrack, music_id)
    if row is None:
        raise NoSuchObject()
    return open_source(row, work)


def segment_audio_path(segment: Segment, work: Path) -> Path:
    return fetch_audio(segment.kind, work, entry_id=segment.entry_id,
                       revision=segment.entry_revision, recording_id=segment.recording_id,
                       music_id=segment.music_id)


def detached(path: Path) -> BinaryIO:
    """Open a file of a work folder so it outlives the folder: the open handle keeps the
    bytes readable (and seekable, for HTTP ranges) after the folder and its name are gone."""
    return path.open("rb")


def decrypted_copy(key: str) -> BinaryIO:
    """A private object decrypted into a work folder, as a handle that outlives it."""
    with workdir.work_folder(work_root()) as work:
        path = work / "object"
        with get_private_storage().open(key) as fh, path.open("wb") as out:
            shutil.copyfileobj(fh, out)
        return detached(path)


def peaks_key(segment: Segment) -> str:
    if segment.kind == ENTRY:
        return keys.entry_result(segment.org_id, segment.entry_id, segment.entry_revision or 0,
                                 "peaks.json")
    if segment.kind == RECORDING:
        return keys.recording_file(segment.org_id, segment.recording_id, "peaks.json")
    return keys.music_file(segment.org_id, segment.music_id, "peaks.json")


def open_segment_audio(segment: Segment) -> tuple[BinaryIO, str]:
    """The segment's source audio decrypted, as a handle that outlives its work folder,
    with its MIME type."""
    with workdir.work_folder(work_root()) as work:
        path = segment_audio_path(segment, work)
        return detached(path), mimetype(path.suffix)


def mimetype(suffix: str) -> str:
    return {".mp3": "audio/mpeg", ".opus": "audio/ogg", ".ogg": "audio/ogg",
            ".oga": "audio/ogg", ".webm": "audio/webm", ".wav": "audio/wav",
            ".m4a": "audio/mp4", ".mp4": "audio/mp4", ".flac": "audio/flac",
            }.get(suffix.lower(), "application/octet-stream")
