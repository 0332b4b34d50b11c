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

    >>> normalise("  Amber Otter-LAKE 27 ")
    'amber-otter-lake-27'
    >>> normalise("27") is None
    True
    """
    parts = [p for p in re.split(r"[^a-z0-9]+", typed.lower()) if p]
    if len(parts) != WORDS_IN_CODE + 1 or not parts[-1].isdigit():
        return None
    if not all(p.isalpha() for p in parts[:-1]):
        return None
    return "-".join(parts)


def lookup_hash(code: str, key: bytes) -> str:
    """A keyed hash, so a copy of the database alone cannot be searched for codes."""
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()
