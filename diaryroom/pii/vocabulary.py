"""Which words are everyday English words, read from the spaCy model's own vocabulary.

The Rampart name model (:mod:`diaryroom.pii.rampart`) sometimes takes a plain word for a
name: "they're rubbish at answering", "hang on", "we walked for miles". Whether a word is
a name or an everyday word is something English text itself records: names are written
with a capital, everyday words in lower case. en_core_web_md stores its word vectors
most frequent first (the order they were counted in, "the" before "helicopter" before
"salarymen"), and keeps each spelling apart ("miles" and "Miles"), so the rank of a
word's lower-case spelling against its best capitalised spelling says which way the
word is mostly written:

- "miles" ranks 1,539th and "Miles" 7,467th: an everyday word;
- "sandra" ranks 145,628th and "Sandra" 11,886th: a name;
- "siobhan" is not in the table at all: unknown, so possibly a name.

A word is *everyday* when its lower-case spelling ranks at least as high as every
capitalised one (or there is none). This is a fact about English, not a list anyone
keeps, and it is computed once per process from the model already loaded (about a
second).
"""
from __future__ import annotations

from spacy.vocab import Vocab


def everyday_words(vocab: Vocab) -> frozenset[str]:
    """The lower-case words of ``vocab``'s vector table that English writes in lower
    case at least as often as with a capital.

    Assumes the table lists its keys most frequent first, as en_core_web_md's does
    (its tests check a few ranks).
    """
    strings = vocab.strings
    lower: dict[str, int] = {}
    capital: dict[str, int] = {}
    for rank, key in enumerate(vocab.vectors.key2row):
        word = strings[key]
        if not word.isalpha():
            continue
        if word.islower():
            lower.setdefault(word, rank)
        elif word[0].isupper():
            capital.setdefault(word.lower(), rank)  # "Miles", "MILES", "McDonald"
    return frozenset(w for w, rank in lower.items() if rank <= capital.get(w, rank))
