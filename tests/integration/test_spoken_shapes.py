"""Numbers and postcodes spoken, as the issue measured them leaking (issue 12, item 2):
espeak-ng says each one the way a person does, real Whisper writes it however it likes
(digit groups joined by "to" and commas, a postcode regrouped), and nothing of it may be
left in the shared words. The written shapes are tested one by one in
``tests/unit/test_number_runs.py``; this is the same promise through the ear."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from diaryroom.anonymise import Settings, anonymise_file
from diaryroom.asr import build_transcriber
from diaryroom.errors import DiaryRoomError
from diaryroom.pii import get_detector
from diaryroom.pii.runs import DIGIT_WORDS, REPEATS
from tests.media_fixtures import speech_wav

pytestmark = pytest.mark.slow

# (what is said, the value as written). Fictional: Ofcom drama numbers, the NHS test
# range, a valid-format NI number.
SAID = [
    ("ring me on oh one six one, four nine six, oh oh one eight any time",
     "0161 496 0018"),
    ("my mobile is oh seven seven double oh, nine double oh, four one six",
     "07700 900416"),
    ("my NHS number is nine nine nine, one two three, four five six seven",
     "999 123 4567"),
    ("my benefit reference is four eight two, nine one seven, three three",
     "48291733"),
    ("the new flat's postcode is S E one, seven P B, near the station", "SE1 7PB"),
    ("my national insurance number is Q Q one two three four five six C, that's it",
     "QQ123456C"),
]


def spoken_digits(text: str) -> str:
    """Every digit of ``text`` in order, number words too ("double oh four" -> "004"):
    strict on purpose, as digits from different numbers run together."""
    out, repeat = [], 1
    for token in re.findall(r"\d|[a-z]+", text.lower()):
        if token in REPEATS:
            repeat = REPEATS[token]
            continue
        digit = token if token.isdigit() else DIGIT_WORDS.get(token)
        if digit is not None:
            out.append(digit * repeat)
        repeat = 1
    return "".join(out)


def leaks(value: str, shared: str) -> list[str]:
    """What of ``value`` is still in ``shared``: any four of its digits in a row (however
    Whisper wrote or spaced them), or its postcode halves with their digits."""
    digits = re.sub(r"\D", "", value)
    said = spoken_digits(shared)
    found = [digits[i:i + 4] for i in range(len(digits) - 3) if digits[i:i + 4] in said]
    letters = re.sub(r"[^a-z0-9]", "", shared.lower())
    found += [part.lower() for part in value.split() if re.search(r"[A-Z]\d|\d[A-Z]", part)
              and part.lower() in letters]
    return found


@pytest.fixture(scope="module", params=["tiny.en", "base"])
def transcriber(request, tmp_path_factory):
    """Both shipped models: they write numbers differently (base is the default)."""
    return build_transcriber("faster-whisper", request.param,
                             tmp_path_factory.mktemp("models"))


def test_the_leak_check_sees_a_leak() -> None:
    assert {"0161", "1496", "4960"} <= set(leaks("0161 496 0018", "call 0161 to 496, 018"))
    assert leaks("SE1 7PB", "it's c17 pb or se1 7pb") == ["se1", "7pb"]
    assert leaks("0161 496 0018", "call [PHONE] please") == []
    assert leaks("07700 900416", "it's seven double oh, nine double oh four") == [
        "7009", "0090", "0900", "9004"]


@pytest.mark.parametrize("said, value", SAID, ids=[v for _, v in SAID])
def test_a_spoken_identifier_leaves_nothing_in_the_shared_words(
        tmp_path: Path, transcriber, said: str, value: str, have_ffmpeg) -> None:
    wav = speech_wav(tmp_path / "said.wav", said)
    out = tmp_path / "out"
    try:
        anonymise_file(wav, out, transcriber=transcriber, detector=get_detector(),
                       disguise=False, settings=Settings(), keep_original=True)
    except DiaryRoomError as e:  # safe (nothing shared) but no use to anyone
        pytest.fail(f"an ordinary sentence went to needs_attention: {e}")
    heard = json.loads((out / "original.json").read_text())
    shared = json.loads((out / "transcript.json").read_text())
    original = " ".join(s["text"] for s in heard["segments"])
    assert shared["redactions"], f"nothing redacted in {original!r}"
    print(original, "->", shared["text"])
    assert not leaks(value, shared["text"]), (original, shared["text"])
