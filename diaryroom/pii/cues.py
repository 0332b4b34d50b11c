"""What the words around a word say about it being a name or a place, in speech.

Whisper writes no capitals, so "will", "grace" or "reading" are names only by context.
These are the contexts :mod:`diaryroom.pii.names` trusts, each a habit of how people talk
about someone: a cue before the word ("my name is", "my mate", "mr"), the word paired with
"me" or another name ("me and grace", "mark and bill"), a description after it ("jack
the fella with the dog", "mark he's the night manager"), a verb that takes a person
("i met amber"), a clause opening on it with a verb of telling ("jade rang me"), and for
places a verb of living or moving ("grew up in reading", "lives in hull").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS

from diaryroom.pii.spoken import NUMBER_WORDS

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
MONTHS = frozenset("january february march april may june july august september october "
                   "november december".split())
_POSSESSIVES = frozenset("my our his her their me".split())
_ADJECTIVES = frozenset("little big older younger eldest oldest youngest best old ex".split())
RELATIONS = frozenset(
    "mate friend pal bro brother sister sis son daughter mum mam mom mother dad father nan "
    "nana nanna gran granny grandma grandad granddad grandpa uncle auntie aunty aunt cousin "
    "partner girlfriend boyfriend wife husband fiance fiancee kid niece nephew stepdad "
    "stepmum stepson stepdaughter neighbour keyworker caseworker worker housemate flatmate "
    "roommate cellmate boss manager landlord landlady girl boy lad baby missus fella bloke "
    "counsellor therapist nurse mentor sponsor solicitor".split())
_TWO_WORD_RELATIONS = frozenset(
    ("key worker", "support worker", "case worker", "social worker", "probation officer",
     "housing officer", "outreach worker", "youth worker", "drugs worker"))
# Staff are named after these even when the name is in no list ("my keyworker tommo").
_WORKERS = frozenset(("keyworker", "caseworker", "worker", "officer"))
_PERSON_NOUNS = frozenset(
    "guy lad bloke man woman girl boy fella fellow geezer lady person someone somebody chap "
    "kid dude".split())
_STRONG_CUES = tuple(tuple(c.split()) for c in (
    "my name is", "my name's", "my names", "name is", "i'm called", "im called",
    "i am called", "they call me", "everyone calls me", "people call me", "known as",
    "goes by"))
_TITLES = frozenset("mr mrs ms mx dr".split())
# After a singular "my mate" a bare verb can only be a modal or a past tense, so these
# names need a verb or the end of the clause after them ("my mate will said", not "my
# mate will help", "my mate drew a picture").
_MODAL_NAMES = frozenset("will may drew".split())
_NAME_FOLLOWERS = frozenset(
    "said says told is was has had and who came comes went goes got gave did does thinks "
    "thought reckons would could wants wanted rang phoned texted called".split())
# Words that follow a cue but are not names ("my keyworker said", "my name is basically").
_NOT_NAMES = frozenset(
    "said says told came come helped helps gave got rang called phoned texted sorted reckons "
    "thinks thought wants wanted left went goes asked tried made makes took takes put let "
    "brought found knows knew looks sent needs like basically actually literally yeah erm "
    "um uh er right gonna wanna gotta ok okay cos because and but".split())
# Verbs whose object is a person ("i met amber", "where i met faith").
_MEETS = frozenset("met meet meeting married marry texted told asked rang phoned messaged "
                   "visited hugged kissed thanked".split())
# Verbs of telling and helping that open a clause on a name ("jade rang me").
_TELLS = frozenset("said says told tells rang rings phoned texted messaged reckons reckoned "
                   "asked asks helped lent sorted".split())
_CLAUSE_STARTS = frozenset("and then but so after because cos when honestly yeah well um erm "
                           "er uh like anyway basically oh".split())
_DETERMINERS = frozenset("a an the this that these those some any no every each another "
                         "what".split())
_OBJECTS = _DETERMINERS | frozenset("my your his her their our it them".split())
# Before "in", "to", "from": verbs of living and moving ("grew up in reading").
_LIVES = frozenset("live lives lived living grew born raised moved move moving stay stayed "
                   "staying stays slept sleep sleeping went go going based up down over back "
                   "originally i'm im".split())


@dataclass(frozen=True, slots=True)
class Token:
    start: int
    end: int
    text: str
    low: str  # lower case, curly apostrophes straightened
    key: str  # low without a possessive "'s"
    capital: bool  # written with a capital in the middle of a sentence
    pause: bool  # punctuation between the previous word and this one


def tokens(text: str) -> list[Token]:
    """The words of ``text`` with what the finders need to know about each."""
    toks: list[Token] = []
    for m in WORD.finditer(text):
        word = m.group()
        low = word.lower().replace("’", "'")
        key = low[:-2] if low.endswith("'s") else low
        gap = text[toks[-1].end if toks else 0:m.start()]
        before = gap.rstrip()[-1:] or ("a" if toks else "")  # "a": right after a word
        capital = word[0].isupper() and before not in ("", *".!?:\"'“")
        pause = bool(toks) and any(c in ",.;:!?" for c in gap)
        toks.append(Token(m.start(), m.end(), word, low, key, capital, pause))
    return toks


def _low(toks: list[Token], i: int) -> str:
    return toks[i].low if 0 <= i < len(toks) else ""


def cue_before(toks: list[Token], i: int) -> str | None:
    """Which name cue ends just before token ``i``, if any."""
    lows = [t.low for t in toks[max(0, i - 5):i]]
    if lows and lows[-1] in _TITLES:
        return "title"
    if any(tuple(lows[-len(c):]) == c for c in _STRONG_CUES):
        return "strong"
    if len(lows) >= 2 and lows[-1] in ("called", "named") and lows[-2] in _PERSON_NOUNS:
        return "called"
    explicit = bool(lows) and lows[-1] in ("called", "named")
    rest = lows[:-1] if explicit else lows
    if not rest:
        return None
    worker = rest[-1] in _WORKERS
    if len(rest) >= 3 and " ".join(rest[-2:]) in _TWO_WORD_RELATIONS:
        rest = rest[:-2]
    elif rest[-1] in RELATIONS:
        rest = rest[:-1]
    else:
        return None
    if rest and rest[-1] in _ADJECTIVES:
        rest = rest[:-1]
    if rest and rest[-1] in _POSSESSIVES:
        return "called" if explicit or worker else "relation"
    return None


def reads_as_name(toks: list[Token], i: int) -> bool:
    """After "my mate": a modal or past-tense name ("will", "may", "drew") must be
    followed by a verb or the end of the clause to be a name."""
    if toks[i].key not in _MODAL_NAMES or i + 1 == len(toks):
        return True
    nxt = toks[i + 1]
    return nxt.pause or nxt.low in _NAME_FOLLOWERS or nxt.low.endswith("ed")


def in_name_context(toks: list[Token], i: int, first_names: frozenset[str]) -> bool:
    """Whether a known first name that is also a word ("grace", "mark") is used as a
    name: paired with "me" or another name, described after, met, or opening a clause
    with a verb of telling. Month names never count ("me and may").

    >>> names = frozenset("will grace bill mark".split())
    >>> t = tokens("you know will and grace, me and bill, mark he's the manager, a mark")
    >>> [x.low for k, x in enumerate(t) if x.low in names and in_name_context(t, k, names)]
    ['will', 'grace', 'bill', 'mark']
    """
    tok = toks[i]
    if tok.key in MONTHS or (i and not tok.pause and _low(toks, i - 1) in _DETERMINERS):
        return False
    prev = "" if tok.pause else _low(toks, i - 1)
    after = [] if i + 1 < len(toks) and toks[i + 1].pause else [
        t.low for t in toks[i + 1:i + 3]]
    nxt, nxt2 = (after + ["", ""])[:2]
    before = _low(toks, i - 2) if prev == "and" and not toks[i - 1].pause else ""
    if before == "me" or (before in first_names and before not in MONTHS):
        return True
    if nxt == "and" and (nxt2 in ("me", "i") or (nxt2 in first_names and nxt2 not in MONTHS)):
        return True
    if nxt == "the" and (nxt2 in _PERSON_NOUNS or nxt2 in RELATIONS or nxt2 in _WORKERS):
        return True
    if nxt in ("he's", "she's") or (nxt in ("he", "she") and tok.key not in _MODAL_NAMES):
        return True
    if prev in _MEETS:
        return True
    return (not prev or prev in _CLAUSE_STARTS) and nxt in _TELLS


def place_cue(toks: list[Token], i: int) -> bool:
    """Whether a verb of living or moving comes before a place that is also a word:
    "grew up in reading", "lives in hull", "i'm from bath" (not "good at reading").

    >>> t = tokens("i grew up in reading and i like reading, then up in reading the paper")
    >>> [place_cue(t, k) for k, x in enumerate(t) if x.low == "reading"]
    [True, False, False]
    """
    if toks[i].pause or i < 2 or toks[i - 1].pause:
        return False
    if i + 1 < len(toks) and not toks[i + 1].pause and toks[i + 1].low in _OBJECTS:
        return False  # "ended up in reading the paper": a verb with its object
    return _low(toks, i - 1) in ("in", "to", "from", "near", "round", "around", "outside") \
        and _low(toks, i - 2) in _LIVES


def could_be_name(word: str) -> bool:
    """An unknown word after a cue may be a name unless it is plainly something else."""
    return (word not in STOP_WORDS and word not in NUMBER_WORDS and word not in _NOT_NAMES
            and not word.endswith(("ing", "ed", "ly", "n't"))
            and len(word) > 1)
