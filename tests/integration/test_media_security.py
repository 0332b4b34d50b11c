"""Crafted media (issue 8, finding 1): no upload can make ffmpeg or ffprobe read another
file or URL, and no ffmpeg or ffprobe runs without a hard wall-clock limit.

The attacks are made here from text: an HLS playlist whose one segment is another real
recording on this machine (finished, and "live", which plain ffmpeg waits on for ever),
concat lists, an SDP session, a picture. Each is first shown to work on an unguarded
ffprobe, so a refusal below is the guard's doing. They go through the real routes, the
real pipeline and, for the playlists, a real `diaryroom serve` process.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from diaryroom import accounts, tenancy
from diaryroom.auth import passwords
from diaryroom.domain import status as st
from diaryroom.domain.roles import Role
from diaryroom.errors import InvalidInput, MediaError
from diaryroom.extensions import db
from diaryroom.media import tools
from diaryroom.media.decode import decode_for_asr, extract_audio_track
from diaryroom.media.probe import probe
from diaryroom.media.render import load_samples
from diaryroom.media.tools import FFMPEG
from diaryroom.media.validate import validate
from diaryroom.models import Entry
from tests import media_fixtures as fx
from tests.browser.e2e_support import Installation, ServerProcess, served
from tests.conftest import PASSWORD, bearer, csrf_from, run_jobs
from tests.integration.test_intake import api_upload

REFUSED_PROMPTLY = 30  # s: well under the 60 s hard limit, so the allow-list refused it


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Still Argon2id, with a cheap cost: every test makes a world of accounts."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- the crafted files ----------------------------------------------------------------

@pytest.fixture
def other_recording(tmp_path, have_ffmpeg) -> Path:
    """Somebody else's recording on the server's disk, under a name no one else uses."""
    return fx.tone(tmp_path / f"someone-else-{uuid.uuid4().hex}.mp3", 3.0,
                   "-c:a", "libmp3lame", "-b:a", "64k")


def playlist(target: Path, *, finished: bool = True) -> bytes:
    """An HLS playlist whose one segment is ``target``; without #EXT-X-ENDLIST it is a
    live stream, which ffmpeg keeps waiting on."""
    body = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{target}\n"
    return (body + ("#EXT-X-ENDLIST\n" if finished else "")).encode()


def unguarded_format(data: bytes, folder: Path, name: str) -> str:
    """What plain ffprobe (no whitelists) makes of ``data``: proof the attack is real."""
    path = folder / f"unguarded-{uuid.uuid4().hex[:8]}-{name}"
    path.write_bytes(data)
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=format_name",
                           "-of", "csv=p=0", str(path)], capture_output=True, timeout=30,
                          stdin=subprocess.DEVNULL)
    return done.stdout.decode().strip()


def media_processes(marker: str) -> list[str]:
    """Command lines of running ffmpeg/ffprobe (or test) processes that mention
    ``marker``, read from /proc."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile
        line = b" ".join(argv).decode(errors="replace")
        if marker in line and state != "Z" and pid != str(os.getpid()):
            found.append(line)
    return found


def within(seconds: float, call, *args):
    """``call(*args)``, failing the test (not hanging it) if it has not returned after
    ``seconds``: the thread is a daemon, left behind if it never ends."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = call(*args)
        except BaseException as e:  # handed to the test below
            outcome["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"no answer within {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def assert_nothing_leaks(message: str, *names: str) -> None:
    for name in ("org/", "/tmp", "/work", "file://", *names):
        assert name not in message, f"{name!r} in {message!r}"


def entries_and_files(app) -> tuple[int, list[str]]:
    with app.app_context(), tenancy.unscoped():
        count = db.session.scalar(select(func.count(Entry.id)))
    media = Path(app.config["DATA_DIR"]) / "media"
    files = [str(p) for p in media.rglob("*") if p.is_file()] if media.exists() else []
    return count, files


# --- at the door: the API, a file sent whole ---------------------------------------------

def test_a_finished_playlist_called_wav_is_refused_and_nothing_is_stored(
        app, upload, tokens, other_recording, tmp_path):
    data = playlist(other_recording)
    assert unguarded_format(data, tmp_path, "x.wav") == "hls"
    answer = upload(tokens["kiosk"], data, "x.wav")
    assert answer.status_code == 422, answer.text
    error = answer.json["error"]
    assert error["code"] == "unsupported_media"
    assert "not a recording we can take" in error["message"]
    assert_nothing_leaks(error["message"], "x.wav", other_recording.name)
    assert entries_and_files(app) == (0, [])


def test_a_live_playlist_is_refused_promptly_and_leaves_no_process(
        app, upload, tokens, other_recording, tmp_path):
    data = playlist(other_recording, finished=False)
    assert unguarded_format(data, tmp_path, "x.mka") == "hls"
    answer = within(REFUSED_PROMPTLY, upload, tokens["kiosk"], data, "x.mka")
    assert answer.status_code == 422, answer.text
    assert answer.json["error"]["code"] == "unsupported_media"
    assert media_processes(app.config["DATA_DIR"]) == []
    assert entries_and_files(app) == (0, [])


def _concat(target: Path) -> bytes:
    return f"ffconcat version 1.0\nfile '{target}'\n".encode()


CRAFTED = {
    # name: (what it is, sent as, code of the refusal)
    "finished playlist as mp3": (lambda t: playlist(t), "talk.mp3", "unsupported_media"),
    "live playlist as ogg": (lambda t: playlist(t, finished=False), "talk.ogg",
                             "unsupported_media"),
    "playlist as m4a": (lambda t: playlist(t), "talk.m4a", "unsupported_media"),
    "playlist as flac": (lambda t: playlist(t), "talk.flac", "unsupported_media"),
    "ffconcat list as webm": (_concat, "talk.webm", "unsupported_media"),
    "relative ffconcat as webm": (lambda t: b"ffconcat version 1.0\nfile 'upload.wav'\n",
                                  "talk.webm", "unsupported_media"),
    "SDP session (network) as wav": (
        lambda t: b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
                  b"m=audio 5004 RTP/AVP 0\n", "talk.wav", "unsupported_media"),
    "text as mp3": (lambda t: b"\x1b[1;31mhello\x1b[0m there\n" * 50, "talk.mp3",
                    "unreadable_media"),
}


@pytest.mark.parametrize("case", CRAFTED)
def test_other_containers_are_refused_by_content_whatever_the_name(
        app, upload, tokens, other_recording, case):
    make, filename, code = CRAFTED[case]
    answer = upload(tokens["kiosk"], make(other_recording), filename)
    assert answer.status_code == 422, answer.text
    assert answer.json["error"]["code"] == code
    assert_nothing_leaks(answer.json["error"]["message"], filename)
    assert entries_and_files(app) == (0, [])


def test_a_picture_called_wav_is_refused(app, upload, tokens, tmp_path, have_ffmpeg):
    picture = tmp_path / "p.png"
    fx.ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x32", "-frames:v", "1", str(picture))
    answer = upload(tokens["kiosk"], picture.read_bytes(), "talk.wav")
    assert (answer.status_code, answer.json["error"]["code"]) == (422, "unsupported_media")


def test_a_real_recording_under_the_wrong_name_is_kept_by_what_it_is(
        app, upload, tokens, other_recording, entry_row):
    """The other side of judging by content: a real MP3 called .wav is taken, and kept
    under the name of what it is."""
    answer = upload(tokens["kiosk"], other_recording.read_bytes(), "talk.wav")
    assert answer.status_code == 201, answer.text
    assert entry_row(answer.json["id"]).original_key.endswith("/original.mp3")


# --- at the door: resumable uploads -------------------------------------------------------

@pytest.mark.parametrize("filename", ["recording.webm", None, "list.m3u8"])
def test_a_playlist_through_a_resumable_upload_is_refused(
        app, client, tokens, other_recording, filename):
    upload_id = api_upload(client, tokens["kiosk"], playlist(other_recording),
                           filename=filename)
    answer = client.post("/api/v1/entries", json={"upload_id": upload_id},
                         headers=bearer(tokens["kiosk"]))
    assert answer.status_code == 422, answer.text
    assert answer.json["error"]["code"] == "unsupported_media"
    assert_nothing_leaks(answer.json["error"]["message"], other_recording.name)
    assert entries_and_files(app) == (0, [])


# --- in the pipeline: originals stored before the allow-list --------------------------------

@pytest.mark.parametrize("finished", [True, False], ids=["finished", "live"])
def test_a_stored_playlist_goes_to_staff_and_the_other_file_is_never_transcribed(
        app, stored_entry, entry_row, other_recording, finished):
    entry_id = stored_entry("original.wav", playlist(other_recording, finished=finished))
    within(120, run_jobs, app)
    entry = entry_row(entry_id)
    assert entry.status == st.NEEDS_ATTENTION
    assert "not a kind of recording we take" in entry.status_reason
    assert_nothing_leaks(entry.status_reason, other_recording.name)
    assert entry.transcript_key is None and entry.duration is None
    assert media_processes(app.config["DATA_DIR"]) == []


def test_every_decoder_refuses_a_playlist(other_recording, tmp_path):
    crafted = tmp_path / "original.webm"
    crafted.write_bytes(playlist(other_recording))
    for read in (lambda: decode_for_asr(crafted, tmp_path / "asr.wav"),
                 lambda: load_samples(crafted, disguise=True),
                 lambda: extract_audio_track(crafted, tmp_path / "sound.ogg")):
        with pytest.raises(tools.UnsupportedMedia, match="not a kind of recording we take"):
            read()
    assert not (tmp_path / "asr.wav").exists() and not (tmp_path / "sound.ogg").exists()


def test_a_file_swapped_after_the_probe_is_read_only_as_what_was_probed(
        other_recording, tmp_path):
    """Every read after the probe names its demuxer: a WAV replaced by a playlist is
    then read as a (broken) WAV, never followed as a playlist."""
    path = tmp_path / "upload.wav"
    fx.ffmpeg("-i", str(other_recording), str(path))
    demuxer = probe(path).demuxer
    path.write_bytes(playlist(other_recording))
    plain = subprocess.run([*FFMPEG, "-i", str(path), "-f", "null", "-"],
                           capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert plain.returncode == 0  # unguarded, ffmpeg follows the playlist
    with pytest.raises(MediaError):
        tools.run([*FFMPEG, *tools.reading(path, demuxer), "-f", "null", "-"],
                  timeout=30, what="reading the recording")
    with pytest.raises(tools.UnsupportedMedia):
        tools.reading(path, "hls")


# --- hard limits -----------------------------------------------------------------------------

def test_ffmpeg_past_its_limit_is_killed_and_says_so(have_ffmpeg):
    marker = f"endless-{uuid.uuid4().hex}"
    with pytest.raises(tools.MediaTimeout,
                       match=r"^reading the recording took too long \(over 1 s\)"):
        tools.run([*FFMPEG, "-f", "lavfi", "-i", "sine", "-metadata", f"title={marker}",
                   "-f", "null", "-"], timeout=1, what="reading the recording")
    assert media_processes(marker) == []


def _wait_for_child(marker: str) -> None:
    for _ in range(100):
        if media_processes(marker):
            return
        threading.Event().wait(0.05)
    pytest.fail("the child process did not start")


def test_the_whole_process_group_is_killed_on_timeout_and_on_interruption():
    """A child that ffmpeg (or anything it runs) leaves behind goes with it."""
    for ending in ("timeout", "interrupted"):
        marker = f"{uuid.uuid4().int % 10**6}.{len(ending)}17"
        argv = ["sh", "-c", f"sleep 1{marker} & sleep 2{marker}; wait"]
        if ending == "timeout":
            with pytest.raises(tools.MediaTimeout, match="took too long"):
                tools.run(argv, timeout=1, what="checking the recording")
        else:
            with pytest.raises(KeyboardInterrupt), tools.started(argv, timeout=60, what="x"):
                _wait_for_child(f"1{marker}")
                raise KeyboardInterrupt
        assert media_processes(f"1{marker}") == [] and media_processes(f"2{marker}") == []


def test_a_slow_check_is_refused_with_a_clear_message(other_recording, tmp_path):
    """Past the request's limit, validation stops and says so (a limit no ffprobe can
    meet: starting one takes longer)."""
    with pytest.raises(InvalidInput) as caught:
        validate(other_recording, kind=None, max_seconds=900, timeout=0.001)
    assert caught.value.code == "media_timeout"
    assert str(caught.value).startswith("This recording took too long to check")
    assert_nothing_leaks(str(caught.value), other_recording.name)


def test_a_slow_decode_is_stopped_for_staff_to_see(other_recording, tmp_path):
    with pytest.raises(MediaError, match=r"^decoding the recording took too long"):
        decode_for_asr(other_recording, tmp_path / "asr.wav", timeout=0.001)
    assert media_processes(str(tmp_path)) == []


def test_request_limits_come_from_a_setting(tmp_path):
    from diaryroom.config import ConfigError, TestConfig
    assert TestConfig(tmp_path).MEDIA_TIMEOUT_SECONDS == 60
    assert TestConfig(tmp_path, MEDIA_TIMEOUT_SECONDS="5").MEDIA_TIMEOUT_SECONDS == 5
    with pytest.raises(ConfigError, match="MEDIA_TIMEOUT_SECONDS"):
        TestConfig(tmp_path, MEDIA_TIMEOUT_SECONDS="0")


# --- against a real server process ---------------------------------------------------------

@pytest.fixture
def server(tmp_path):
    """`diaryroom serve` (waitress, 8 threads) with a staff account and a paired kiosk."""
    def prepare(install: Installation) -> None:
        org = accounts.create_organisation("Real server")
        accounts.create_user(org.id, "staff@example.org", Role.STAFF, PASSWORD)
        _, install.kiosk_token = accounts.pair_kiosk(org.id, "Front desk")

    with served(tmp_path, label="media", prepare=prepare) as process:
        yield process


def post_media(server: ServerProcess, data: bytes, filename: str) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(  # noqa: S310 - loopback only
        server("/api/v1/entries"), data=body, headers={
            "Authorization": f"Bearer {server.install.kiosk_token}",
            "Accept": "application/json",
            "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=REFUSED_PROMPTLY) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def signs_in(server: ServerProcess) -> bool:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(server("/auth/login"), timeout=10) as page:
        token = csrf_from(page.read().decode())
    form = urlencode({"email": "staff@example.org", "password": PASSWORD,
                      "csrf_token": token}).encode()
    with opener.open(server("/auth/login"), data=form, timeout=10) as done:
        return done.status == 200 and "/auth/login" not in done.url


def healthy(server: ServerProcess) -> bool:
    with urllib.request.urlopen(server("/healthz"), timeout=10) as r:  # noqa: S310
        return r.status == 200


def test_a_real_server_refuses_playlists_and_keeps_answering(server, other_recording):
    status, body = post_media(server, playlist(other_recording), "x.wav")
    assert (status, body["error"]["code"]) == (422, "unsupported_media"), body
    assert_nothing_leaks(body["error"]["message"], "x.wav", other_recording.name)

    live = playlist(other_recording, finished=False)
    # Eight at once, as many as waitress has threads: before, they took every one.
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [pool.submit(post_media, server, live, "x.mka") for _ in range(8)]
        assert healthy(server)
        assert signs_in(server)
        results = [a.result(timeout=REFUSED_PROMPTLY) for a in answers]
    assert [(s, b["error"]["code"]) for s, b in results] == [(422, "unsupported_media")] * 8
    assert healthy(server) and signs_in(server)
    assert media_processes(str(server.install.data_dir)) == []
    assert server.install.count("entries") == 0
    media = server.install.data_dir / "media"
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]
