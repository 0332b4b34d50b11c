"""Email addresses said aloud: "john dot smith at gmail dot com", "j smith underscore
ninety at hotmail dot co dot uk" (written ones are Presidio's ``EmailRecognizer``'s).

The domain anchors the match: "at", then labels joined by "dot" ending in a real public
suffix. The local part is read backwards from "at": the word before it, then further
words only while they are joined by "dot", "underscore", "dash" (or the characters), or
are digits, number words or single letters ("j smith", "smith ninety"). A bare function
word before "at" ("I was at tesco dot com") is no address.

Personal mailboxes at the big webmail providers are where people pick names with spaces
in them ("shauny boy at hotmail dot com", "big mike one nine seven seven at outlook dot
com"), so before one of those the local part also takes up to two more plain words; and
Whisper splits some providers' names ("bt internet", "hot mail"), which are joined again.

The public-suffix check uses tldextract's bundled snapshot: :data:`OFFLINE_TLD` never
fetches the list over the network (the default extractor would, on first use).
"""
from __future__ import annotations

import re

import tldextract
from spacy.lang.en.stop_words import STOP_WORDS

from diaryroom.domain.redaction import Span
from diaryroom.pii.spoken import NUMBER_WORDS

SCORE = 0.85


def offline_extractor() -> tldextract.TLDExtract:
    """A tldextract that reads only its bundled public-suffix snapshot: no URLs to fetch,
    no cache directory to read or write."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


OFFLINE_TLD = offline_extractor()

_JOINS = {"dot": ".", "underscore": "_", "dash": "-", "hyphen": "-", "at": "@"}
_ITEM = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*|[._@-]")  # "it's" stays one word
WEBMAIL = frozenset(
    "gmail googlemail hotmail outlook live yahoo ymail icloud aol btinternet sky talktalk "
    "virginmedia ntlworld blueyonder tiscali protonmail proton gmx yandex".split())
_EXTRA_WORDS = 2  # plain words a webmail local part may take beyond the spelt ones
# Words that introduce an address rather than belong to it ("i use big mike ...").
_CUES = frozenset("use uses used email emailed emails mail mailed address send sent write "
                  "contact reach account it's thats that's".split())


def find_spoken_emails(text: str) -> list[Span]:
    """Email addresses spelt out in words, as ``EMAIL`` spans.

    >>> t = "email me on j smith underscore ninety at hotmail dot co dot uk thanks"
    >>> [t[s.start:s.end] for s in find_spoken_emails(t)]
    ['j smith underscore ninety at hotmail dot co dot uk']
    >>> find_spoken_emails("I was at tesco dot com") + find_spoken_emails("meet at home")
    []
    """
    items = _join_providers([(m.start(), m.end(), _JOINS.get(m.group().lower(), m.group()))
                             for m in _ITEM.finditer(text)])
    spans: list[Span] = []
    for k, (_, _, value) in enumerate(items):
        if value != "@":
            continue
        first = _local_start(text, items, k - 1)
        if first is None:
            continue
        if k + 1 < len(items) and items[k + 1][2].lower() in WEBMAIL:
            first = _plain_words_before(text, items, first)
        local = "".join(v for _, _, v in items[first:k])
        for end in _domain_ends(items, k + 1):  # longest first: "dot uk. i was" ends at uk
            if _looks_valid(local + "@" + "".join(v for _, _, v in items[k + 1:end])):
                spans.append(Span(items[first][0], items[end - 1][1], "EMAIL", SCORE))
                break
    return spans


def _domain_ends(items: list[tuple[int, int, str]], i: int) -> list[int]:
    """Item indices just past each possible domain at ``items[i]`` (label, then one or
    more ". label"), longest first."""
    ends: list[int] = []
    end = i + 1
    while i < len(items) and items[i][2].isalnum() and end + 1 < len(items) \
            and items[end][2] == "." and items[end + 1][2].isalnum():
        end += 2
        ends.append(end)
    return ends[::-1]


def _local_start(text: str, items: list[tuple[int, int, str]], i: int) -> int | None:
    """Index of the first item of the local part that ends at ``items[i]``."""
    if i < 0 or not items[i][2].isalnum():
        return None
    if _function_word(items[i][2]) and (i == 0 or items[i - 1][2] not in "._-"):
        return None  # "I was at tesco dot com"
    first = i
    while first > 0:
        prev = items[first - 1][2]
        if prev in "._-" and first > 1 and items[first - 2][2].isalnum():
            first -= 2
        elif prev.isalnum() and (_spelt(prev) or _spelt(items[first][2])) \
                and not _function_word(prev) \
                and not text[items[first - 1][1]:items[first][0]].strip():
            first -= 1
        else:
            break
    return first


def _join_providers(items: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Two words after "at" that spell a webmail provider become one ("bt internet")."""
    out: list[tuple[int, int, str]] = []
    k = 0
    while k < len(items):
        pair = items[k:k + 2]
        if out and out[-1][2] == "@" and len(pair) == 2 and \
                (pair[0][2] + pair[1][2]).lower() in WEBMAIL:
            out.append((pair[0][0], pair[1][1], pair[0][2] + pair[1][2]))
            k += 2
        else:
            out.append(items[k])
            k += 1
    return out


def _plain_words_before(text: str, items: list[tuple[int, int, str]], first: int) -> int:
    """``first`` moved back over up to two plain words said before a webmail address."""
    for _ in range(_EXTRA_WORDS):
        if first == 0 or text[items[first - 1][1]:items[first][0]].strip():
            break
        prev = items[first - 1][2]
        if not prev.isalnum() or _function_word(prev) or prev.lower() in _CUES:
            break
        first -= 1
    return first


def _spelt(word: str) -> bool:
    """Digits, number words and single letters run together in a spoken local part."""
    w = word.lower()
    return w.isdigit() or w in NUMBER_WORDS or len(w) == 1


def _function_word(word: str) -> bool:
    return word.lower() in STOP_WORDS and not _spelt(word)


def _looks_valid(address: str) -> bool:
    local, _, domain = address.partition("@")
    found = OFFLINE_TLD(domain)
    return bool(local) and bool(found.suffix) and bool(found.domain)
