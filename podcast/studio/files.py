"""The studio's stored files: a render's five files, and the waveform peaks cached per
source. Everything is in the encrypted store; what is served is decrypted per request
into a work folder (``sources.decrypted_copy``), never kept in plaintext.

Peaks are computed by a job as soon as a part is added or refreshed, so that even the
first opening of a long part in the editor reads them back instead of decoding the audio
(30 minutes: ~1.5 s to decode, well under a second to read back and draw); a part opened
before its job has run computes them on that request."""
from __future__ import annotations

import io
import json
from typing import Any, BinaryIO

from sqlalchemy import select

from diaryroom import jobs, keys, workdir
from diaryroom.adapters import get_private_storage
from diaryroom.domain import status as st
from diaryroom.errors import NotFound
from diaryroom.extensions import db
from diaryroom.models import Entry, utcnow
from diaryroom.storage import NoSuchObject

from . import sources as src
from .models import CohostRecording, Episode, EpisodeRender, Segment
from .peaks import compute_peaks

# name -> MIME type of what a render makes
RENDER_FILES = {
    "episode.mp3": "audio/mpeg",
    "episode.opus": "audio/ogg",
    "chapters.json": "application/json",
    "transcript.vtt": "text/vtt",
    "transcript.srt": "application/x-subrip",
}
KEEP_RENDERS = 3  # done renders whose files are kept (the current one always is)
PRUNED = "An older render: its files were removed to save space."


def render_key(render: EpisodeRender, name: str) -> str:
    return keys.episode_render(render.org_id, render.episode_id, render.id, name)


def delete_render_files(render: EpisodeRender) -> None:
    """Delete every file a render has or may have written (one still running writes
    names it has not recorded yet)."""
    private = get_private_storage()
    for key in {*(render.files or {}).values(), *(render_key(render, n) for n in RENDER_FILES)}:
        private.delete(key)


def remove_render(render: EpisodeRender, reason: str) -> None:
    """A done render's audio may not be heard any more: its files go, its row stays in
    the history with the reason, and it stops being the episode's current render. The
    caller commits."""
    delete_render_files(render)
    render.files, render.state, render.deleted_reason = {}, "deleted", reason[:200]
    episode = db.session.get(Episode, render.episode_id)
    if episode is not None and episode.current_render_id == render.id:
        episode.current_render_id = None


def prune(episode_id: int) -> None:
    """Keep the files of the newest few done renders, of the current one, and of any
    render a live publication serves (people are listening to it in their apps)."""
    from ..publishing.models import LIVE, Publication

    episode = db.session.get(Episode, episode_id)
    done = list(db.session.scalars(select(EpisodeRender).where(
        EpisodeRender.episode_id == episode_id, EpisodeRender.state == "done")
        .order_by(EpisodeRender.id.desc())))
    published = set(db.session.scalars(select(Publication.render_id).where(
        Publication.episode_id == episode_id, Publication.state == LIVE)))
    for render in done[KEEP_RENDERS:]:
        if render.id in published:
            continue
        if episode is None or render.id != episode.current_render_id:
            delete_render_files(render)
            render.files, render.state, render.deleted_reason = {}, "deleted", PRUNED
    db.session.commit()


def render_file(episode: Episode, render_id: int, name: str) -> tuple[BinaryIO, str]:
    """One file of a finished render, decrypted (a seekable handle), and its MIME type."""
    render = db.session.get(EpisodeRender, render_id)
    if render is None or render.episode_id != episode.id or name not in RENDER_FILES:
        raise NotFound("This file was not found.")
    if render.state != "done" or name not in (render.files or {}):
        raise NotFound("This render's files are not available"
                       + (f": {render.deleted_reason}" if render.deleted_reason else "."))
    return src.decrypted_copy(render.files[name]), RENDER_FILES[name]


SEGMENT_PEAKS = "segment_peaks"


def segment_peaks(segment: Segment) -> dict[str, Any]:
    """The waveform of a segment's source, computed once and kept (encrypted) beside it:
    a long episode opens in the editor without decoding its audio again."""
    try:  # one storage call on the usual path: the job has nearly always run
        with get_private_storage().open(src.peaks_key(segment)) as fh:
            return json.load(fh)
    except NoSuchObject:
        return _compute_peaks(segment)


def _compute_peaks(segment: Segment) -> dict[str, Any]:
    if segment.kind == src.ENTRY and src.segment_problem(segment) == "withdrawn":
        raise NotFound("This part's audio was deleted.")
    key = src.peaks_key(segment)
    private = get_private_storage()
    with workdir.work_folder(src.work_root()) as work:
        peaks = compute_peaks(src.segment_audio_path(segment, work))
    private.put(key, io.BytesIO(json.dumps(peaks).encode()))
    if segment.kind == src.ENTRY:
        # A withdrawal that landed while we decoded has already deleted what it knew of.
        entry = db.session.get(Entry, segment.entry_id)
        db.session.refresh(entry)
        if entry.status == st.WITHDRAWN:
            private.delete(key)
            raise NotFound("This part's audio was deleted.")
    return peaks


def queue_peaks(segment: Segment) -> None:
    """Have the peaks of ``segment``'s source ready before anyone opens it (commits)."""
    jobs.enqueue(SEGMENT_PEAKS, segment.id, org_id=segment.org_id)


@jobs.handler(SEGMENT_PEAKS)
def peaks_job(ctx: jobs.JobContext, segment_id: int | None) -> None:
    segment = db.session.get(Segment, segment_id)
    if segment is None or src.segment_problem(segment) or _unready_recording(segment) \
            or get_private_storage().exists(src.peaks_key(segment)):
        # Removed, withdrawn or changed since, a recording still being processed (the
        # editor computes them when it opens the part, if it ever does), or already there
        # (another part of the same source, or a refresh back to a revision seen before).
        return
    try:
        _compute_peaks(segment)
    except NotFound:
        return  # withdrawn while it decoded: nothing is kept


def _unready_recording(segment: Segment) -> bool:
    if segment.kind != src.RECORDING:
        return False
    rec = db.session.get(CohostRecording, segment.recording_id)
    return rec is None or not src.recording_ready(rec)


def delete_entry_peaks(entry: Entry, *, keep: int | None = None) -> None:
    """Forget the peaks cached for an entry's revisions (all, or all but ``keep``)."""
    private = get_private_storage()
    for revision in range(entry.redaction_revision + 2):
        if revision != keep:
            private.delete(keys.entry_result(entry.org_id, entry.id, revision, "peaks.json"))


def mark_failed(render: EpisodeRender, message: str) -> None:
    render.state, render.error, render.finished_at = "failed", message, utcnow()
