"""Co-hosts' recordings and the show's music, through the studio's services: real
ffmpeg, real encrypted storage, real Whisper (tiny.en) and the real personal-data
detector. Speech is made here with espeak-ng; music and video with ffmpeg and sox."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from diaryroom import jobs, keys, tenancy, workdir
from diaryroom.adapters import get_private_storage, get_storage
from diaryroom.auth.principal import Principal
from diaryroom.errors import Conflict, InvalidInput
from diaryroom.extensions import db
from diaryroom.models import Job, User, utcnow
from diaryroom.uploads import Upload, part_path
from podcast.studio import recordings
from podcast.studio.models import CohostRecording, Episode, MusicTrack, Segment
from tests.conftest import run_jobs

# espeak reads "07700" as a quantity, so the number is written as a person says it.
SPOKEN = ("Hello, this is the link. Say hi to my friend Sandra Kowalski. You can ring "
          "me on zero seven seven zero zero, nine zero zero, one two three.")


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, timeout=120, capture_output=True)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """Files made once for the module: speech, music, a video, a picture."""
    for tool in ("espeak-ng", "sox", "ffmpeg"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is required (make test installs it)")
    folder = tmp_path_factory.mktemp("made")
    files = {name: folder / name for name in
             ("speech.wav", "music.mp3", "video.mp4", "picture.png", "chord.wav")}
    run("espeak-ng", "-v", "en-gb", "-s", "150", "-w", str(files["speech.wav"]), SPOKEN)
    run("sox", "-n", "-r", "44100", "-c", "2", str(files["chord.wav"]), "synth", "4",
        "pluck", "C4", "pluck", "E4", "fade", "0", "4", "1")
    run("ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(files["chord.wav"]),
        "-c:a", "libmp3lame", "-q:a", "5", str(files["music.mp3"]))
    run("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
        "testsrc=size=160x120:rate=10:duration=3", "-f", "lavfi", "-i",
        "sine=frequency=440:duration=3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(files["video.mp4"]))
    Image.new("RGB", (400, 400), "orange").save(files["picture.png"])
    return files


@pytest.fixture
def org(app, world) -> Iterator[int]:
    """An app context acting for organisation A, as a request or a job does."""
    org_id = world.orgs["A"]
    with app.app_context(), tenancy.as_org(org_id):
        yield org_id


@pytest.fixture
def cohost(org, world) -> Principal:
    user = db.session.get(User, world.account("cohost").user_id)
    return Principal("user", org, user=user)


@pytest.fixture
def episode(org, cohost) -> Episode:
    row = Episode(org_id=org, title="Winter nights", created_by_id=cohost.user.id)
    db.session.add(row)
    db.session.commit()
    return row


def sent(path: Path, filename: str | None = None) -> FileStorage:
    """A file as a multipart request carries it."""
    return FileStorage(stream=io.BytesIO(path.read_bytes()), filename=filename or path.name)


def raw_stored(key: str) -> bytes:
    """The bytes as they lie in storage, behind the encryption's back."""
    with get_storage().open(key) as fh:
        return fh.read()


def decrypted(key: str) -> bytes:
    with get_private_storage().open(key) as fh:
        return fh.read()


def files_under(app, prefix: str) -> list[str]:
    root = Path(app.config["DATA_DIR"])
    return [str(p) for p in root.rglob("*") if p.is_file() and prefix in str(p)]


def plaintext_copies(app, data: bytes) -> list[Path]:
    """Files under the data folder holding a stretch of ``data`` (past its header)."""
    needle = data[len(data) // 2: len(data) // 2 + 4096]
    return [p for p in Path(app.config["DATA_DIR"]).rglob("*")
            if p.is_file() and needle in p.read_bytes()]


def work_left(app) -> list[Path]:
    """Work folders still there (their plaintext with them)."""
    root = workdir.work_root(app.config["DATA_DIR"])
    return list(root.iterdir()) if root.exists() else []


def reloaded(rec_id: int) -> CohostRecording | None:
    db.session.expire_all()
    return db.session.get(CohostRecording, rec_id)


@contextmanager
def another_request(app, org_id: int):
    """A second app context: its own database session, like a web request beside a job."""
    with app.app_context(), tenancy.as_org(org_id):
        yield
        db.session.remove()


# -- co-host recordings ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_recording_is_kept_encrypted_transcribed_and_checked_for_personal_details(
        app, org, cohost, episode, made):
    speech = made["speech.wav"].read_bytes()
    rec = recordings.receive_recording(cohost, episode=episode, media=sent(made["speech.wav"]))
    assert (rec.status, rec.episode_id, rec.user_id) == ("processing", episode.id,
                                                          cohost.user.id)
    assert rec.original_key == keys.recording_file(org, rec.id, "original.wav")
    assert 5 < rec.duration < 15
    # Encrypted at rest: the stored bytes are not the recording, and decrypt to it exactly.
    stored = raw_stored(rec.original_key)
    assert stored != speech and b"RIFF" not in stored and b"WAVE" not in stored
    assert decrypted(rec.original_key) == speech
    assert db.session.scalar(select(Job.kind).where(Job.target_id == rec.id)) \
        == recordings.RECORDING

    run_jobs(app)
    rec = reloaded(rec.id)
    assert rec.status == "ready", rec.status_reason
    assert rec.transcript_key == keys.recording_file(org, rec.id, "transcript.json")
    words = recordings.recording_words(rec)
    assert len(words) > 15 and all(set(w) == {"text", "start", "end"} for w in words)
    assert "friend" in "".join(w["text"] for w in words).lower()
    # The findings say where and what, never the words themselves.
    assert {"NAME", "PHONE"} <= {f["type"] for f in rec.findings}, rec.findings
    assert all(set(f) == {"first", "last", "type"} for f in rec.findings)
    # The co-host sees the words found, to decide what to cut.
    shown = recordings.findings_with_words(rec)
    name = next(f for f in shown if f["type"] == "NAME")
    assert name["text"] and name["start"] < name["end"]
    assert [f["index"] for f in shown] == list(range(len(rec.findings)))
    # The transcript is encrypted too, and nothing decrypted was left on disk.
    assert b"friend" not in raw_stored(rec.transcript_key)
    assert plaintext_copies(app, speech) == []
    assert work_left(app) == []

    # Deleting it deletes its files, but not while the episode uses it.
    db.session.add(Segment(org_id=org, episode_id=episode.id, position=0, kind="recording",
                           recording_id=rec.id))
    db.session.commit()
    with pytest.raises(Conflict):
        recordings.delete_recording(rec)
    db.session.delete(db.session.scalar(select(Segment)))
    db.session.commit()
    recordings.delete_recording(rec)
    assert reloaded(rec.id) is None
    assert files_under(app, f"recordings/{rec.id}/") == []


def finished_upload(app, cohost: Principal, data: bytes, filename: str) -> str:
    """An upload the co-host finished through tus, as the upload endpoints leave it."""
    upload = Upload(org_id=cohost.org_id, user_id=cohost.user.id, length=len(data),
                    offset=len(data), meta={"filename": filename},
                    expires_at=utcnow() + dt.timedelta(hours=1), completed_at=utcnow(),
                    sha256=hashlib.sha256(data).hexdigest())
    db.session.add(upload)
    db.session.commit()
    path = part_path(upload.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return upload.id


def test_a_finished_upload_becomes_a_recording_once(app, org, cohost, episode, made):
    speech = made["speech.wav"].read_bytes()
    upload_id = finished_upload(app, cohost, speech, "link.wav")
    rec = recordings.receive_recording(cohost, episode=episode, upload_id=upload_id)
    assert decrypted(rec.original_key) == speech
    assert not part_path(upload_id).exists()  # the plaintext part file is gone
    with pytest.raises(InvalidInput) as again:
        recordings.receive_recording(cohost, episode=episode, upload_id=upload_id)
    assert again.value.code == "upload_already_used"
    assert len(db.session.scalars(select(CohostRecording)).all()) == 1


@pytest.mark.parametrize(("name", "filename", "code"), [
    ("picture.png", "picture.png", "unsupported_media"),
    ("picture.png", "recording.wav", "unsupported_media"),  # named as sound, is not
    ("video.mp4", "video.mp4", "unexpected_video"),
    ("text", "notes.webm", "unreadable_media"),
])
def test_what_is_not_a_sound_recording_is_refused_and_nothing_kept(
        app, org, cohost, episode, made, tmp_path, name, filename, code):
    path = made.get(name) or tmp_path / "notes.txt"
    if name == "text":
        path.write_text("These are my notes for the episode, not a recording.\n" * 40)
    with pytest.raises(InvalidInput) as refused:
        recordings.receive_recording(cohost, episode=episode, media=sent(path, filename))
    assert refused.value.code == code
    assert db.session.scalars(select(CohostRecording)).all() == []
    assert files_under(app, "recordings/") == []
    assert work_left(app) == []


def test_nothing_sent_is_refused(org, cohost, episode):
    with pytest.raises(InvalidInput) as refused:
        recordings.receive_recording(cohost, episode=episode)
    assert refused.value.code == "missing_media"


def assert_needs_attention(app, rec_id: int, *words: str) -> CohostRecording:
    run_jobs(app)
    rec = reloaded(rec_id)
    assert rec.status == "needs_attention"
    for word in words:
        assert word in rec.status_reason, rec.status_reason
    # The reason names no folder of ours and no storage key.
    assert app.config["DATA_DIR"] not in rec.status_reason
    assert "/work/" not in rec.status_reason and "org/" not in rec.status_reason
    assert rec.findings == [] and rec.transcript_key is None
    assert decrypted(rec.original_key)  # kept: the co-host may listen before recording again
    return rec


@pytest.mark.slow
def test_a_silent_recording_needs_attention(app, org, cohost, episode, silence):
    rec = recordings.receive_recording(cohost, episode=episode, media=sent(silence))
    assert_needs_attention(app, rec.id, "No words were heard")


def stored_recording(org_id: int, episode: Episode, name: str, data: bytes) -> int:
    """A recording whose original is stored as it is, bypassing the door (a file that a
    later ffmpeg cannot decode, say), with its job queued."""
    rec = CohostRecording(org_id=org_id, episode_id=episode.id, status="processing",
                          findings=[])
    db.session.add(rec)
    db.session.flush()
    rec.original_key = keys.recording_file(org_id, rec.id, name)
    get_private_storage().put(rec.original_key, io.BytesIO(data))
    db.session.commit()
    jobs.enqueue(recordings.RECORDING, rec.id, org_id=org_id)
    return rec.id


def test_a_recording_that_cannot_be_decoded_needs_attention(app, org, episode):
    junk = b"\x1aE\xdf\xa3" + bytes(range(256)) * 64  # a WebM header, then nonsense
    rec_id = stored_recording(org, episode, "original.webm", junk)
    assert_needs_attention(app, rec_id, "could not be played")


class DeletingTranscriber:
    """Whisper, while the co-host deletes the recording from another request."""

    def __init__(self, app, org_id: int, rec_id: int):
        self.app, self.org_id, self.rec_id = app, org_id, rec_id
        self.real = recordings.get_transcriber()
        self.multilingual = getattr(self.real, "multilingual", True)

    def transcribe(self, audio_path, **options):
        with another_request(self.app, self.org_id):
            recordings.delete_recording(db.session.get(CohostRecording, self.rec_id))
        return self.real.transcribe(audio_path, **options)


@pytest.mark.slow
def test_a_recording_deleted_while_its_job_runs_leaves_nothing(
        app, org, cohost, episode, made, monkeypatch):
    rec_id = recordings.receive_recording(cohost, episode=episode,
                                          media=sent(made["speech.wav"])).id
    fake = DeletingTranscriber(app, org, rec_id)
    monkeypatch.setattr(recordings, "get_transcriber", lambda: fake)
    run_jobs(app)
    assert reloaded(rec_id) is None
    # The job wrote its transcript after the deletion, then found the row gone.
    assert files_under(app, f"recordings/{rec_id}/") == []
    assert db.session.scalar(select(Job.state).where(Job.target_id == rec_id)) == "done"
    assert plaintext_copies(app, made["speech.wav"].read_bytes()) == []


# -- music ------------------------------------------------------------------------------------


CREDIT = {"title": "Morning", "made_by": "Kai Engel", "licence": "CC BY 4.0"}


def test_music_is_kept_encrypted_with_its_credit_and_length(app, org, cohost, made):
    music = made["music.mp3"].read_bytes()
    track = recordings.add_music(cohost, media=sent(made["music.mp3"], "morning.mp3"),
                                 **CREDIT)
    assert (track.title, track.made_by, track.licence) == ("Morning", "Kai Engel",
                                                           "CC BY 4.0")
    assert track.key == keys.music_file(org, track.id, "original.mp3")
    assert 3.5 < track.duration < 4.5
    assert raw_stored(track.key) != music and decrypted(track.key) == music
    assert [t.id for t in recordings.list_music()] == [track.id]
    # Decrypted for a render into a work folder, and only there.
    with workdir.work_folder(app.config["DATA_DIR"]) as work:
        path = recordings.open_source(track, work)
        assert path.parent == work and path.read_bytes() == music
    with pytest.raises(ValueError, match="work folder"):
        recordings.open_source(track, Path(app.config["DATA_DIR"]))


@pytest.mark.parametrize(("field", "code"), [("licence", "missing_licence"),
                                              ("made_by", "missing_made_by"),
                                              ("title", "missing_title")])
def test_music_without_its_credit_is_refused(org, cohost, made, field, code):
    for empty in ("", "   "):
        with pytest.raises(InvalidInput) as refused:
            recordings.add_music(cohost, media=sent(made["music.mp3"]),
                                 **{**CREDIT, field: empty})
        assert refused.value.code == code
    assert db.session.scalars(select(MusicTrack)).all() == []


@pytest.mark.parametrize(("name", "filename"), [
    ("picture.png", "cover.png"),
    ("picture.png", "intro.mp3"),  # an image dressed as music: judged by its content
    ("video.mp4", "intro.mp4"),
    ("text", "intro.wav"),
])
def test_what_is_not_sound_is_refused_as_music(app, org, cohost, made, tmp_path, name,
                                               filename):
    path = made.get(name) or tmp_path / "intro.txt"
    if name == "text":
        path.write_text("la la la\n" * 200)
    with pytest.raises(InvalidInput) as refused:
        recordings.add_music(cohost, media=sent(path, filename), **CREDIT)
    assert refused.value.code == "not_audio"
    assert "sound file" in str(refused.value)
    assert db.session.scalars(select(MusicTrack)).all() == []
    assert files_under(app, "music/") == []


def test_a_music_track_from_a_finished_upload(app, org, cohost, made):
    upload_id = finished_upload(app, cohost, made["chord.wav"].read_bytes(), "chord.wav")
    track = recordings.add_music(cohost, upload_id=upload_id, **CREDIT)
    assert track.key.endswith("/original.wav") and decrypted(track.key)
