"""Co-hosts' own recordings and the show's music.

A co-host's recording is a person's voice like any entry: it is validated at the door,
kept encrypted, and only ever decrypted into a work folder. A job transcribes it and
runs the same personal-data detector as the entries, so the co-host sees what they said
that they may want to cut (a friend's name, a phone number). Their voice is not
disguised and nothing is cut for them: they speak for themselves, and choose.

Music is the show's intro and outro: sound only, with who made it and its licence, so
every episode can credit it.
"""
from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update
from werkzeug.datastructures import FileStorage

from diaryroom import jobs, keys, uploads, workdir
from diaryroom.adapters import get_private_storage, get_transcriber
from diaryroom.anonymise import check_transcript, decode_speech, find_redactions, is_speech
from diaryroom.asr import Transcript
from diaryroom.auth.principal import Principal
from diaryroom.domain.redaction import PlanError
from diaryroom.encrypted_storage import EncryptedStorage
from diaryroom.errors import (
    Conflict,
    InvalidInput,
    MediaError,
    NotFound,
    PipelineError,
    TranscriptionError,
)
from diaryroom.extensions import db
from diaryroom.intake import MEDIA_SUFFIXES
from diaryroom.media.validate import validate
from diaryroom.processing import detector, settings_for
from diaryroom.storage import NoSuchObject

from .models import CohostRecording, Episode, MusicTrack, Segment

RECORDING = "process_cohost_recording"
PROCESSING, READY, NEEDS_ATTENTION = "processing", "ready", "needs_attention"
MAX_CREDIT_CHARS = 200  # the columns' size
# Errors that mean "this recording cannot be checked as it is": the co-host is told at
# once. Anything else (storage or database away for a while) goes back to the job, which
# tries again later.
_NEEDS_PEOPLE = (PipelineError, MediaError, TranscriptionError, PlanError, InvalidInput,
                 NoSuchObject)
# Where a file was, as an error from a decoder may quote it: never shown to anyone.
_FOLDERS = re.compile(r"(?:/[^/\s:'\"]+)+/")
# What validation says about a file that is no use as music, whatever the detail.
_NOT_SOUND = {"unsupported_media", "unreadable_media", "no_audio", "unsupported_codec",
              "empty_media"}
NOT_AUDIO = ("This file is not music we can use. Please choose a sound file (MP3, WAV, "
             "FLAC, Ogg or M4A).")
MUSIC_IS_VIDEO = ("This file is a video. Please choose a sound file (MP3, WAV, FLAC, Ogg "
                  "or M4A) for the music.")


def _storage(storage: EncryptedStorage | None) -> EncryptedStorage:
    return storage if storage is not None else get_private_storage()


# -- taking files in -----------------------------------------------------------------------


@contextmanager
def _received(principal: Principal, *, upload_id: str | None, media: FileStorage | None,
              refuse_code: str, refuse_message: str
              ) -> Iterator[tuple[Path, uploads.Upload | None]]:
    """What was sent (a finished tus upload, or a file in the request), copied into a
    work folder; the folder and its plaintext go when the block ends."""
    if upload_id:
        part, upload = uploads.claim_completed_upload(str(upload_id), principal)
        filename = (upload.meta or {}).get("filename") or ""
    elif media is not None:
        part, upload, filename = None, None, media.filename or ""
    else:
        raise InvalidInput("Please choose a file to send.", code="missing_media")
    # Without a name it is what the studio's recorder makes. Only a first sieve:
    # validate() judges the content, whatever it is called.
    suffix = Path(filename).suffix.lower() or ".webm"
    if suffix not in MEDIA_SUFFIXES:
        raise InvalidInput(refuse_message, code=refuse_code)
    with workdir.work_folder(current_app.config["DATA_DIR"]) as work:
        path = work / f"upload{suffix}"
        if part is not None:
            shutil.copyfile(part, path)
        else:
            with path.open("wb") as out:
                shutil.copyfileobj(media.stream, out)  # type: ignore[union-attr]
        yield path, upload


def _validated(path: Path):
    config = current_app.config
    return validate(path, kind=None, max_seconds=config["MAX_RECORDING_SECONDS"],
                    timeout=config["MEDIA_TIMEOUT_SECONDS"])


def _store_and_commit(storage: EncryptedStorage, key: str, path: Path,
                      upload: uploads.Upload | None) -> None:
    """Write the encrypted file, then commit the row (and the upload used) with it;
    if the commit fails the file goes again, so nothing is half-stored."""
    with path.open("rb") as fh:
        storage.put(key, fh)
    try:
        if upload is not None:
            uploads.mark_consumed(upload)
        db.session.commit()
    except Exception:
        db.session.rollback()
        storage.delete(key)
        raise
    if upload is not None:
        # Keep the row (marked used) so a replayed id is refused; it goes when it expires.
        uploads.discard(upload, keep_record=True)
        db.session.commit()


# -- co-host recordings ----------------------------------------------------------------------


def receive_recording(principal: Principal, *, episode: Episode, upload_id: str | None = None,
                      media: FileStorage | None = None,
                      storage: EncryptedStorage | None = None) -> CohostRecording:
    """Take a co-host's recording for ``episode`` (a finished upload's id, or a file),
    keep it encrypted and queue the job that transcribes and checks it.

    Raises ``InvalidInput`` (a message for the co-host) for anything that is not a sound
    recording we take, or is too long."""
    if episode.org_id != principal.org_id:
        raise NotFound("There is no such episode.")
    storage = _storage(storage)
    with _received(principal, upload_id=upload_id, media=media,
                   refuse_code="unsupported_media",
                   refuse_message="This file is not a recording we can take. Please send a "
                                  "sound recording (WebM, Ogg, MP3, M4A, WAV or FLAC).") \
            as (path, upload):
        keep, info = _validated(path)
        if info.has_video:
            # Only the sound goes in an episode; a face is personal data we need not hold.
            raise InvalidInput("This recording has video in it. Please send sound only.",
                               code="unexpected_video")
        rec = CohostRecording(org_id=episode.org_id, episode_id=episode.id,
                              user_id=principal.user.id if principal.user else None,
                              status=PROCESSING, duration=info.duration, findings=[])
        db.session.add(rec)
        db.session.flush()  # its id names its storage keys
        rec.original_key = keys.recording_file(rec.org_id, rec.id,
                                               f"original{keep.suffix.lower()}")
        _store_and_commit(storage, rec.original_key, keep, upload)
    jobs.enqueue(RECORDING, rec.id, org_id=rec.org_id)
    return rec


def _reason(error: Exception) -> str:
    """What the co-host reads on a recording that needs attention: never a path or key.

    >>> _reason(MediaError("cannot decode /srv/data/work/h_1_ab/speech.wav: bad"))[:59]
    'This recording could not be played to check it (cannot deco'
    >>> "/srv" in _reason(MediaError("cannot decode /srv/data/work/h_1_ab/speech.wav"))
    False
    """
    if isinstance(error, NoSuchObject):
        return "The file of this recording is missing. Please record it again."
    detail = _FOLDERS.sub("", str(error))
    if isinstance(error, PipelineError):  # already written for the co-host
        return detail
    if isinstance(error, MediaError):
        return (f"This recording could not be played to check it ({detail}). Please "
                "record it again.")
    return f"This recording could not be checked ({detail}). Please record it again."


def _while_processing(recording_id: int, **values: object) -> bool:
    """Save the job's result unless the recording was deleted (or finished by an earlier
    delivery) meanwhile: the condition is in the UPDATE, so a deletion always wins."""
    moved = db.session.execute(
        update(CohostRecording).where(CohostRecording.id == recording_id,
                                      CohostRecording.status == PROCESSING)
        .values(**values)).rowcount
    db.session.commit()
    return moved == 1


def mark_needs_attention(recording_id: int | None, reason: str) -> None:
    """The job gave up (its last attempt failed): say so on the recording."""
    if recording_id is not None:
        detail = _FOLDERS.sub("", reason)
        _while_processing(recording_id, status=NEEDS_ATTENTION,
                          status_reason=f"This recording could not be checked ({detail}).")


def _check_words(transcript: Transcript, *, multilingual: bool) -> None:
    """Refuse a transcript the detector cannot stand behind, in the co-host's words."""
    if not any(is_speech(w.text) for w in transcript.words):
        raise PipelineError("No words were heard in this recording. It may be silent or too "
                            "quiet. Please record it again, closer to the microphone.")
    try:
        check_transcript(transcript, multilingual=multilingual)
    except PipelineError:
        raise PipelineError("The words in this recording could not be made out clearly, so "
                            "it could not be checked for personal details. Please record "
                            "it again.") from None


def _transcribe(ctx: jobs.JobContext, org_id: int, recording_id: int, original_key: str,
                storage: EncryptedStorage) -> tuple[str, list[dict]]:
    """Transcribe, store the transcript, find personal details: (transcript key, findings).
    Plain values in, not the row: it may be deleted while this runs."""
    settings = settings_for(org_id)
    transcriber = get_transcriber()
    with workdir.work_folder(current_app.config["DATA_DIR"]) as work:
        src = _decrypt(storage, original_key, work / f"recording-{recording_id}")
        # Not transcribe_file: it also decodes the sound for rendering, which a co-host's
        # recording does not need (nothing is cut or disguised for them here).
        wav = decode_speech(src, work, max_seconds=settings.max_seconds)
        transcript = transcriber.transcribe(wav, on_progress=lambda f: ctx.progress(f * 80))
    _check_words(transcript, multilingual=getattr(transcriber, "multilingual", True))
    ctx.progress(85)
    plan = find_redactions([w.text for w in transcript.words], language=transcript.language,
                           detector=detector(), settings=settings)
    key = keys.recording_file(org_id, recording_id, "transcript.json")
    storage.put(key, io.BytesIO(json.dumps(transcript.to_dict()).encode()))
    return key, [{"first": r.first, "last": r.last, "type": r.type} for r in plan]


@jobs.handler(RECORDING, on_failure=mark_needs_attention)
def process_recording(ctx: jobs.JobContext, recording_id: int | None) -> None:
    """Transcribe a co-host's recording and find the personal details in it. Safe to run
    twice; a recording deleted while it runs leaves nothing behind."""
    rec = db.session.get(CohostRecording, recording_id)
    if rec is None or rec.status != PROCESSING:
        return  # deleted, or done by an earlier delivery
    org_id, rec_id, storage = rec.org_id, rec.id, get_private_storage()
    try:
        if not rec.original_key:
            raise NoSuchObject()
        transcript_key, findings = _transcribe(ctx, org_id, rec_id, rec.original_key, storage)
    except _NEEDS_PEOPLE as e:
        db.session.rollback()
        _while_processing(rec_id, status=NEEDS_ATTENTION, status_reason=_reason(e))
        return
    if not _while_processing(rec_id, status=READY, status_reason=None, findings=findings,
                             transcript_key=transcript_key):
        gone = db.session.scalar(select(CohostRecording.id).where(
            CohostRecording.id == rec_id)) is None
        if gone:  # deleted while we worked: what this run wrote must go too
            _erase(org_id, rec_id, storage)


def _erase(org_id: int, recording_id: int, storage: EncryptedStorage,
           original_key: str | None = None) -> None:
    # Names, not columns: a job that lost the race wrote files it never recorded.
    names = ("transcript.json", "peaks.json")
    for key in [original_key, *(keys.recording_file(org_id, recording_id, n) for n in names)]:
        if key:
            storage.delete(key)


def _transcript(rec: CohostRecording, storage: EncryptedStorage | None) -> Transcript | None:
    if not rec.transcript_key:
        return None
    with _storage(storage).open(rec.transcript_key) as fh:
        return Transcript.from_dict(json.load(fh))


def recording_words(rec: CohostRecording, *, storage: EncryptedStorage | None = None
                    ) -> list[dict]:
    """The recording's words, ``[{"text", "start", "end"}]`` in its own seconds, as the
    editor shows them (``cut_words`` indexes them); ``[]`` until it is transcribed."""
    transcript = _transcript(rec, storage)
    if transcript is None:
        return []
    return [{"text": w.text, "start": w.start, "end": w.end} for w in transcript.words]


def findings_with_words(rec: CohostRecording, *, storage: EncryptedStorage | None = None
                        ) -> list[dict]:
    """What the detector found, with the words, for the co-host deciding what to cut:
    ``[{"index", "first", "last", "type", "text", "start", "end"}]``. Only for people of
    the recording's organisation (the stored findings hold no words; this does)."""
    words = recording_words(rec, storage=storage)
    found = []
    for index, f in enumerate(rec.findings or []):
        first, last = f["first"], f["last"]
        if not 0 <= first <= last < len(words):
            continue  # cannot happen for findings of this transcript; never show a wrong word
        found.append({"index": index, "first": first, "last": last, "type": f["type"],
                      "text": "".join(w["text"] for w in words[first:last + 1]).strip(),
                      "start": words[first]["start"], "end": words[last]["end"]})
    return found


def delete_recording(rec: CohostRecording, *, storage: EncryptedStorage | None = None) -> None:
    """Delete a co-host's recording: its files, then its row. A recording still used in
    an episode is refused (``Conflict``): take it out of the episode first."""
    used = db.session.scalar(select(Segment.id).where(Segment.recording_id == rec.id).limit(1))
    if used is not None:
        raise Conflict("This recording is still in the episode. Take it out of the episode "
                       "first, then delete it.")
    _erase(rec.org_id, rec.id, _storage(storage), rec.original_key)
    db.session.delete(rec)
    db.session.commit()


def _decrypt(storage: EncryptedStorage, key: str, stem: Path) -> Path:
    path = stem.with_suffix(Path(key).suffix)
    with storage.open(key) as fh, path.open("wb") as out:
        shutil.copyfileobj(fh, out)
    return path


def open_source(obj: CohostRecording | MusicTrack, work: Path, *,
                storage: EncryptedStorage | None = None) -> Path:
    """Decrypt a recording's or a music track's sound into ``work`` (a
    ``workdir.work_folder``, and nowhere else: it is plaintext) and return its path."""
    root = workdir.work_root(current_app.config["DATA_DIR"]).resolve()
    if root not in Path(work).resolve().parents:
        raise ValueError("decrypted sound may only be written inside a work folder")
    key = obj.original_key if isinstance(obj, CohostRecording) else obj.key
    if not key:
        raise NotFound("The sound of this recording is not there any more.")
    kind = "recording" if isinstance(obj, CohostRecording) else "music"
    return _decrypt(_storage(storage), key, Path(work) / f"{kind}-{obj.id}")


# -- music ----------------------------------------------------------------------------------


def _credit(value: object, missing: str, code: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInput(missing, code=code)
    if len(text) > MAX_CREDIT_CHARS:
        raise InvalidInput(f"Please keep this under {MAX_CREDIT_CHARS} characters: {missing}",
                           code="credit_too_long")
    return text


def add_music(principal: Principal, *, title: str, made_by: str, licence: str,
              upload_id: str | None = None, media: FileStorage | None = None,
              storage: EncryptedStorage | None = None) -> MusicTrack:
    """Add a music track for the show, with its credit (title, who made it, licence).

    Raises ``InvalidInput`` for a missing credit, and code ``not_audio`` for a file that
    is not sound (a picture, a document, a video)."""
    title = _credit(title, "Please give the music a title.", "missing_title")
    made_by = _credit(made_by, "Please say who made the music, so we can credit them.",
                      "missing_made_by")
    licence = _credit(licence, "Please give the music's licence (for example CC BY 4.0), "
                               "so we know we may use it.", "missing_licence")
    storage = _storage(storage)
    with _received(principal, upload_id=upload_id, media=media, refuse_code="not_audio",
                   refuse_message=NOT_AUDIO) as (path, upload):
        try:
            keep, info = _validated(path)
        except InvalidInput as e:
            if e.code in _NOT_SOUND:
                raise InvalidInput(NOT_AUDIO, code="not_audio") from None
            raise
        if info.has_video:
            raise InvalidInput(MUSIC_IS_VIDEO, code="not_audio")
        track = MusicTrack(org_id=principal.org_id, title=title, made_by=made_by,
                           licence=licence, duration=info.duration,
                           created_by_id=principal.user.id if principal.user else None)
        db.session.add(track)
        db.session.flush()
        track.key = keys.music_file(track.org_id, track.id, f"original{keep.suffix.lower()}")
        _store_and_commit(storage, track.key, keep, upload)
    return track


def list_music() -> list[MusicTrack]:
    """The organisation's music, by title."""
    return list(db.session.scalars(select(MusicTrack).order_by(MusicTrack.title,
                                                               MusicTrack.id)))
