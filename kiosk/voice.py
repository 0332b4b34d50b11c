"""Spoken prompts for the kiosk, made on this machine with espeak-ng (no network voice).

Every screen has a "Read aloud" button. What it plays is the screen's own words: the texts
below are shown on screen (through gettext) and spoken from the same strings, so the two
cannot drift apart. Files are made once and kept under
``<DATA_DIR>/voice/<locale>/<key>.mp3``; beside each one, ``<key>.sha256`` records the
voice and text it was made from, so a changed text (or translation) is spoken anew.

The receipt code's words are spoken the same way, one file per word of the receipt word
list (``<DATA_DIR>/voice/<locale>/words/<word>.mp3``), made the first time each is asked for.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from flask import has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from diaryroom.i18n import DEFAULT_LOCALE

# Each screen's heading and its first paragraph: shown on screen, and spoken (heading
# then paragraph) word for word. Everyday words, short sentences: every screen reads at
# grade 4 or below (tests/browser/test_kiosk_words.py measures the rendered screens).
TITLES = {
    "welcome": _l("Diary Room"),
    "cards": _l("Would you like a question to start you off?"),
    "consent": _l("Who may hear your recording?"),
    "consent_write": _l("Who may read what you wrote?"),
    "record": _l("Record your message"),
    "review": _l("Listen back"),
    "discard": _l("Throw it away?"),
    "saving": _l("Saving"),
    "receipt": _l("Saved safely"),
    "finish_confirm": _l("Have you got your code?"),
    "write": _l("Write your message"),
    "change": _l("Change your mind"),
    "change_found": _l("We found it"),
    "change_found_gone": _l("We found it"),
    "withdraw": _l("Take it back?"),
    "changed": _l("Your choices have been changed"),
    "withdrawn": _l("It has been taken back"),
    "idle": _l("Are you still there?"),
}
PROMPTS = {
    "welcome": _l("What you say here stays private. Only the people you choose will hear "
                  "it. You can change your mind later."),
    "cards": _l("You can pick a question to help you start. Or just say what is on your "
                "mind."),
    "consent": _l("Choose who may hear it. The safest choice is picked for you. You can "
                  "change your mind later with your code."),
    "consent_write": _l("Choose who may read it. The safest choice is picked for you. You "
                        "can change your mind later with your code."),
    "record": _l("Press the big button to start. You can pause or stop at any time."),
    "review": _l("Listen to it if you like. Nothing is kept unless you press Keep it."),
    "discard": _l("It will be deleted. You cannot get it back."),
    "saving": _l("Please wait while we save it. This can take a little while. You do not "
                 "need to do anything."),
    "receipt": _l("This is your code. Write it down or print it, and keep it to yourself. "
                  "You need it if you want to change your mind later."),
    "finish_confirm": _l("When you finish, your code goes from the screen. We cannot show "
                         "it again."),
    "write": _l("Write as much or as little as you like. Only the people you choose will "
                "read it."),
    "change": _l("Type the code you were given. It is three words and a number."),
    "change_found": _l("You can change who may hear it. Or you can take it back."),
    "change_found_gone": _l("It was already taken back. There is nothing more to do."),
    "withdraw": _l("If you take it back, it will be deleted. Nobody will hear it or read "
                   "it. You cannot undo this."),
    "changed": _l("From now on we will do what you chose."),
    "withdrawn": _l("We will delete it. No one will use it."),
    "idle": _l("If you do not press anything, we will go back to the start and clear this "
               "screen. A recording that is paused or not saved will be thrown away."),
}

ESPEAK_VOICES = {"en_GB": "en-gb", "en": "en-gb"}
WORD = re.compile(r"[a-z]{1,12}|[0-9]{1,4}")


class VoiceUnavailable(RuntimeError):
    """espeak-ng or ffmpeg is not installed, or failed."""


def espeak_voice(locale: str) -> str:
    """espeak-ng's name for a locale's voice: ``en_GB`` -> ``en-gb``, ``fr`` -> ``fr``."""
    return ESPEAK_VOICES.get(locale) or locale.replace("_", "-").lower()


def _spoken(key: str) -> str:
    title, prompt = str(TITLES[key]), str(PROMPTS[key])
    return f"{title} {prompt}" if title.endswith(("?", "!", ".")) else f"{title}. {prompt}"


def prompt_text(key: str, locale: str = DEFAULT_LOCALE) -> str:
    """What a prompt says in ``locale``: the screen's heading, then its first paragraph
    (English outside an app, where there is no catalogue)."""
    if has_app_context():
        with force_locale(locale):
            return _spoken(key)
    return _spoken(key)


def _tools() -> tuple[str, str]:
    espeak, ffmpeg = shutil.which("espeak-ng"), shutil.which("ffmpeg")
    if espeak is None:
        raise VoiceUnavailable("espeak-ng is not installed, so spoken prompts cannot be made "
                               "(install the espeak-ng package; `make run` does)")
    if ffmpeg is None:
        raise VoiceUnavailable("ffmpeg is not installed, so spoken prompts cannot be made "
                               "(install the ffmpeg package; `make run` does)")
    return espeak, ffmpeg


def _digest(voice: str, text: str) -> str:
    return hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def speak_to_file(text: str, target: Path, voice: str) -> Path:
    """``target`` (an MP3) saying ``text``, made unless it already says exactly that."""
    stamp = target.with_suffix(".sha256")
    digest = _digest(voice, text)
    if target.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return target
    espeak, ffmpeg = _tools()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".voice-") as tmp:
        wav, mp3 = Path(tmp) / "speech.wav", Path(tmp) / "speech.mp3"
        # An argument list (no shell), tools found on PATH, and words from PROMPTS or the
        # receipt word list only.
        try:
            subprocess.run([espeak, "-v", voice, "-w", str(wav), text],  # noqa: S603
                           check=True, capture_output=True, timeout=60)
            subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-y",  # noqa: S603
                            "-i", str(wav), "-ac", "1", "-b:a", "48k", str(mp3)],
                           check=True, capture_output=True, timeout=60)
        except subprocess.CalledProcessError as e:
            detail = (e.stderr or b"").decode(errors="replace").strip()
            raise VoiceUnavailable(f"could not make the spoken prompt: {detail}") from e
        except subprocess.TimeoutExpired as e:
            raise VoiceUnavailable("making the spoken prompt took too long") from e
        os.replace(mp3, target)  # same folder, so the file appears whole or not at all
    _write_atomically(stamp, digest.encode())
    return target


def prompt_path(data_dir: str | Path, key: str, locale: str = DEFAULT_LOCALE) -> Path:
    return Path(data_dir) / "voice" / locale / f"{key}.mp3"


def ensure_prompt(data_dir: str | Path, key: str, locale: str = DEFAULT_LOCALE) -> Path:
    """The MP3 of one prompt, made if it is missing or its text has changed."""
    if key not in PROMPTS:
        raise KeyError(key)
    return speak_to_file(prompt_text(key, locale), prompt_path(data_dir, key, locale),
                         espeak_voice(locale))


def ensure_prompts(data_dir: str | Path, locale: str = DEFAULT_LOCALE) -> Path:
    """Make every missing or out-of-date prompt; returns the folder that holds them."""
    _tools()  # say clearly what is missing before trying anything
    for key in PROMPTS:
        ensure_prompt(data_dir, key, locale)
    return Path(data_dir) / "voice" / locale


def receipt_words() -> frozenset[str]:
    """Words a receipt code can contain (the receipt word list)."""
    from diaryroom.domain import receipts

    return frozenset(receipts.wordlist())


def ensure_word(data_dir: str | Path, word: str, locale: str = DEFAULT_LOCALE) -> Path:
    """The MP3 of one word (or number) of a receipt code; KeyError for anything else."""
    word = word.lower()
    if not WORD.fullmatch(word) or not (word.isdigit() or word in receipt_words()):
        raise KeyError(word)
    return speak_to_file(word, Path(data_dir) / "voice" / locale / "words" / f"{word}.mp3",
                         espeak_voice(locale))
