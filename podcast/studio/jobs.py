"""The render job: an episode's edit lists become MP3, Opus, chapters and transcripts.

It renders what was asked for (the render's ``sources``, fixed at the request), in a work
folder, and stores every file encrypted. It ends in one conditional step: the render is
recorded as done only if every entry in it is still approved, at the same revision, and
allowed in an episode. An entry withdrawn (or narrowed, or sent back) while it rendered
makes it fail instead, and what it wrote is deleted; the episode's last good render
stays current throughout. Safe to run twice: a render that is not queued or running is
left alone.
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import exists, or_, select, update

from diaryroom import jobs, workdir
from diaryroom.adapters import get_private_storage
from diaryroom.domain import status as st
from diaryroom.errors import InvalidInput, MediaError, NotFound
from diaryroom.extensions import db
from diaryroom.models import Entry, utcnow
from diaryroom.storage import NoSuchObject

from . import files
from . import sources as src
from .edits import EditError, chapters_json, episode_words, to_srt, to_vtt
from .models import Episode, EpisodeCohost, EpisodeRender
from .plan import PlanError, RenderPlan
from .render import render_episode

RENDER_EPISODE = "render_episode"
FAILED = ("The render did not finish. Try again in a moment; if it fails again, tell the "
          "coordinator.")
WITHDRAWN_WHILE_RENDERING = ("An entry in this episode was withdrawn while it was "
                             "rendering; remove it and render again.")
CHANGED_WHILE_RENDERING = ("An entry in this episode was sent back for review or changed "
                           "while it was rendering; check the parts marked in the studio "
                           "and render again.")
MISSING = ("The audio of one of the parts is missing (it may have been withdrawn or "
           "changed); check the parts marked in the studio and render again.")
# Errors that will be the same on a second try: the render fails at once, saying why.
_FOR_PEOPLE = (PlanError, EditError, MediaError, InvalidInput, NotFound, NoSuchObject)
_FOLDERS = re.compile(r"(?:/[^/\s:'\"]+)+/")


@dataclass(frozen=True)
class Made:
    """What ``make_files`` stored: name -> storage key, and what was measured."""

    files: dict[str, str]
    duration: float
    lufs: float
    true_peak: float
    mp3_sha256: str
    mp3_size: int


def _message(error: Exception) -> str:
    if isinstance(error, NoSuchObject):
        return MISSING
    return _FOLDERS.sub("", str(error))[:2000]  # never one of our folders


def _throttled(ctx: jobs.JobContext, start: float, span: float) -> Callable[[float], None]:
    """The renderer's progress (0..100) as a share of the job's, written when it moves."""
    last = [-1]

    def report(percent: float) -> None:
        value = int(start + span * max(0.0, min(100.0, percent)) / 100)
        if value != last[0]:
            last[0] = value
            ctx.progress(value)
    return report


def start(render_id: int | None) -> EpisodeRender | None:
    """Claim a queued render (or one whose earlier attempt stopped); None if it is not
    ours to make any more (done, failed, or deleted by a withdrawal)."""
    moved = db.session.execute(
        update(EpisodeRender).where(EpisodeRender.id == render_id,
                                    EpisodeRender.state.in_(("queued", "running")))
        .values(state="running", error=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return db.session.get(EpisodeRender, render_id) if moved == 1 else None


def _metadata(episode: Episode) -> dict[str, str]:
    names = db.session.scalars(select(EpisodeCohost.display_name).where(
        EpisodeCohost.episode_id == episode.id).order_by(EpisodeCohost.id))
    tags = {"title": episode.title, "date": str(utcnow().year)}
    hosts = ", ".join(names)
    if hosts:
        tags["artist"] = hosts
    if episode.number is not None:
        tags["track"] = str(episode.number)
    return tags


def make_files(ctx: jobs.JobContext, render: EpisodeRender) -> Made:
    """Render the episode and store its five files, encrypted, under the render's keys."""
    episode = db.session.get(Episode, render.episode_id)
    private = get_private_storage()
    stored: dict[str, str] = {}
    with workdir.work_folder(src.work_root()) as work:
        clips, words = [], []
        for i, item in enumerate(render.sources):
            ids = {"entry_id": item.get("entry_id"), "revision": item.get("entry_revision"),
                   "recording_id": item.get("recording_id"), "music_id": item.get("music_id")}
            source = src.source_of(item["kind"], **ids)
            if source.duration is None:
                raise NoSuchObject()
            folder = work / f"part-{i}"
            folder.mkdir()
            audio = src.fetch_audio(item["kind"], folder, **ids)
            clips.append(src.clip_for(audio, item.get("edits"), source, first=i == 0,
                                      title=item.get("title") or ""))
            words.append(source.words)
        plan = RenderPlan(tuple(clips), title=episode.title, metadata=_metadata(episode))
        chapters = chapters_json(plan)
        out = work / "out"
        out.mkdir()
        ctx.progress(5)
        result = render_episode(plan, out, on_progress=_throttled(ctx, 5, 85),
                                chapters=chapters["chapters"], metadata=plan.metadata)
        timed = episode_words(plan, words)
        texts = {"chapters.json": json.dumps(chapters, ensure_ascii=False),
                 "transcript.vtt": to_vtt(timed), "transcript.srt": to_srt(timed)}
        mp3 = None
        for name in ("episode.mp3", "episode.opus"):
            stored[name] = files.render_key(render, name)
            with result.files[name].open("rb") as fh:
                put = private.put(stored[name], fh)
            mp3 = put if name == "episode.mp3" else mp3
        for name, text in texts.items():
            stored[name] = files.render_key(render, name)
            private.put(stored[name], io.BytesIO(text.encode()))
    ctx.progress(95)
    return Made(stored, result.duration, result.lufs, result.true_peak, mp3.sha256, mp3.size)


def entries_problem(render: EpisodeRender) -> str | None:
    """The most serious reason an entry of this render may not be in it now."""
    problem = None
    for item in render.sources:
        if item.get("entry_id") is None:
            continue
        entry = db.session.get(Entry, item["entry_id"])
        if entry is not None:
            db.session.refresh(entry)
        problem = src.worse(problem, src.entry_problem(entry, item.get("entry_revision")))
    return problem


def finish(render_id: int, made: Made) -> bool:
    """Record the render as done and make it current, in one conditional UPDATE; or,
    if an entry in it is no longer usable (or a withdrawal already failed it), delete
    what it wrote and fail it. True when it is done."""
    render = db.session.get(EpisodeRender, render_id)
    db.session.refresh(render)
    problem = entries_problem(render)
    moved = 0
    if problem is None:
        # The same checks again inside the UPDATE: a withdrawal committed between the
        # look above and this write still wins.
        still = [exists().where(Entry.id == item["entry_id"], Entry.status == st.APPROVED,
                                Entry.rendered_revision == item.get("entry_revision"))
                 for item in render.sources if item.get("entry_id") is not None]
        moved = db.session.execute(
            update(EpisodeRender).where(EpisodeRender.id == render_id,
                                        EpisodeRender.state == "running", *still)
            .values(state="done", files=made.files, duration=made.duration, lufs=made.lufs,
                    true_peak=made.true_peak, mp3_sha256=made.mp3_sha256,
                    mp3_size=made.mp3_size, error=None, finished_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.rollback()
        files.delete_render_files(render)
        message = CHANGED_WHILE_RENDERING if problem in ("unapproved", "changed") \
            else WITHDRAWN_WHILE_RENDERING
        _fail(render_id, message)
        return False
    db.session.execute(
        update(Episode).where(Episode.id == render.episode_id, or_(
            Episode.current_render_id.is_(None), Episode.current_render_id < render_id))
        .values(current_render_id=render_id)
        .execution_options(synchronize_session=False))
    db.session.commit()
    files.prune(render.episode_id)
    return True


def _fail(render_id: int | None, message: str) -> None:
    """Fail a render still in the making (one already failed or done is left alone)."""
    db.session.execute(
        update(EpisodeRender).where(EpisodeRender.id == render_id,
                                    EpisodeRender.state.in_(("queued", "running")))
        .values(state="failed", error=message, files={}, finished_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.commit()


def render_failed(render_id: int | None, _message_for_staff: str) -> None:
    """The job gave up: the render fails with a message for co-hosts (the details are
    in the server log under the job), what it wrote goes, the current render stays."""
    render = db.session.get(EpisodeRender, render_id) if render_id else None
    if render is None or render.state not in ("queued", "running"):
        return
    files.delete_render_files(render)
    _fail(render.id, FAILED)


@jobs.handler(RENDER_EPISODE, on_failure=render_failed)
def render_episode_job(ctx: jobs.JobContext, render_id: int | None) -> None:
    render = start(render_id)
    if render is None:
        return
    try:
        made = make_files(ctx, render)
    except _FOR_PEOPLE as e:
        db.session.rollback()
        files.delete_render_files(render)
        _fail(render.id, _message(e))
        return
    finish(render.id, made)
