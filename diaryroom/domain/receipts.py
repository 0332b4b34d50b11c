"""Receipt codes: three short words and a number, easy to read aloud and write down.

With EFF's short word list (1,296 words, minus a few we would not want to hand to
someone in crisis) there are about 2 x 10^11 codes; with lookups rate-limited per kiosk,
guessing one is hopeless. Codes are matched forgivingly: any case, any separators.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from functools import lru_cache
from importlib import resources

WORDS_IN_CODE = 3
NUMBER_RANGE = (10, 99)  # two digits: easy to say, adds a factor of 90
# Words from the list that could upset someone or read as a comment on them.
AVOID = frozenset("""
acid ashes bomb booze boss broke crack crook crude cuff dead death debt drug drunk dummy
fang fat fight flop gag grave gross gun hurt jail kill knife lazy liar lone lose lost
mad mock mug numb pain pill poke poor rash rehab rob rope rot sad scam scar shot sick
sin slap slum smog sob stab steal stink thief toxic ugly vomit war weird wreck
""".split())


@lru_cache(maxsize=1)
def wordlist() -> tuple[str, ...]:
    text = (resources.files("xkcdpass") / "static" / "eff-short").read_text()
    words = {w.strip().lower() for w in text.split() if w.strip().isalpha()}
    return tuple(sorted(w for w in words if w not in AVOID and 3 <= len(w) <= 6))


def generate() -> str:
    """A new code like ``amber-otter-lake-27``."""
    words = wordlist()
    chosen = [secrets.choice(words) for _ in range(WORDS_IN_CODE)]
    number = secrets.randbelow(NUMBER_RANGE[1] - NUMBER_RANGE[0] + 1) + NUMBER_RANGE[0]
    return "-".join([*chosen, str(number)])


def normalise(typed: str) -> str | None:
    """The canonical form of what someone typed, or None if it cannot be a code.

    Forgiving: any case, any separators, accents dropped, and a number run into the last
    word. The kiosk's static/kiosk/receipt.js does the same; both are pinned by the one
    table in tests/data/receipt_codes.json.

    >>> normalise("  Amber Otter-LAKE 27 ")
    'amber-otter-lake-27'
    >>> normalise("amber otter lake27")
    'amber-otter-lake-27'
    >>> normalise("27") is None
    True
    """
    decomposed = unicodedata.normalize("NFKD", typed.lower())
    plain = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    parts = _ALNUM_RUN.findall(plain)
    last = _WORD_THEN_NUMBER.fullmatch(parts[-1]) if parts else None
    if last:
        parts[-1:] = [last[1], last[2]]
    if len(parts) != WORDS_IN_CODE + 1 or not _ASCII_NUMBER.fullmatch(parts[-1]):
        return None
    if not all(_ASCII_WORD.fullmatch(p) for p in parts[:-1]):
        return None
    return "-".join(parts)


_ALNUM_RUN = re.compile(r"[^\W_]+")  # runs of letters and digits, in any script
_WORD_THEN_NUMBER = re.compile(r"([a-z]+)([0-9]+)")
_ASCII_WORD = re.compile(r"[a-z]+")
_ASCII_NUMBER = re.compile(r"[0-9]+")


def lookup_hash(code: str, key: bytes) -> str:
    """A keyed hash, so a copy of the database alone cannot be searched for codes."""
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()
