"""The reviewed safeguarding phrase list: read from ``phrases.toml`` and parsed into plain
data, with no spaCy in sight, so the list itself can be checked and tested on its own.

The list lives in a data file rather than in code because the people who must review it
(the safeguarding lead, not only engineers) can read it there. Its small syntax is
described in the file's header: ``a|b`` alternatives, ``...`` a short gap, ``=word`` an
exact word, and a ``[variants]`` table of other spellings applied to every phrase.
"""
from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from diaryroom.errors import DiaryRoomError

# The kinds of disclosure staff are asked to respond to, in the order a page lists them.
CATEGORIES = ("risk_to_life", "self_harm", "abuse", "violence", "exploitation")

GAP = "..."  # in a phrase: up to MAX_GAP other words
MAX_GAP = 3  # words; enough for "cut my left wrist", short enough to stay one thought

Alternative = tuple[str, ...]  # words that together fill one slot ("my", "self")
Slot = tuple[Alternative, ...] | None  # None is a gap
Variants = Mapping[Alternative, tuple[Alternative, ...]]


class PhraseListError(DiaryRoomError):
    """The phrase file cannot be used as written; the message names the bad entry."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """One line of the list: ``text`` as written (what a flag stores) and its slots."""

    category: str
    text: str
    slots: tuple[Slot, ...]
    exclude: bool = False


def default_path() -> Path:
    return Path(str(resources.files(__package__).joinpath("phrases.toml")))


def load_phrases(path: Path | None = None) -> tuple[Phrase, ...]:
    """Every phrase and exclusion in the file at ``path`` (the packaged list by default).

    Raises ``PhraseListError`` for a missing or unknown category, an empty list or a
    phrase that cannot be parsed: a half-read list would silently stop flagging.
    """
    path = path or default_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise PhraseListError(f"cannot read safeguarding phrases {path}: {e}") from e
    variants = _variants(data.pop("variants", {}))
    unknown = set(data) - set(CATEGORIES)
    if unknown:
        raise PhraseListError(f"{path}: unknown categories {sorted(unknown)}")
    out: list[Phrase] = []
    for category in CATEGORIES:
        table = data.get(category) or {}
        if not table.get("phrases"):
            raise PhraseListError(f"{path}: category {category!r} has no phrases")
        for key, is_exclude in (("phrases", False), ("exclude", True)):
            for text in table.get(key, []):
                slots = expand_variants(parse(text), variants)
                out.append(Phrase(category, text, slots, is_exclude))
    return tuple(out)


def parse(text: str) -> tuple[Slot, ...]:
    """Slots of one phrase.

    >>> parse("cut|burn ... wrist")
    ((('cut',), ('burn',)), None, (('wrist',),))
    """
    words = text.lower().split()
    if not words or GAP in (words[0], words[-1]):
        raise PhraseListError(f"phrase {text!r} is empty or starts or ends with {GAP!r}")
    slots: list[Slot] = []
    for word in words:
        if word == GAP:
            slots.append(None)
            continue
        alternatives = tuple((alt,) for alt in word.split("|"))
        if any(not alt[0] or alt[0] == "=" for alt in alternatives):
            raise PhraseListError(f"phrase {text!r} has an empty alternative in {word!r}")
        slots.append(alternatives)
    return tuple(slots)


def expand_variants(slots: tuple[Slot, ...], variants: Variants) -> tuple[Slot, ...]:
    """``slots`` with each variant's other spellings added as alternatives.

    A one-word variant ("myself") is added wherever that word is an alternative; a
    several-word one ("any more") where those words fill consecutive plain slots.

    >>> expand_variants(parse("hurt myself"), {("myself",): (("my", "self"),)})
    ((('hurt',),), (('myself',), ('my', 'self')))
    """
    out = list(slots)
    for key, others in sorted(variants.items(), key=lambda kv: -len(kv[0])):
        i = 0
        while i + len(key) <= len(out):
            window = out[i:i + len(key)]
            if len(key) == 1 and window[0] is not None and key in window[0]:
                out[i] = window[0] + tuple(o for o in others if o not in window[0])
            elif len(key) > 1 and tuple(_plain_word(s) for s in window) == key:
                out[i:i + len(key)] = [(key, *others)]
            i += 1
    return tuple(out)


def _plain_word(slot: Slot) -> str | None:
    """The word of a slot that is exactly one word, with no alternatives."""
    if slot is not None and len(slot) == 1 and len(slot[0]) == 1:
        return slot[0][0]
    return None


def _variants(table: dict) -> dict[Alternative, tuple[Alternative, ...]]:
    if not isinstance(table, dict):
        raise PhraseListError("[variants] must be a table of word = [other spellings]")
    return {tuple(k.lower().split()): tuple(tuple(v.lower().split()) for v in vs)
            for k, vs in table.items()}
