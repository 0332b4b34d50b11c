"""``diaryroom anonymise``: the whole pipeline on a file, as a person checking it runs it
(a real process, real models, no database)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from diaryroom.asr import build_transcriber
from tests.conftest import shared_file

pytestmark = pytest.mark.slow

DIARYROOM = str(Path(sys.executable).with_name("diaryroom"))
# espeak reads "07700" as a quantity, so the number is written as a person says it.
UK_SPEECH = ("Hi, I'm Sandra Kowalski. My key worker is Daniel Okafor. You can ring me on "
             "zero seven seven zero zero, nine zero zero, one two three. "
             "My postcode is M1 1AE.")
# The names, any run of four or more digits however Whisper joins them, the postcode.
LEAKS = re.compile(r"kowalski|sandra|okafor|o'kaffer|\d(?:[\s.-]*\d){3,}|\bm[\s-]*1\b",
                   re.I)


def anonymise(src: Path, out: Path, *extra: str, env_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DIARYROOM, "anonymise", str(src), "--out", str(out), "--model", "tiny.en", *extra],
        capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "DIARYROOM_DATA_DIR": str(env_dir), "HOME": str(env_dir)})


def test_jfk_gives_a_summary_and_three_files(tmp_path, have_ffmpeg):
    out = tmp_path / "out"
    done = anonymise(shared_file("speech/jfk.flac"), out, env_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["language"] == "en"
    assert summary["duration"] == pytest.approx(11.0, abs=0.5)
    assert summary["seconds"] > 0 and isinstance(summary["redactions"], dict)
    assert set(summary["steps"]) == {"transcribe", "safeguarding", "detect", "render",
                                     "relisten"}
    assert sorted(p.name for p in out.iterdir()) == [
        "redacted.mp3", "transcript.json", "transcript.vtt"]
    document = json.loads((out / "transcript.json").read_text())
    said = "".join(w["text"] for w in document["words"]).lower()
    assert "ask not what your country can do for you" in re.sub(r"[^\w\s]", "", said)
    assert all({"start", "end", "text"} <= set(w) for w in document["words"])
    assert (out / "transcript.vtt").read_text().startswith("WEBVTT")


def test_synthesised_uk_speech_keeps_no_personal_data_in_text_or_sound(tmp_path,
                                                                       have_ffmpeg):
    wav = tmp_path / "uk.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "150", "-w", str(wav), UK_SPEECH],
                   check=True, timeout=60)
    out = tmp_path / "out"
    done = anonymise(wav, out, "--voice", "natural", env_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads((out / "transcript.json").read_text())
    text = " ".join(w["text"] for w in document["words"]) + document["text"]
    assert not LEAKS.search(text), document["text"]
    types = {r["type"] for r in document["redactions"]}
    assert {"NAME", "PHONE", "POSTCODE"} <= types, document["redactions"]
    assert all({"type", "start", "end"} <= set(r) for r in document["redactions"])
    assert "text" not in json.dumps(document["redactions"])  # no redacted words, ever

    heard = build_transcriber("faster-whisper", "tiny.en", tmp_path).transcribe(
        out / "redacted.mp3").text
    assert "key worker" in heard.lower(), heard  # the rest is still clear
    assert not LEAKS.search(heard), heard


def test_keep_original_and_local_names(tmp_path, have_ffmpeg):
    wav = tmp_path / "local.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(wav),
                    "I have been sleeping at the Hope Lodge hostel since march."],
                   check=True, timeout=60)
    names = tmp_path / "names.txt"
    names.write_text("# our hostels\nPLACE: Hope Lodge\n")
    out = tmp_path / "out"
    done = anonymise(wav, out, "--local-names", str(names), "--keep-original",
                     env_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["redactions"].get("PLACE", 0) >= 1
    assert "lodge" not in (out / "transcript.json").read_text().lower()
    assert "hope lodge" in (out / "original.json").read_text().lower()


@pytest.mark.parametrize("case, reason", [("corrupt", "could not be decoded"),
                                          ("silence", "no speech")])
def test_bad_input_is_one_clear_line(tmp_path, case, reason, have_ffmpeg):
    src = tmp_path / f"{case}.wav"
    if case == "corrupt":
        src.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 50)
    else:
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                        "anullsrc=r=16000:cl=mono", "-t", "3", str(src)],
                       check=True, timeout=60)
    done = anonymise(src, tmp_path / "out", env_dir=tmp_path)
    assert done.returncode == 2
    assert reason in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
