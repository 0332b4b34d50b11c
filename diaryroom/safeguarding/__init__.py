"""Safeguarding flags: disclosures in an entry that may need a staff response soon.

    concerns = find_concerns(words, nlp=nlp)   # [Concern(category, first, last, phrase)]
    summary(concerns)                          # {"risk_to_life": 1, "self_harm": 0, ...}

A flag marks an entry URGENT and highlights the passage; it never blocks or delays saving,
and it never replaces a person reading the entry. Matching uses a reviewed phrase list
(``phrases.toml``) so that what is flagged, and why, can be read and argued with.
"""
from diaryroom.safeguarding.detect import (
    Concern,
    find_concerns,
    load_default_nlp,
    merge,
    summary,
)
from diaryroom.safeguarding.phrases import CATEGORIES, PhraseListError, load_phrases

__all__ = [
    "CATEGORIES",
    "Concern",
    "PhraseListError",
    "find_concerns",
    "load_default_nlp",
    "load_phrases",
    "merge",
    "summary",
]
