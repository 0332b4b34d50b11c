"""The anonymisation pipeline on real entries: real ffmpeg, real Whisper (tiny.en), real
Presidio and spaCy. What it must prove: personal data is gone from everything shared,
safeguarding flags reach staff, every bad input ends with the team (never lost, never
"done" half-redacted), and a withdrawal erases what the pipeline made."""
from __future__ import annotations

import json
import math
import re
import subprocess
import wave
from pathlib import Path

import pytest
from sqlalchemy import select

from diaryroom import adapters, keys, tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.asr import Segment, Transcript, Word
from diaryroom.extensions import db
from diaryroom.media.redact import TONE_HZ
from diaryroom.models import AuditEvent, Entry, Redaction, SafeguardingFlag
from diaryroom.processing import RESULTS
from tests import media_fixtures as fx
from tests.conftest import bearer, csrf_from, run_jobs

pytestmark = pytest.mark.slow

# espeak reads "07700" as a quantity, so the number is written as a person says it.
PII_SPEECH = ("Hi, I'm Sandra Kowalski. My key worker is Daniel Okafor. You can ring me on "
              "zero seven seven zero zero, nine zero zero, one two three. "
              "My postcode is M1 1AE.")
# What must not survive, as Whisper may write it: the names, any run of four or more
# digits (however Whisper joins them), and the postcode's outward code.
LEAKS = re.compile(r"kowalski|sandra|okafor|o'kaffer|\d(?:[\s.-]*\d){3,}|\bm[\s-]*1\b",
                   re.I)


def speak(text: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "150", "-w", str(path), text],
                   check=True, timeout=60)
    return path


@pytest.fixture
def post(client, staff_token):
    def post(path: str, body: dict | None = None):
        return client.post(f"/api/v1{path}", headers=bearer(staff_token), json=body or {})
    return post


def make_text_entry(upload_json, text: str) -> int:
    created = upload_json({"kind": "text", "text": text})
    assert created.status_code == 201, created.text
    return created.json["id"]


@pytest.fixture
def upload_json(client, staff_token):
    def upload_json(body: dict):
        return client.post("/api/v1/entries", headers=bearer(staff_token), json=body)
    return upload_json


def keys_of(app, entry_id: int) -> list[str]:
    """Every file the pipeline may have made for an entry that exists now."""
    with app.app_context(), tenancy.unscoped():
        entry = db.session.get(Entry, entry_id)
        names = [keys.entry_file(entry.org_id, entry.id, n)
                 for n in ("transcript.json", "audio.ogg")]
        names += [entry.result_key(n, rev) for rev in range(entry.redaction_revision + 2)
                  for n in RESULTS]
        private = get_private_storage()
        return [k for k in names if private.exists(k)]


# -- speech, end to end -------------------------------------------------------------------


def test_spoken_name_phone_and_address_are_gone_from_text_and_sound(
        app, tmp_path, tokens, upload, api_get, stored, entry_row, have_ffmpeg):
    # The natural voice (the team-only default is always disguised): what is heard back
    # below is then the words themselves, not what the disguise happens to hide.
    created = upload(tokens["kiosk"], speak(PII_SPEECH, tmp_path / "pii.wav"),
                     consent={"audience": "organisation", "voice": "natural"})
    assert created.status_code == 201, created.text
    entry_id = created.json["id"]
    run_jobs(app)

    entry = api_get(f"/entries/{entry_id}").json
    assert entry["status"] == "awaiting_review", entry["status_reason"]
    assert entry["urgent"] is False and entry["flags"] == []
    shared = api_get(f"/entries/{entry_id}/transcript").json
    assert shared["original"] is False
    shared_text = " ".join(w["text"] for w in shared["words"])
    assert not LEAKS.search(shared_text), shared_text
    assert not LEAKS.search(shared["text"])
    types = {r["type"] for r in shared["redactions"]}
    assert {"NAME", "PHONE", "POSTCODE"} <= types, shared["redactions"]
    assert all(set(r) >= {"type", "start", "end", "text_hash"} for r in shared["redactions"])
    assert "[PHONE]" in shared["text"] and "key worker" in shared["text"]

    row = entry_row(entry_id)
    vtt = stored(row.result_key("redacted.vtt")).decode()
    cues = [line for line in vtt.splitlines()[1:] if "-->" not in line and not line.isdigit()]
    assert vtt.startswith("WEBVTT") and "[PHONE]" in vtt and not LEAKS.search(" ".join(cues))
    # Nobody can hear it either: transcribe the shared audio again.
    mp3 = tmp_path / "redacted.mp3"
    mp3.write_bytes(stored(row.result_key("redacted.mp3")))
    with app.app_context():
        heard = adapters.get_transcriber().transcribe(mp3).text
    assert "key worker" in heard.lower(), "the words around the redactions stay clear"
    assert not LEAKS.search(heard), heard
    assert stored(row.result_key("redacted.opus"))[:4] == b"OggS"


@pytest.mark.parametrize(("consent", "semitones"), [
    ({"audience": "team", "voice": "natural"}, -4),  # the rule wins over what was sent
    ({"audience": "organisation", "voice": "natural"}, 0),
])
def test_the_voice_shared_is_the_one_the_consent_rules_allow(
        app, tmp_path, tokens, upload, api_get, stored, entry_row, consent, semitones,
        have_ffmpeg):
    # A raised pitch (about 150 Hz) keeps the disguised voice inside the pitch search.
    wav = tmp_path / "v.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-p", "90", "-w", str(wav),
                    "The day centre was warm and the tea was good."], check=True, timeout=60)
    created = upload(tokens["staff"], wav, consent=consent)
    assert created.status_code == 201, created.text
    entry_id = created.json["id"]
    stored_voice = api_get(f"/entries/{entry_id}").json["consent"]["voice"]
    assert stored_voice == ("disguise" if semitones else "natural")
    run_jobs(app)
    row = entry_row(entry_id)
    assert row.rendered, row.status_reason
    mp3 = tmp_path / "redacted.mp3"
    mp3.write_bytes(stored(row.result_key("redacted.mp3")))
    rate = 24_000
    moved = 12 * math.log2(fx.pitch(fx.decode(mp3, rate), rate, skip_tone=TONE_HZ)
                           / fx.pitch(fx.decode(wav, rate), rate))
    assert moved == pytest.approx(semitones, abs=1)


def test_the_original_words_are_for_staff_and_every_look_is_logged(
        app, upload_json, api_get, world):
    entry_id = make_text_entry(upload_json, "My name is Sandra Kowalski and I'm doing ok.")
    run_jobs(app)
    redacted = api_get(f"/entries/{entry_id}/transcript").json
    assert "Kowalski" not in redacted["text"] and "[NAME]" in redacted["text"]

    original = api_get(f"/entries/{entry_id}/transcript?original=1").json
    assert "Kowalski" in "".join(w["text"] for w in original["words"])
    with app.app_context(), tenancy.unscoped():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.entry_id == entry_id, AuditEvent.action == "viewed_original")).all()
        assert [(e.actor, e.detail) for e in events] == [
            (f"staff:{world.account('staff').user_id}", {"where": "api"})]


def test_a_safeguarding_disclosure_marks_the_entry_urgent_for_staff(
        app, upload_json, api_get, world, client):
    text = "The hostel is ok. Some nights I just want to end it all, I have tablets saved up."
    entry_id = make_text_entry(upload_json, text)
    run_jobs(app)
    entry = api_get(f"/entries/{entry_id}").json
    assert entry["urgent"] is True
    assert {f["category"] for f in entry["flags"]} == {"risk_to_life"}
    words = text.split()
    flag = entry["flags"][0]
    assert "end" in " ".join(words[flag["first_word"]:flag["last_word"] + 1])
    # Panel and co-hosts never see entries, flags included.
    for role in ("panel", "cohost"):
        refused = client.get(f"/api/v1/entries/{entry_id}",
                             headers=bearer(world.account(role).token))
        assert refused.status_code == 403


def test_local_names_are_always_redacted_and_the_allow_list_never(
        app, upload_json, api_get, client, auth, world):
    auth.login(world.account("staff").email)
    token = csrf_from(client.get("/review/local-names").text)
    for text, kind, listname in (("Brambles", "PLACE", "redact"),
                                 ("Sunrise Project", "ORGANISATION", "allow")):
        response = client.post("/review/local-names", data={
            "text": text, "type": kind, "list": listname, "csrf_token": token})
        assert response.status_code == 302
    entry_id = make_text_entry(
        upload_json, "I sleep at Brambles most nights and the Sunrise Project helps me.")
    run_jobs(app)
    text = api_get(f"/entries/{entry_id}/transcript").json["text"]
    assert "Brambles" not in text and "[PLACE]" in text
    assert "Sunrise Project" in text


def test_the_pipeline_running_twice_changes_nothing(app, upload_json, api_get):
    entry_id = make_text_entry(upload_json, "Call Sandra Kowalski on 07700 900123.")
    run_jobs(app)
    first = api_get(f"/entries/{entry_id}/redactions").json["redactions"]
    with app.app_context(), tenancy.unscoped():
        from diaryroom import jobs, processing
        entry = db.session.get(Entry, entry_id)
        jobs.enqueue(processing.PROCESS, entry.id, org_id=entry.org_id)
    run_jobs(app)
    assert api_get(f"/entries/{entry_id}/redactions").json["redactions"] == first
    assert len(first) == 2


# -- bad input: always with the team, with a reason, original kept ------------------------


def _needs_attention(app, api_get, stored, entry_row, entry_id: int, *words: str) -> None:
    run_jobs(app)
    entry = api_get(f"/entries/{entry_id}").json
    assert entry["status"] == "needs_attention"
    for word in words:
        assert word in entry["status_reason"], entry["status_reason"]
    row = entry_row(entry_id)
    assert stored(row.original_key)  # never deleted by a failure
    assert row.rendered_revision is None  # nothing redacted was claimed


def test_silence_needs_attention(app, tokens, upload, api_get, stored, entry_row, silence):
    entry_id = upload(tokens["kiosk"], silence).json["id"]
    _needs_attention(app, api_get, stored, entry_row, entry_id, "no speech")


def test_music_only_needs_attention(app, tmp_path, tokens, upload, api_get, stored,
                                    entry_row, have_ffmpeg):
    music = tmp_path / "music.wav"  # a plucked C major chord with tremolo, no voice
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(music), "synth", "6",
                    "pluck", "C4", "pluck", "E4", "pluck", "G4", "tremolo", "3", "60"],
                   check=True, timeout=60)
    entry_id = upload(tokens["kiosk"], music).json["id"]
    _needs_attention(app, api_get, stored, entry_row, entry_id, "no speech")


def test_a_two_hour_recording_needs_attention_without_being_decoded(
        app, stored_entry, api_get, stored, entry_row, tmp_path, have_ffmpeg):
    path = tmp_path / "long.wav"
    with wave.open(str(path), "wb") as w:  # 2 hours of 8 kHz 8-bit silence: 57 MB
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * 8000 * 7200)
    entry_id = stored_entry("original.wav", path.read_bytes())
    _needs_attention(app, api_get, stored, entry_row, entry_id, "2 h 00 min", "limit")


def test_a_corrupt_file_needs_attention(app, stored_entry, api_get, stored, entry_row):
    junk = b"\x1aE\xdf\xa3" + bytes(range(256)) * 64  # a WebM header, then nonsense
    entry_id = stored_entry("original.webm", junk)
    _needs_attention(app, api_get, stored, entry_row, entry_id, "damaged")


class FakeTranscriber:
    """Stands in for Whisper where the test needs a transcript Whisper would rarely give."""

    multilingual = True

    def __init__(self, transcript: Transcript):
        self.transcript = transcript

    def transcribe(self, audio_path, *, on_progress=None, language=None) -> Transcript:
        return self.transcript

    def listen(self, samples, *, language=None) -> Transcript:
        return self.transcript


def _with_transcriber(monkeypatch, transcript: Transcript) -> None:
    import diaryroom.processing as processing
    monkeypatch.setattr(processing, "get_transcriber", lambda: FakeTranscriber(transcript))


def test_an_undetectable_language_needs_attention(app, monkeypatch, tokens, upload, api_get,
                                                  stored, entry_row, silence):
    words = (Word(0.1, 0.5, " dzien", 0.4), Word(0.6, 0.9, " dobry", 0.4))
    _with_transcriber(monkeypatch, Transcript("pl", 0.21, 3.0, (
        Segment(0.1, 0.9, " dzien dobry", words),)))
    entry_id = upload(tokens["kiosk"], silence).json["id"]
    _needs_attention(app, api_get, stored, entry_row, entry_id, "language could not be")


def test_a_redacted_word_without_timing_fails_closed(app, monkeypatch, tokens, upload,
                                                     api_get, stored, entry_row, silence):
    words = (Word(0.1, 0.5, " call", 0.9), Word(0.6, 0.9, " Sandra", 0.9),
             Word(1.4, 1.2, " Kowalski", 0.9))  # time runs backwards: proves nothing
    _with_transcriber(monkeypatch, Transcript("en", 1.0, 3.0, (
        Segment(0.1, 1.2, " call Sandra Kowalski", words),)))
    entry_id = upload(tokens["kiosk"], silence).json["id"]
    _needs_attention(app, api_get, stored, entry_row, entry_id, "no usable timing")


# -- video and withdrawal -----------------------------------------------------------------


def test_a_video_entry_shares_only_redacted_audio(app, tmp_path, tokens, upload, api_get,
                                                  stored, entry_row, have_ffmpeg):
    speech = speak("My name is Sandra Kowalski.", tmp_path / "s.wav")
    video = tmp_path / "v.webm"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=160x120:rate=10", "-i", str(speech), "-shortest",
                    "-c:v", "libvpx", "-b:v", "100k", "-c:a", "libopus", str(video)],
                   check=True, timeout=120)
    entry_id = upload(tokens["kiosk"], video, consent={"voice": "disguise"}).json["id"]
    run_jobs(app)
    entry = api_get(f"/entries/{entry_id}").json
    assert (entry["kind"], entry["status"]) == ("video", "awaiting_review")
    row = entry_row(entry_id)
    assert stored(row.audio_key)[:4] == b"OggS"  # the team's separate sound track
    shared = tmp_path / "shared.mp3"
    shared.write_bytes(stored(row.result_key("redacted.mp3")))
    streams = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(shared)],
        check=True, capture_output=True, timeout=30).stdout)["streams"]
    assert [s["codec_type"] for s in streams] == ["audio"]


def test_withdrawal_erases_everything_the_pipeline_made(app, tmp_path, tokens, upload,
                                                        api_get, post, entry_row):
    entry_id = upload(tokens["kiosk"], speak(PII_SPEECH, tmp_path / "p.wav")).json["id"]
    run_jobs(app)
    made = keys_of(app, entry_id)
    assert len(made) >= 5, made  # transcript + redacted json, vtt, mp3, opus
    assert post(f"/entries/{entry_id}/withdraw").status_code == 200
    assert keys_of(app, entry_id) == []
    with app.app_context(), tenancy.unscoped():
        assert db.session.scalars(select(Redaction).where(
            Redaction.entry_id == entry_id)).all() == []
        assert db.session.scalars(select(SafeguardingFlag).where(
            SafeguardingFlag.entry_id == entry_id)).all() == []
    assert entry_row(entry_id).original_key is None
