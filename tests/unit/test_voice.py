"""Spoken prompts: real MP3s made with espeak-ng and ffmpeg, made once, made again when
their words change, and served to a paired kiosk only."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from markupsafe import escape

from diaryroom.auth.principal import KIOSK_COOKIE
from kiosk import voice
from tests.conftest import AuthActions


def duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "csv=p=0", str(path)], check=True, capture_output=True,
                         text=True).stdout
    return float(out.strip())


@pytest.fixture(scope="module")
def prompts_dir(tmp_path_factory) -> Path:
    for tool in ("espeak-ng", "ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is required (make test installs it)")
    data_dir = tmp_path_factory.mktemp("voice-data")
    folder = voice.ensure_prompts(data_dir)
    assert folder == data_dir / "voice" / "en_GB"
    return data_dir


def test_every_prompt_becomes_a_real_mp3(prompts_dir):
    folder = prompts_dir / "voice" / "en_GB"
    for key in voice.PROMPTS:
        mp3 = folder / f"{key}.mp3"
        assert mp3.exists(), key
        assert duration(mp3) > 0.3, key
        assert (folder / f"{key}.sha256").exists()
    # Nothing half-made is left behind.
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_the_spoken_words_are_the_screen_heading_then_its_paragraph():
    assert voice.prompt_text("welcome") == (
        "Diary Room. What you say here stays private. Only the people you choose will "
        "hear it. You can change your mind later.")
    assert voice.prompt_text("idle").startswith("Are you still there? If you do not")
    assert set(voice.TITLES) == set(voice.PROMPTS)


def test_making_them_again_changes_nothing(prompts_dir):
    folder = prompts_dir / "voice" / "en_GB"
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}
    voice.ensure_prompts(prompts_dir)
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}
    assert after == before


def test_changed_words_are_spoken_anew(tmp_path, monkeypatch):
    first = voice.ensure_prompt(tmp_path, "saving")
    stamp = first.with_suffix(".sha256").read_text()
    length = duration(first)
    other = voice.ensure_prompt(tmp_path, "receipt")
    other_made = other.stat().st_mtime_ns

    monkeypatch.setitem(voice.PROMPTS, "saving", "Wait.")
    again = voice.ensure_prompt(tmp_path, "saving")
    assert again == first
    assert again.with_suffix(".sha256").read_text() != stamp
    assert duration(again) < length - 2  # "Saving. Wait." is much shorter
    assert voice.ensure_prompt(tmp_path, "receipt").stat().st_mtime_ns == other_made


def test_a_missing_espeak_is_a_clear_error(tmp_path, monkeypatch):
    real = shutil.which
    monkeypatch.setattr(voice.shutil, "which",
                        lambda name: None if name == "espeak-ng" else real(name))
    with pytest.raises(voice.VoiceUnavailable, match="espeak-ng is not installed"):
        voice.ensure_prompts(tmp_path)
    assert not (tmp_path / "voice" / "en_GB" / "welcome.mp3").exists()


def test_unknown_prompts_and_words_are_refused(tmp_path):
    with pytest.raises(KeyError):
        voice.ensure_prompt(tmp_path, "../secret")
    for word in ("../../etc", "notarealwordatall", "x" * 20, "12345"):
        with pytest.raises(KeyError):
            voice.ensure_word(tmp_path, word)


# --- the routes ---------------------------------------------------------------------------

@pytest.fixture
def kiosk_client(app, world):
    client = app.test_client()
    client.set_cookie(KIOSK_COOKIE, world.kiosk_tokens["A"])
    return client


def test_a_kiosk_gets_the_spoken_prompt(kiosk_client, app):
    response = kiosk_client.get("/kiosk/voice/welcome.mp3")
    assert response.status_code == 200
    assert response.mimetype == "audio/mpeg"
    assert response.data[:3] == b"ID3" or response.data[:2] in (b"\xff\xfb", b"\xff\xf3")
    made = Path(app.config["DATA_DIR"]) / "voice" / "en_GB" / "welcome.mp3"
    assert made.read_bytes() == response.data
    assert kiosk_client.get("/kiosk/voice/no-such-prompt.mp3").status_code == 404

    word = sorted(voice.receipt_words())[0]
    for path in (f"/kiosk/voice/words/{word}.mp3", "/kiosk/voice/words/27.mp3"):
        response = kiosk_client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "audio/mpeg"
    assert kiosk_client.get("/kiosk/voice/words/notaword.mp3").status_code == 404


def test_only_a_kiosk_gets_them(app, world, client):
    response = client.get("/kiosk/voice/welcome.mp3")
    assert response.status_code == 302 and "/auth/login" in response.location
    AuthActions(client).login(world.account("staff").email)
    assert client.get("/kiosk/voice/welcome.mp3").status_code == 403


def test_the_screen_shows_the_words_it_speaks(kiosk_client):
    """Each "Read aloud" button names a prompt, and that prompt's words are on the page."""
    import re

    html = kiosk_client.get("/kiosk/").text
    keys = set(re.findall(r'data-say="([a-z_]+)"', html))
    assert keys == set(voice.PROMPTS)
    for key in voice.PROMPTS:
        assert str(escape(str(voice.PROMPTS[key]))) in html, key
        assert str(escape(str(voice.TITLES[key]))) in html, key
