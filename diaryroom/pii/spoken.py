"""Numbers and letters as people say them, turned into the characters they mean.

People read identifiers aloud ("oh seven seven double oh nine hundred one two three",
"s w one a one a a") and Whisper writes what it heard, often as words. The recognisers
need "07700900123" or "SW1A1AA" to validate, so this module reads a short list of words
(number words, digits, single letters, letter names, "double", "triple") into that string.

It works on words only, never on offsets: callers find a run of words in the original
text, read every sub-run with :func:`read`, and report a span over the original words,
so no map from converted text back to the transcript is needed.

Conventions of UK speech it follows:

- digits and number words are concatenated as said: "nineteen eighty five" is "1985",
  "twenty two" is "22", "oh seven" is "07";
- "nine hundred one two three" is "900" then "1", "2", "3" (how phone numbers are read);
  "nine hundred and one" and "nine hundred twenty" add up ("901", "920");
- "thousand" and "million" make a quantity (money, counts), never an identifier.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

UNITS = {"zero": 0, "oh": 0, "o": 0, "nought": 0, "nil": 0, "one": 1, "two": 2, "three": 3,
         "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
        "seventy": 70, "eighty": 80, "ninety": 90}
MULTIPLIERS = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
REPEATS = {"double": 2, "triple": 3, "treble": 3}
# Letter names Whisper writes when a letter is spelt out. Names that are also common words
# ("see", "are", "you", "why", "eye", "tea", "queue") are left out on purpose.
LETTER_NAMES = {"ay": "A", "bee": "B", "cee": "C", "dee": "D", "ee": "E", "ef": "F",
                "eff": "F", "gee": "G", "aitch": "H", "haitch": "H", "jay": "J", "kay": "K",
                "el": "L", "ell": "L", "em": "M", "en": "N", "pee": "P", "cue": "Q",
                "ar": "R", "ess": "S", "tee": "T", "vee": "V", "ex": "X", "zed": "Z",
                "zee": "Z"}
# Two-letter words that are words, not spelt letters ("is", "to"); anything else of two
# letters ("QQ", "sw") may be the letters of a postcode or NI number.
TWO_LETTER_WORDS = frozenset(
    "am an as at be by do eh er go ha he hi if in is it ma me mm my no of oh ok on or "
    "so to uh um up us we ya ye yo".split())
NUMBER_WORDS = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS) | frozenset(MULTIPLIERS)


@dataclass(frozen=True, slots=True)
class Reading:
    """What a run of words says: ``text`` (digits and capital letters) and whether it
    was a quantity ("two thousand", "a million") rather than something read out."""

    text: str
    quantity: bool = False


def letter(word: str) -> str | None:
    """The capital letter a single word spells, if it spells one.

    >>> letter("q"), letter("ess"), letter("see"), letter("oh")
    ('Q', 'S', None, None)
    """
    w = word.lower()
    if w in UNITS:  # "o" and "oh" are read as zero
        return None
    if len(w) == 1 and w.isalpha() and w.isascii():
        return w.upper()
    return LETTER_NAMES.get(w)


def is_readable(word: str) -> bool:
    """Whether ``word`` can be part of a spoken or written identifier.

    >>> [w for w in "my number is 07700 double oh nine hundred and one".split() if is_readable(w)]
    ['07700', 'double', 'oh', 'nine', 'hundred', 'and', 'one']
    """
    w = word.lower()
    if not w.isascii():
        return False
    return bool(w.isdigit() or w in NUMBER_WORDS or w in REPEATS or w == "and"
                or letter(w) or _letters(word) or (w.isalnum() and not w.isalpha()))


@dataclass(frozen=True, slots=True)
class Piece:
    """One thing said: words ``first..last`` (inclusive) read as ``text``."""

    first: int
    last: int
    text: str
    quantity: bool = False


def pieces(words: Sequence[str]) -> list[Piece | None]:
    """``words`` read left to right into pieces: a digit, a letter, "double oh", a spoken
    number ("nine hundred", "twenty two"). A word that is no part of one gives ``None``.
    Callers choose sub-runs of whole pieces, so "twenty two" is never split into "2".

    >>> [p.text if p else None for p in pieces("oh seven double oh nine hundred and".split())]
    ['0', '7', '00', '900', None]
    """
    out: list[Piece | None] = []
    i, n = 0, len(words)
    while i < n:
        w = words[i].lower()
        nxt = words[i + 1].lower() if i + 1 < n else ""
        start = i
        if w == "double" and nxt in ("u", "you"):
            out.append(Piece(start, i + 1, "W"))
            i += 2
        elif w in REPEATS:
            single = _single(nxt)
            out.append(Piece(start, i + 1, single * REPEATS[w]) if single else None)
            i += 2 if single else 1
        elif w in UNITS or w in TEENS or w in TENS or (w == "a" and nxt in MULTIPLIERS) \
                or (w.isdigit() and nxt in MULTIPLIERS):
            value, i, multiplied = _cardinal(words, i)
            out.append(Piece(start, i - 1, value, multiplied))
        elif w.isdigit() and w.isascii():
            out.append(Piece(start, i, w))
            i += 1
        elif (spelt := letter(w) or _letters(words[i])) is not None:
            out.append(Piece(start, i, spelt))
            i += 1
        elif w.isascii() and w.isalnum() and not w.isalpha():
            out.append(Piece(start, i, w.upper()))
            i += 1
        else:
            out.append(None)
            i += 1
    return out


def read(words: Sequence[str]) -> Reading | None:
    """The digits and letters ``words`` say, or ``None`` if any word is not part of one.

    >>> read("oh seven seven double oh nine hundred one two three".split())
    Reading(text='07700900123', quantity=False)
    >>> read("s w one a one a a".split()).text
    'SW1A1AA'
    >>> read("two thousand and five".split())
    Reading(text='2005', quantity=True)
    >>> read(["hundred"]) is None
    True
    """
    found = pieces(words)
    if not found or None in found:
        return None
    return Reading("".join(p.text for p in found if p),
                   any(p.quantity for p in found if p))


def _single(word: str) -> str | None:
    """One digit or letter, for "double" and "triple"."""
    if word in UNITS:
        return str(UNITS[word])
    if len(word) == 1 and word.isdigit():
        return word
    return letter(word)


def _letters(word: str) -> str | None:
    """A two-letter token that is letters rather than a word ("QQ", "sw")."""
    if len(word) == 2 and word.isalpha() and word.isascii() and (
            word.isupper() or word.lower() not in TWO_LETTER_WORDS):
        return word.upper()
    return None


def _at(words: Sequence[str], i: int) -> str:
    return words[i].lower() if i < len(words) else ""


def _below_100(words: Sequence[str], i: int, *, words_only: bool = False
               ) -> tuple[int, int] | None:
    """A number under a hundred said at ``words[i]`` (or digits there) and where it ends."""
    w = _at(words, i)
    if w in TENS:
        unit = UNITS.get(_at(words, i + 1), 0)
        return (TENS[w] + unit, i + 2) if unit else (TENS[w], i + 1)
    if w in TEENS:
        return TEENS[w], i + 1
    if w in UNITS:
        return UNITS[w], i + 1
    if words_only:
        return None
    if w == "a":
        return 1, i + 1
    if w.isdigit():
        return int(w), i + 1
    return None


def _hundreds(words: Sequence[str], i: int, *, words_only: bool = False
              ) -> tuple[int, int] | None:
    """A number with an optional "hundred" and what follows it ("nine hundred and one")."""
    first = _below_100(words, i, words_only=words_only)
    if first is None:
        return None
    value, i = first
    if _at(words, i) == "hundred":
        value, i = _tail(words, i + 1, value * 100, units=False)
    return value, i


def _tail(words: Sequence[str], i: int, value: int, *, units: bool) -> tuple[int, int]:
    """Add what follows "hundred" or "thousand": "and" then a number, or a tens or teens
    word. A bare unit after "hundred" stays a separate digit, as phone numbers are read."""
    w = _at(words, i)
    if w == "and":
        part = (_hundreds if units else _below_100)(words, i + 1, words_only=True)
        return (value + part[0], part[1]) if part else (value, i)
    if w in TENS or w in TEENS or (units and UNITS.get(w, 0) > 0):
        part = (_hundreds if units else _below_100)(words, i, words_only=True)
        if part:
            return value + part[0], part[1]
    return value, i


def _cardinal(words: Sequence[str], i: int) -> tuple[str, int, bool]:
    """One spoken number group from ``words[i]``: its digits, where it ends, and whether
    it used "thousand" or "million" (a quantity)."""
    if _at(words, i) in UNITS and UNITS[_at(words, i)] == 0:
        return "0", i + 1, False  # "oh", "zero", "nought": always a digit
    found = _hundreds(words, i)
    assert found is not None  # the caller checked that words[i] starts a number
    value, i = found
    multiplied = False
    for big in ("thousand", "million"):
        if _at(words, i) == big:
            multiplied = True
            value, i = _tail(words, i + 1, value * MULTIPLIERS[big], units=True)
    return str(value), i, multiplied


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


# Regular-expression pieces for numbers said in words, for patterns that need one inside
# a phrase ("number forty two church street", "the twelfth of march nineteen eighty five").
UNIT_RE = _alternatives(w for w, v in UNITS.items() if v and w != "o")
TEEN_RE = _alternatives(TEENS)
TENS_RE = _alternatives(TENS)
UNDER_100_RE = rf"(?:(?:{TENS_RE})(?:[\s-]+(?:{UNIT_RE}))?|{TEEN_RE}|{UNIT_RE})"
SPOKEN_NUMBER_RE = (rf"(?:(?:{UNIT_RE}|a)\s+hundred(?:\s+and)?(?:\s+{UNDER_100_RE})?"
                    rf"|{UNDER_100_RE})")
