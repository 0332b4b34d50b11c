"""Re-listening before release: where to listen, what counts as still heard, how to widen.

Whisper's word times are a guess, not a proof: the tone can cover the wrong stretch and
the redacted word stay clear beside it. So after rendering, the shared audio is listened
to again around every redaction (the sweep's marks included), and what is heard there is
compared with what was hidden:

    windows = listening_windows(words, plan, hidden, duration=d)   # where to listen
    placed = arrange(windows, hidden)                             # one file to hear
    heard = split_heard(transcript_words, placed, len(windows))   # per window, our seconds
    leaks = find_leaks(windows, heard, words, plan)               # what is still heard
    hidden = widen(hidden, leaks, duration=d)                     # render again, listen again

A redacted item counts as heard when Whisper writes one of its words (or a close spelling:
a similar string, the same sound, or half of it at least), or any
:data:`RUN_CHARS` digits in a row of its numbers (or letters and digits of a postcode),
however Whisper groups, joins or spells them. Short and common words never count, and
neither does a word that the window also holds unredacted (the "hope" in "I hope" beside
a redacted "Hope House"). Leaks name a time and a type, never the words.

Pure: words, times and plans in, windows, leaks and ranges out. No audio, no model.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from diaryroom.domain.redaction import PLACEHOLDERS, Redaction, TimedWord, join_words
from diaryroom.pii.runs import DIGIT_WORDS, REPEATS, WORD_JOINERS, number_runs, with_joiners
from diaryroom.pii.spoken import pieces

MARGIN = 0.6  # s listened to either side of each hidden range
GAP = 0.5  # s of silence between two windows in the listening file
SQUEEZE = 0.25  # s of silence standing for a hidden range there
STEP = 0.25  # s of tone laid past the edge of a word still heard
BUDGET = 1.0  # s a hidden range may grow on either side, at most
RUN_CHARS = 4  # digits (or letters and digits, one a digit at least) in a row: heard
MIN_LETTERS = 3  # shorter words are never a leak
SIMILAR = 0.8  # difflib ratio from which two spellings are one word ("kowalsky")
SOUND_SIMILAR = 0.6  # ... enough when they also sound alike ("okaffer" for "okafor")
PART = 0.5  # share of a word that, heard inside it, is the word ("chest", "kowal")
# Words too common to tell anyone anything, whatever was redacted beside them; written
# as words are compared, lower case without apostrophes ("dont"). Not "will", "may",
# "hope": they are names too, and a kept one beside the redaction is excused anyway.
STOP_WORDS = frozenset("""
    the and but for nor not yet you your yours are was were been being has have had
    his her hers him she they them their theirs there then than that this these those
    what when where which who whom whose why how all any can could would should shall
    might must just like yeah yes okay into onto from with about over under out off
    our ours its ive ill youre youve weve theyre dont didnt doesnt cant wont isnt wasnt
    did does get got going gone very really some much many more most also too one ones
    here said say says well now only even still again because before after while
    wheres theres thats whats lets gonna wanna kind sort mum dad thing things stuff
    something nothing anything everything
""".split()) | frozenset(DIGIT_WORDS) | frozenset(REPEATS) | frozenset(WORD_JOINERS)
_LETTERS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Window:
    """Seconds ``start..end`` of the recording listened to again, and the redactions
    (indices into the plan) whose words lie in it."""

    start: float
    end: float
    redactions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Leak:
    """Redaction ``redaction`` (an index into the plan) heard at ``start..end`` seconds,
    in window ``window``; ``how``: word | spelling | digits. No words, ever."""

    window: int
    redaction: int
    type: str
    start: float
    end: float
    how: str

    @property
    def place(self) -> str:
        """Where, for staff: ``12.3 s [PLACE]``."""
        return f"{self.start:.1f} s {PLACEHOLDERS[self.type]}"


def listening_windows(words: Sequence[TimedWord], plan: Sequence[Redaction],
                      hidden: Sequence[tuple[float, float]], *, duration: float,
                      margin: float = MARGIN) -> list[Window]:
    """Each hidden range with ``margin`` seconds either side, merged where they overlap,
    clipped to the recording; with the redactions whose words each one holds.

    >>> ws = [TimedWord(0, .4, " hi"), TimedWord(.5, .9, " Ann"), TimedWord(1, 1.3, " Lee"),
    ...       TimedWord(4, 4.5, " Leeds")]
    >>> plan = [Redaction(1, 1, "NAME"), Redaction(2, 2, "NAME"), Redaction(3, 3, "PLACE")]
    >>> listening_windows(ws, plan, [(.4, 1.0), (.9, 1.4), (3.9, 4.6)], duration=5, margin=.6)
    [Window(start=0.0, end=2.0, redactions=(0, 1)), Window(start=3.3, end=5.0, redactions=(2,))]
    """
    end_of = float(duration) if duration > 0 else float("inf")
    spans: list[list[float]] = []
    for start, end in sorted(hidden):
        a, b = max(0.0, start - margin), min(end_of, end + margin)
        if spans and a <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    return [Window(round(a, 3), round(b, 3), tuple(
        i for i, r in enumerate(plan) if _overlaps((a, b), _said(words, r))))
        for a, b in spans]


def unhidden(window: Window, hidden: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The stretches of ``window`` outside every hidden range: all there is to hear in
    it (inside a range there is only the tone, by construction).

    >>> unhidden(Window(1.0, 4.0, (0,)), [(0.5, 1.5), (2.0, 2.5), (6.0, 7.0)])
    [(1.5, 2.0), (2.5, 4.0)]
    """
    out, at = [], window.start
    for start, end in sorted(hidden):
        if end <= at or start >= window.end:
            continue
        if start > at:
            out.append((round(at, 3), round(start, 3)))
        at = max(at, end)
    if at < window.end:
        out.append((round(at, 3), window.end))
    return out


@dataclass(frozen=True, slots=True)
class Placed:
    """Seconds ``start..end`` of the recording, played from ``offset`` seconds of the
    listening file; part of window ``window`` (an index)."""

    offset: float
    start: float
    end: float
    window: int


def arrange(windows: Sequence[Window], hidden: Sequence[tuple[float, float]], *,
            gap: float = GAP, squeeze: float = SQUEEZE) -> list[Placed]:
    """One listening file for all ``windows``: what each leaves unhidden, one stretch
    after another, ``squeeze`` seconds of silence where a hidden range was (the tone
    there says nothing and only costs Whisper time) and ``gap`` seconds between windows.

    >>> windows = [Window(1.0, 4.0, (0,)), Window(8.0, 9.0, (1,))]
    >>> [(p.offset, p.start, p.end, p.window)
    ...  for p in arrange(windows, [(2.0, 2.5)], gap=1, squeeze=.25)]
    [(0.0, 1.0, 2.0, 0), (1.25, 2.5, 4.0, 0), (3.75, 8.0, 9.0, 1)]
    """
    placed: list[Placed] = []
    offset = 0.0
    for k, window in enumerate(windows):
        for j, (start, end) in enumerate(unhidden(window, hidden)):
            offset += squeeze if j else 0.0
            placed.append(Placed(round(offset, 3), start, end, k))
            offset += end - start
        offset += gap
    return placed


def split_heard(heard: Sequence[TimedWord], placed: Sequence[Placed], windows: int
                ) -> list[list[TimedWord]]:
    """What Whisper heard in the listening file (laid out by :func:`arrange`) back to
    each of the ``windows``, with times in the recording's seconds. A word goes to the
    stretch that holds its middle, else (in a silence between) to the nearest one.

    >>> placed = [Placed(0.0, 3.0, 5.0, 0), Placed(3.0, 10.0, 11.0, 1)]
    >>> split_heard([TimedWord(0.5, 1.0, " Ann"), TimedWord(3.2, 3.6, " Leeds")], placed, 2)
    [[TimedWord(start=3.5, end=4.0, text=' Ann')], [TimedWord(start=10.2, end=10.6, text=' Leeds')]]
    """
    def distance(p: Placed, middle: float) -> float:
        return max(p.offset - middle, middle - (p.offset + p.end - p.start), 0.0)

    out: list[list[TimedWord]] = [[] for _ in range(windows)]
    for word in heard:
        middle = (word.start + word.end) / 2
        p = min(placed, key=lambda p: distance(p, middle))
        shift = p.start - p.offset
        start = min(max(word.start + shift, p.start), p.end)
        end = min(max(word.end + shift, start), p.end)
        out[p.window].append(TimedWord(round(start, 3), round(end, 3), word.text))
    return out


def find_leaks(windows: Sequence[Window], heard: Sequence[Sequence[TimedWord]],
               words: Sequence[TimedWord], plan: Sequence[Redaction]) -> list[Leak]:
    """Every redaction still heard in its window (``heard``: each window's words, in the
    recording's seconds, from :func:`split_heard`)."""
    leaks: list[Leak] = []
    for k, (window, said) in enumerate(zip(windows, heard, strict=True)):
        kept = _kept_stretches(words, plan, window)
        kept_keys = {key for stretch in kept for key in _keys(stretch)}
        kept_runs = {run for stretch in kept for run, _, _ in _runs(stretch)}
        texts = [w.text for w in said]
        for index in window.redactions:
            r = plan[index]
            secret = [w.text for w in words[r.first:r.last + 1]]
            keys, runs = set(_keys(secret)), {run for run, _, _ in _runs(secret)}
            for first, last, how in _heard(texts, keys, runs, kept_keys, kept_runs):
                leaks.append(Leak(k, index, r.type, said[first].start, said[last].end, how))
    return leaks


def widen(hidden: Sequence[tuple[float, float]], leaks: Sequence[Leak], *, duration: float,
          step: float = STEP, budget: float = BUDGET) -> list[tuple[float, float]]:
    """The hidden ranges grown over what was still heard: the range nearest each leak is
    stretched toward it, ``step`` seconds past the heard word, never more than ``budget``
    seconds on a side. A word heard "inside" the tone (Whisper's times in a short window
    are rough too) grows its range ``step`` both ways. Sorted, merged, clipped.

    >>> leak = Leak(0, 0, "PLACE", 1.0, 1.5, "word")        # heard before the tone
    >>> widen([(1.6, 2.2), (5.0, 5.5)], [leak], duration=9)
    [(0.75, 2.2), (5.0, 5.5)]
    >>> widen([(1.6, 2.2)], [leak], duration=9, budget=0.0)  # nothing may grow
    [(1.6, 2.2)]
    """
    grown = [list(r) for r in hidden]
    for leak in leaks:
        if not hidden:
            break
        k = min(range(len(hidden)), key=lambda i: _distance(hidden[i], leak))
        s0, e0 = hidden[k]
        lo, hi = leak.start - step, leak.end + step
        if leak.start >= s0 and leak.end <= e0:
            lo, hi = s0 - step, e0 + step
        grown[k][0] = min(grown[k][0], max(lo, s0 - budget))
        grown[k][1] = max(grown[k][1], min(hi, e0 + budget))
    end_of = float(duration) if duration > 0 else float("inf")
    out: list[tuple[float, float]] = []
    for start, end in sorted(grown):
        start, end = max(0.0, start), min(end_of, end)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return [(round(s, 3), round(e, 3)) for s, e in out]


def describe(leaks: Sequence[Leak]) -> str:
    """Where each leak was heard, for the reason staff read: times and types only.

    >>> describe([Leak(0, 2, "PHONE", 12.34, 13.0, "digits"), Leak(1, 5, "NAME", 40, 40.4, "word")])
    '12.3 s [PHONE], 40.0 s [NAME]'
    """
    return ", ".join(dict.fromkeys(leak.place for leak in leaks))


def similar(heard: str, secret: str) -> bool:
    """Whether ``heard`` (a lower-case key) is ``secret`` as Whisper may write it: the
    same, a close spelling, a sound-alike, or half of it at least (the tone or the
    window's edge cut the rest: "chest" of "manchester").

    >>> [similar(h, "kowalski") for h in ("kowalski", "kowalsky", "kowal", "walk", "colours")]
    [True, True, True, False, False]
    >>> similar("okaffer", "okafor"), similar("brighter", "brighton")
    (True, False)
    """
    if heard == secret:
        return True
    ratio = SequenceMatcher(None, heard, secret).ratio()
    if ratio >= SIMILAR:
        return True
    if ratio >= SOUND_SIMILAR and len(sound := sound_key(heard)) >= 2 \
            and sound == sound_key(secret):
        return True
    return len(heard) >= 4 and len(heard) >= PART * len(secret) and heard in secret


def sound_key(word: str) -> str:
    """A rough English sound key, so spellings Whisper swaps meet: consonants folded by
    place (b/p, d/t, g/k/c/q, v/f, s/z), vowels and h, w, y dropped after the first
    letter, repeats collapsed.

    >>> sound_key("okafor"), sound_key("okaffer"), sound_key("phillips"), sound_key("filips")
    ('AKFR', 'AKFR', 'FLPS', 'FLPS')
    """
    w = re.sub(r"[^a-z]", "", word.lower())
    for old, new in (("ph", "f"), ("gh", ""), ("ck", "k"), ("qu", "kw"), ("x", "ks"),
                     ("tch", "ch"), ("dg", "j")):
        w = w.replace(old, new)
    w = re.sub(r"c(?=[eiy])", "s", w)
    w = w.translate(str.maketrans("bdgcqvz", "ptkkkfs"))
    if not w:
        return ""
    head = "A" if w[0] in "aeiouy" else w[0].upper()
    out = head
    for c in w[1:]:
        if c in "aeiouyhw":
            continue
        if c.upper() != out[-1]:
            out += c.upper()
    return out


# -- what a window holds -----------------------------------------------------------------


def _said(words: Sequence[TimedWord], r: Redaction) -> tuple[float, float]:
    return words[r.first].start, words[r.last].end


def _overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _distance(span: tuple[float, float], leak: Leak) -> float:
    return max(span[0] - leak.end, leak.start - span[1], 0.0)


def _kept_stretches(words: Sequence[TimedWord], plan: Sequence[Redaction],
                    window: Window) -> list[list[str]]:
    """The window's words left in the shared audio, in unbroken stretches."""
    covered = {i for r in plan for i in range(r.first, r.last + 1)}
    stretches: list[list[str]] = [[]]
    for i, w in enumerate(words):
        if i in covered or not _overlaps((window.start, window.end), (w.start, w.end)):
            if stretches[-1]:
                stretches.append([])
            continue
        stretches[-1].append(w.text)
    return [s for s in stretches if s]


def _key(token: str) -> str:
    key = re.sub(r"['’]s$", "", token.lower())
    return re.sub(r"['’]", "", key)


def _is_key(key: str) -> bool:
    return len(key) >= MIN_LETTERS and key not in STOP_WORDS


def _keys(texts: Sequence[str]) -> list[str]:
    """The words worth listening for in ``texts``, and all of them run together."""
    keys = [_key(m.group()) for t in texts for m in _LETTERS.finditer(t)]
    keys = [k for k in keys if _is_key(k)]
    return keys + (["".join(keys)] if len(keys) > 1 else [])


def _runs(texts: Sequence[str]) -> list[tuple[str, int, int]]:
    """Every :data:`RUN_CHARS` characters in a row (a digit among them) that ``texts``
    say, with the first and last text saying them: from digit runs however joined
    ("0161 to 496, 018"; "to" also read as a 2) and from spoken or spelt pieces ("oh
    seven", "em one one ay ee", "C17 PB")."""
    out: list[tuple[str, int, int]] = []
    text, offsets = join_words(texts)

    def texts_of(start: int, end: int) -> tuple[int, int]:
        hit = [k for k, (a, b) in enumerate(offsets) if a < end and start < b]
        return hit[0], hit[-1]

    for run in number_runs(text):
        joined = with_joiners(text[run.start:run.end])
        first, last = texts_of(run.start, run.end)
        out += [(g, first, last) for said in {run.digits, joined} for g in _grams(said)]
    tokens = [(m.group(), k) for k, (a, b) in enumerate(offsets)
              for m in _TOKEN.finditer(text[a:b])]
    stretch: list[tuple[str, int, int]] = []
    for piece in [*pieces([t for t, _ in tokens]), None]:
        if piece is not None and not piece.quantity:
            stretch.append((piece.text.upper(), tokens[piece.first][1], tokens[piece.last][1]))
            continue
        if stretch:
            said = "".join(t for t, _, _ in stretch)
            out += [(g, stretch[0][1], stretch[-1][2]) for g in _grams(said)]
            stretch = []
    return out


def _grams(said: str) -> list[str]:
    grams = (said[i:i + RUN_CHARS] for i in range(len(said) - RUN_CHARS + 1))
    return [g for g in grams if any(c.isdigit() for c in g)]


def _heard(texts: Sequence[str], keys: set[str], runs: set[str], kept_keys: set[str],
           kept_runs: set[str]) -> list[tuple[int, int, str]]:
    """Which of the heard ``texts`` say the secret: ``(first, last, how)`` each."""
    found: list[tuple[int, int, str]] = []
    if keys:
        words = [(_key(m.group()), k) for k, t in enumerate(texts)
                 for m in _LETTERS.finditer(t)]
        pairs = [(a + b, k, j) for (a, k), (b, j) in zip(words, words[1:], strict=False)]
        for key, first, last in [(key, k, k) for key, k in words] + pairs:
            if not _is_key(key) or any(similar(key, kept) for kept in kept_keys) \
                    or any(a <= last and first <= b for a, b, _ in found):
                continue  # a pair is looked at only when neither half was heard alone
            if key in keys:
                found.append((first, last, "word"))
            elif any(similar(key, secret) for secret in keys):
                found.append((first, last, "spelling"))
    if runs:
        found += [(first, last, "digits") for run, first, last in _runs(texts)
                  if run in runs and run not in kept_runs]
    return sorted(set(found))
