"""The entry jobs: run the anonymisation pipeline on an entry, and re-render it after
review edits. Each takes an entry id, checks the entry's state first, and is safe to run
twice. Every failure leaves the entry with the team (``needs_attention``, with the
reason); the original is never touched. A render that replaces an earlier rendered
revision announces ``RERENDERED``, for features holding the old audio or words.

The entry's own files are erased by ``erase_results``, which withdrawal calls before
it commits rather than listening for ``WITHDRAWN``: a listener runs after the commit,
when it is too late to refuse the withdrawal if a file cannot be deleted.
"""
from __future__ import annotations

import io
import json
import logging
import re
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select, update

from . import jobs, keys, lifecycle, workdir
from .adapters import encryption_key, get_private_storage, get_transcriber
from .anonymise import (
    Settings,
    check_transcript,
    find_redactions,
    redact_written,
    redacted_document,
    redaction_list,
    render_audio,
    sweep_plan,
    text_hash,
    to_vtt,
    transcribe_file,
    written_words,
)
from .domain import redaction as rd
from .domain import status as st
from .domain.consent import Consent
from .domain.redaction import TimedWord
from .entries import load_text, load_transcript
from .entry_events import announce
from .errors import InvalidInput, MediaError, PipelineError, TranscriptionError
from .extensions import db
from .models import Entry, LocalName, Redaction, SafeguardingFlag, utcnow
from .safeguarding import PhraseListError, find_concerns
from .storage import NoSuchObject, Storage

log = logging.getLogger(__name__)
PROCESS = "transcribe_entry"  # the name queued jobs already carry
RENDER = "render_entry"
# peaks.json: the studio's waveform of the redacted audio, cached beside it on first use.
RESULTS = ("redacted.json", "redacted.vtt", "redacted.mp3", "redacted.opus", "peaks.json")
# Errors that mean "this entry cannot be processed as it is": no point retrying, so the
# entry goes to the team on the first attempt. (PhraseListError: a broken safeguarding
# list must stop entries visibly, not skip flags.) Anything else propagates to the job,
# which retries with back-off: storage, network, queue or database out for a while.
_NEEDS_PEOPLE = (PipelineError, MediaError, TranscriptionError, rd.PlanError,
                 PhraseListError, InvalidInput, NoSuchObject)


# The folders of a path, as a decoder's or the recogniser's error text may quote them.
_FOLDERS = re.compile(r"(?:/[^/\s:'\"]+)+/")


def _reason(error: Exception | str) -> str:
    """What staff read on the entry: the error's own words, except where they would
    name a storage key or one of our server's folders.

    >>> _reason("could not decode audio file /srv/data/work/h_1_ab/speech.wav: bad")
    'could not decode audio file speech.wav: bad'
    """
    if isinstance(error, NoSuchObject):
        return "a stored file of this entry is missing; ask for it to be recorded again"
    return _FOLDERS.sub("", str(error))


def waiting_to_retry(entry: Entry) -> jobs.RetryWait | None:
    """The entry's job is waiting out a back-off after a transient failure (or for the
    queue to come back): staff are told so, rather than seeing it stuck."""
    if entry.status not in (st.RECEIVED, st.PROCESSING, st.AWAITING_REVIEW) \
            or (entry.status == st.AWAITING_REVIEW and entry.rendered):
        return None
    return jobs.retry_wait(entry.id, (PROCESS, RENDER))


def init_app(app) -> None:
    app.add_template_global(waiting_to_retry)


def settings_for(org_id: int) -> Settings:
    from .pii import LocalName as Local

    names = db.session.scalars(select(LocalName).where(LocalName.org_id == org_id))
    redact, allow = [], []
    for n in names:
        (redact.append(Local(n.text, n.type)) if n.list == "redact" else allow.append(n.text))
    config = current_app.config
    return Settings(pad=config["REDACTION_PAD_MS"] / 1000, sound=config["REDACTION_SOUND"],
                    local_names=tuple(redact), allow=tuple(allow),
                    max_seconds=config["MAX_RECORDING_SECONDS"])


def detector():
    from .pii import get_detector  # loads spaCy on first use, not at import
    return get_detector()


def mark_needs_attention(entry_id: int | None, reason: str) -> None:
    """A job gave up: keep the entry (and its original) with the team, saying why."""
    entry = db.session.get(Entry, entry_id) if entry_id else None
    if entry is None or entry.status in (st.WITHDRAWN, st.NEEDS_ATTENTION):
        return
    st.check_transition(entry.status, st.NEEDS_ATTENTION)
    entry.status = st.NEEDS_ATTENTION
    entry.status_reason = f"processing failed: {_reason(reason)}"
    db.session.commit()


def _while_processing(entry: Entry, **values: object) -> bool:
    """Save progress unless the entry was withdrawn meanwhile (the condition is in the
    UPDATE, so a withdrawal that lands during the job always wins)."""
    moved = db.session.execute(
        update(Entry).where(Entry.id == entry.id, Entry.status == st.PROCESSING)
        .values(updated_at=utcnow(), **values)).rowcount
    db.session.commit()
    return moved == 1


def _finish(entry: Entry, new: str, *, reason: str | None = None, **values) -> bool:
    st.check_transition(st.PROCESSING, new)
    return _while_processing(entry, status=new, status_reason=reason, **values)


@jobs.handler(PROCESS, on_failure=mark_needs_attention)
def process_entry(ctx: jobs.JobContext, entry_id: int | None) -> None:
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.status not in (st.RECEIVED, st.PROCESSING):
        return  # withdrawn, or already done by an earlier delivery
    st.check_transition(entry.status, st.PROCESSING)
    entry.status, entry.status_reason = st.PROCESSING, None
    db.session.commit()
    started = time.perf_counter()
    try:
        if entry.kind == "text":
            done = _process_written(entry)
        else:
            done = _process_recording(ctx, entry)
    except _NEEDS_PEOPLE as e:
        db.session.rollback()
        log.info("entry %s needs attention: %s", entry.id, type(e).__name__)
        _finish(entry, st.NEEDS_ATTENTION, reason=_reason(e))
        return
    if not (done and _finish(entry, st.AWAITING_REVIEW)):
        # Withdrawn while we worked: what this run wrote must go too.
        db.session.refresh(entry)
        if entry.status == st.WITHDRAWN:
            erase_results(entry)
            db.session.commit()
        return
    log.info("entry %s processed in %.1f s", entry.id, time.perf_counter() - started)


def _process_written(entry: Entry) -> bool:
    words = written_words(load_text(entry) or "")
    _flag(entry, words)
    plan = find_redactions(words, language="en", detector=detector(),
                           settings=settings_for(entry.org_id))
    plan = sweep_plan(words, plan, language="en")
    return (_save_redactions(entry, words, [None] * len(words), plan)
            and _render(entry, words=words))


def _process_recording(ctx: jobs.JobContext, entry: Entry) -> bool:
    private = get_private_storage()
    settings = settings_for(entry.org_id)
    transcriber = get_transcriber()
    with workdir.work_folder(current_app.config["DATA_DIR"]) as work:
        src = work / f"original{Path(entry.original_key).suffix}"
        with private.open(entry.original_key) as fh, src.open("wb") as out:
            shutil.copyfileobj(fh, out)
        if entry.kind == "video" and not entry.audio_key:
            from .media.decode import extract_audio_track
            track = work / "audio.ogg"
            extract_audio_track(src, track)
            key = _key(entry, "audio.ogg")
            with track.open("rb") as fh:
                private.put(key, fh)
            if not _while_processing(entry, audio_key=key):
                return False
        transcript, samples = transcribe_file(
            src, work, transcriber=transcriber, disguise=_disguised(entry),
            max_seconds=settings.max_seconds, on_progress=lambda f: ctx.progress(f * 80))
        key = _key(entry, "transcript.json")
        private.put(key, io.BytesIO(json.dumps(transcript.to_dict()).encode()))
        if not _while_processing(entry, transcript_key=key, language=transcript.language,
                                 duration=transcript.duration):
            return False
        db.session.refresh(entry)
        check_transcript(transcript, multilingual=getattr(transcriber, "multilingual", True))
        words = [w.text for w in transcript.words]
        _flag(entry, words)
        ctx.progress(85)
        plan = find_redactions(words, language=transcript.language, detector=detector(),
                               settings=settings)
        plan = sweep_plan(words, plan, language=transcript.language,
                          probabilities=[w.probability for w in transcript.words])
        times = [(w.start, w.end) for w in transcript.words]
        if not _save_redactions(entry, words, times, plan):
            return False
        ctx.progress(90)
        return _render(entry, src=src, transcript=transcript, samples=samples,
                       settings=settings)


def _key(entry: Entry, name: str) -> str:
    return keys.entry_file(entry.org_id, entry.id, name)


def _flag(entry: Entry, words: list[str]) -> None:
    """Flag first and commit at once: staff see an urgent entry even if a later step
    fails, and flagging never waits for redaction."""
    # Its own copy of the model: detection loads spaCy without the lemmatizer (for speed),
    # and the phrase list matches on lemmas.
    concerns = find_concerns(words)
    db.session.execute(delete(SafeguardingFlag).where(SafeguardingFlag.entry_id == entry.id))
    for c in concerns:
        db.session.add(SafeguardingFlag(org_id=entry.org_id, entry_id=entry.id,
                                        category=c.category, first_word=c.first,
                                        last_word=c.last, phrase=c.phrase[:200]))
    db.session.flush()
    if not _while_processing(entry, urgent=bool(concerns)):
        db.session.rollback()


def _save_redactions(entry: Entry, words: list[str], times: list, plan) -> bool:
    """Replace the entry's automatic redactions (a re-run must not double them)."""
    key = encryption_key()
    db.session.execute(delete(Redaction).where(Redaction.entry_id == entry.id))
    db.session.add_all(redaction_row(entry, words, times, r, key) for r in plan)
    db.session.flush()
    return _while_processing(entry, redaction_revision=entry.redaction_revision + 1)


def redaction_row(entry: Entry, words: Sequence[str], times: Sequence, plan: rd.Redaction,
                  key: bytes) -> Redaction:
    """The stored form of a planned redaction: keyed hash of its words, never the words;
    ``times`` holds each word's ``(start, end)``, or None for a written entry."""
    start, end = times[plan.first] or (None, None), times[plan.last] or (None, None)
    return Redaction(org_id=entry.org_id, entry_id=entry.id, first_word=plan.first,
                     last_word=plan.last, type=plan.type, source=plan.source,
                     text_hash=text_hash(words, plan, key), start=start[0], end=end[1])


def current_plan(entry: Entry) -> list[rd.Redaction]:
    rows = db.session.scalars(select(Redaction).where(Redaction.entry_id == entry.id)
                              .order_by(Redaction.first_word))
    return [rd.Redaction(r.first_word, r.last_word, r.type, r.source) for r in rows]


def _disguised(entry: Entry) -> bool:
    return Consent.from_dict(entry.consent).voice == "disguise"


def _render(entry: Entry, *, src: Path | None = None, transcript=None, samples=None,
            words: list[str] | None = None, settings: Settings | None = None) -> bool:
    """Write the redacted results of the entry's current revision; True once recorded.

    The revision is in the keys and in the conditional UPDATE, so a render that lost a
    race with a newer edit deletes what it wrote instead of recording it. What the
    pipeline already has (source, transcript, words, settings) is passed in rather than
    read again; a re-render after review reads it.
    """
    db.session.refresh(entry)
    revision, plan = entry.redaction_revision, current_plan(entry)
    private = get_private_storage()
    written: list[str] = []

    def put(name: str, data: bytes | io.BufferedIOBase) -> None:
        key = entry.result_key(name, revision)
        private.put(key, io.BytesIO(data) if isinstance(data, bytes) else data)
        written.append(key)

    if entry.kind == "text":
        if words is None:
            words = written_words(load_text(entry) or "")
        untimed = [TimedWord(None, None, w) for w in words]  # type: ignore[arg-type]
        document = {"language": entry.language or "en", "text": redact_written(words, plan),
                    "redactions": redaction_list(untimed, plan)}
        put("redacted.json", json.dumps(document).encode())
    else:
        transcript = transcript or load_transcript(entry)
        document = redacted_document(transcript, plan, key=encryption_key())
        put("redacted.json", json.dumps(document).encode())
        put("redacted.vtt", to_vtt(document).encode())
        disguise = _disguised(entry)
        with workdir.work_folder(current_app.config["DATA_DIR"]) as work:
            if src is None:
                src = work / "source"
                with private.open(entry.audio_key or entry.original_key) as fh, \
                        src.open("wb") as out:
                    shutil.copyfileobj(fh, out)
            mp3, opus = work / "redacted.mp3", work / "redacted.opus"
            # Heard again around every redaction before anything is stored (re-listen).
            render_audio(src, transcript, plan, disguise=disguise, out_mp3=mp3,
                         out_opus=opus, settings=settings or settings_for(entry.org_id),
                         samples=samples, transcriber=get_transcriber())
            for path in (mp3, opus):
                with path.open("rb") as fh:
                    put(path.name, fh)
    previous = entry.rendered_revision
    moved = db.session.execute(
        update(Entry).where(Entry.id == entry.id, Entry.redaction_revision == revision,
                            Entry.status.in_((st.PROCESSING, st.AWAITING_REVIEW)))
        .values(rendered_revision=revision, updated_at=utcnow())).rowcount
    db.session.commit()
    if moved != 1:
        _delete(written, private)
        return False
    if previous is not None and previous != revision:
        # Told first: the new revision is recorded, whatever becomes of the old files.
        announce(lifecycle.RERENDERED, entry_id=entry.id, org_id=entry.org_id,
                 actor="worker")
        _delete((entry.result_key(n, previous) for n in RESULTS), private)
    return True


@jobs.handler(RENDER, on_failure=mark_needs_attention)
def render_entry(ctx: jobs.JobContext, entry_id: int | None) -> None:
    """Re-render after a reviewer changed the redactions (the entry stays in review)."""
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.status != st.AWAITING_REVIEW or entry.rendered:
        return
    try:
        _render(entry)
    except _NEEDS_PEOPLE as e:
        db.session.rollback()
        mark_needs_attention(entry.id, _reason(e))


def _delete(names: Iterable[str], private: Storage | None = None) -> None:
    private = private or get_private_storage()
    for key in names:
        private.delete(key)


def erase_results(entry: Entry, *, private: Storage | None = None) -> None:
    """Delete everything the pipeline made from an entry (withdrawal, or a job that lost
    the race with one): files of every revision, redactions and flags."""
    # Names, not the entry's columns: a job that lost the race wrote files it never
    # recorded. One revision past the last covers a render still in flight.
    names = [_key(entry, "transcript.json"), _key(entry, "audio.ogg")]
    names += [entry.result_key(n, rev) for rev in range(entry.redaction_revision + 2)
              for n in RESULTS]
    _delete(names, private)
    db.session.execute(delete(Redaction).where(Redaction.entry_id == entry.id))
    db.session.execute(delete(SafeguardingFlag).where(SafeguardingFlag.entry_id == entry.id))


def sweep_work_folders() -> int:
    """Remove the work folders (plaintext) of jobs whose process died mid-way."""
    return workdir.sweep(current_app.config["DATA_DIR"])


jobs.MAINTENANCE.append(sweep_work_folders)  # the sweeper runs it
