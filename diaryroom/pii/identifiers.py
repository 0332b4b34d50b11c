"""Structured identifiers, written or spoken: phone, NHS and NI numbers, postcodes, and any
long run of digits.

One pass finds runs of words that could be part of an identifier (digits, number words,
single letters, "double"...) in the original text, reads each run into pieces with
:func:`diaryroom.pii.spoken.pieces`, validates what every sub-run of whole pieces says, and
keeps the best from each start. Spans are over the original words, so offsets need no
mapping.

What is reported, most specific first:

- ``PHONE``: a UK number (``phonenumbers`` says valid, or a possible 11-digit UK number:
  Ofcom's drama range 07700 900xxx is "possible" only), or ``00``/``44``-prefixed;
- ``NHS_NUMBER``: ten digits passing the modulus-11 check (failing: ``NUMBER``);
- ``NI_NUMBER``: two letters, six digits, A-D, with HMRC's prefix rules (a shape that
  breaks them, such as the "QQ 12 34 56 C" example HMRC prints, is still ``NUMBER``);
- ``POSTCODE``: a full UK postcode ("SW1A 1AA", "m one one a e");
- ``NUMBER``: six or more digits, unless a quantity ("two hundred thousand", "£250,000",
  "150000 pounds") or years side by side ("2019 2020").
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

import phonenumbers
from phonenumbers import NumberParseException

from diaryroom.domain.redaction import Span
from diaryroom.pii.spoken import Piece, is_readable, pieces, read

MIN_DIGITS = 6  # a run this long is redacted even when we cannot say what it is
MAX_RUN = 24  # words; the longest spoken identifier is well under this
SCORE = {"PHONE": 0.9, "NHS_NUMBER": 0.95, "NI_NUMBER": 0.9, "POSTCODE": 0.85, "NUMBER": 0.6}

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")  # "it's" is one word, not "it" and "s"
_JOINER = re.compile(r"[\s,.()\-+–]{1,4}")
# Dates are not identifiers (a date of birth is found by its context elsewhere). Hyphens
# only with a four-digit year, so a sort code "20-00-00" is still a number.
_DATE = re.compile(r"\b(?:0?[1-9]|[12]\d|3[01])\s?"
                   r"(?:([/.])\s?(?:0?[1-9]|1[0-2])\s?\1\s?(?:\d{4}|\d{2})|-(?:0?[1-9]|1[0-2])-\d{4})\b")
_MONEY_AFTER = frozenset(
    "pounds pound quid pence p grand k euros euro dollars dollar percent per".split())
_NEXT_WORD = re.compile(r"\s*([^\W_]+)")
_YEAR = re.compile(r"(?:19|20)\d\d")
_NINO = re.compile(r"[A-Z]{2}\d{6}[A-D]")
_NINO_BAD_FIRST, _NINO_BAD_SECOND = set("DFIQUV"), set("DFIQUVO")
_NINO_BAD_PREFIX = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
_POSTCODE = re.compile(
    r"GIR0AA|(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])[0-9][ABD-HJLNP-UW-Z]{2}")


def nhs_checksum_ok(digits: str) -> bool:
    """The NHS number modulus-11 check.

    >>> nhs_checksum_ok("9434765919"), nhs_checksum_ok("9434765918")
    (True, False)
    """
    if len(digits) != 10 or not digits.isdigit():
        return False
    check = 11 - sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def is_nino(text: str) -> bool:
    """A National Insurance number HMRC could issue (prefix rules included).

    >>> is_nino("AB123456C"), is_nino("QQ123456C"), is_nino("GB123456A")
    (True, False, False)
    """
    return bool(_NINO.fullmatch(text)) and text[0] not in _NINO_BAD_FIRST \
        and text[1] not in _NINO_BAD_SECOND and text[:2] not in _NINO_BAD_PREFIX


def is_postcode(text: str) -> bool:
    """A full UK postcode, written without its space.

    >>> is_postcode("SW1A1AA"), is_postcode("M11AE"), is_postcode("M11"), is_postcode("QQ11AA")
    (True, True, False, False)
    """
    return bool(_POSTCODE.fullmatch(text))


def is_uk_phone(digits: str) -> bool:
    """A UK phone number (or an international one written with 00 or 44).

    >>> is_uk_phone("07700900123"), is_uk_phone("02079460018"), is_uk_phone("9434765919")
    (True, True, False)
    """
    if digits.startswith("00"):
        candidate = "+" + digits[2:]
    elif digits.startswith("44") and len(digits) == 12:
        candidate = "+" + digits
    elif digits.startswith("0"):
        candidate = digits
    else:
        return False
    try:
        number = phonenumbers.parse(candidate, "GB")
    except NumberParseException:
        return False
    if phonenumbers.is_valid_number(number):
        return True
    return number.country_code == 44 and len(str(number.national_number)) == 10 \
        and phonenumbers.is_possible_number(number)


def classify(words: list[str]) -> str | None:
    """Our type for what ``words`` say, or ``None`` if it is no identifier.

    >>> classify("nine four three four seven six five nine one nine".split())
    'NHS_NUMBER'
    >>> classify(["five", "hundred"]), classify("q q one two three four five six c".split())
    (None, 'NUMBER')
    """
    reading = read(words)
    if reading is None or reading.quantity:
        return None
    return kind_of(reading.text, one_word=len(words) == 1)


def kind_of(text: str, *, one_word: bool = False) -> str | None:
    """Our type for an identifier read as ``text`` (digits and capitals), or ``None``."""
    if text.isdigit():
        if is_uk_phone(text):
            return "PHONE"
        if nhs_checksum_ok(text):
            return "NHS_NUMBER"
        return "NUMBER" if len(text) >= MIN_DIGITS else None
    if _NINO.fullmatch(text):
        return "NI_NUMBER" if is_nino(text) else "NUMBER"
    if is_postcode(text):
        return "POSTCODE"
    if one_word and sum(c.isdigit() for c in text) >= MIN_DIGITS:
        return "NUMBER"  # one written token such as a passport number, "AB1234567"
    return None


def find_identifiers(text: str, *, spoken: bool = True) -> list[Span]:
    """Every identifier in ``text``. With ``spoken=False`` (text not in English) only
    digits and capital letters count, since number words are English.

    >>> t = "ring me on oh seven seven double oh nine hundred one two three ta"
    >>> [(t[s.start:s.end], s.type) for s in find_identifiers(t)]
    [('oh seven seven double oh nine hundred one two three', 'PHONE')]
    """
    spans: list[Span] = []
    for run in _runs(text, spoken):
        for chain in _chains(pieces([w for _, _, w in run])):
            a = 0
            while a < len(chain):
                found = _best_from(text, run, chain, a)
                if found is None:
                    a += 1
                    continue
                b, kind = found
                start, end = run[chain[a].first][0], run[chain[b - 1].last][1]
                a = b
                if kind is None:
                    continue
                if kind == "PHONE" and start and text[start - 1] in "+(":
                    start -= 1
                spans.append(Span(start, end, kind, SCORE[kind]))
    return spans


def _chains(found: list[Piece | None]) -> list[list[Piece]]:
    """Pieces split where a word is unreadable or a quantity is said."""
    chains: list[list[Piece]] = [[]]
    for piece in found:
        if piece is None or piece.quantity:
            chains.append([])
        else:
            chains[-1].append(piece)
    return [c for c in chains if c]


def _best_from(text: str, run: list[tuple[int, int, str]], chain: list[Piece], a: int
               ) -> tuple[int, str | None] | None:
    """What starts at piece ``a``, as ``(end piece, type)``: the longest specific
    identifier, else the longest digit run. A longest digit run that is money or years
    is consumed with type ``None``, so no shorter part of it is reported either. A
    specific identifier inside a longer digit run takes the whole run, as written digits
    do in the detector: a phone number read from eleven of twelve digits said ("oh five
    eight ... three oh") must not leave the twelfth audible."""
    number: tuple[int, str | None] | None = None
    for b in range(min(len(chain), a + MAX_RUN), a, -1):
        said = "".join(p.text for p in chain[a:b])
        kind = kind_of(said, one_word=chain[a].first == chain[b - 1].last)
        if kind == "NUMBER" and number is None:
            words = run[chain[a].first:chain[b - 1].last + 1]
            number = (b, None if _is_quantity(text, words, said) else kind)
        elif kind and kind != "NUMBER":
            longer = number is not None and number[1] == "NUMBER" and said.isdigit()
            return (number[0] if longer and number else b), kind
    return number


Word = tuple[int, int, str]  # characters [start, end) and the word itself


def word_runs(words: Iterable[re.Match], ok: Callable[[re.Match], bool],
              joins: Callable[[Word, Word], bool]) -> Iterator[list[Word]]:
    """Runs of consecutive ``ok`` words, split where ``joins(previous, next)`` says the
    gap between two of them does not join them."""
    run: list[Word] = []
    for m in words:
        word = (m.start(), m.end(), m.group())
        if not ok(m):
            if run:
                yield run
            run = []
            continue
        if run and not joins(run[-1], word):
            yield run
            run = []
        run.append(word)
    if run:
        yield run


def _runs(text: str, spoken: bool) -> Iterator[list[Word]]:
    """Runs of readable words joined only by spaces or light punctuation."""
    dates = [(m.start(), m.end()) for m in _DATE.finditer(text)]  # not identifiers
    readable = is_readable if spoken else _is_written_part

    def ok(m: re.Match) -> bool:
        return readable(m.group()) and not any(s <= m.start() < e for s, e in dates)

    yield from word_runs(_TOKEN.finditer(text), ok,
                         lambda left, right: _joins(text, left, right))


def _is_written_part(word: str) -> bool:
    """Digits, or one or two capital letters: what identifiers look like in any language."""
    return word.isascii() and (any(c.isdigit() for c in word) or (
        word.isalpha() and word.isupper() and len(word) <= 2))


def _joins(text: str, left: tuple[int, int, str], right: tuple[int, int, str]) -> bool:
    """Whether two readable words belong to one run: the gap is short and light, and is
    not a decimal point or a thousands comma between digits."""
    gap = text[left[1]:right[0]]
    if not _JOINER.fullmatch(gap):
        return False
    digits = left[2].isdigit() and right[2].isdigit()
    if digits and "." in gap:
        return False
    return not (digits and "," in gap and len(right[2]) == 3 and len(left[2]) <= 3)


def _is_quantity(text: str, run: list[tuple[int, int, str]], said: str) -> bool:
    """Money or years side by side, which are not identifiers even when long."""
    if text[max(0, run[0][0] - 3):run[0][0]].rstrip().endswith(("£", "$", "€")):
        return True
    after = _NEXT_WORD.match(text, run[-1][1])
    if after and after.group(1).lower() in _MONEY_AFTER:
        return True
    years = [said[k:k + 4] for k in range(0, len(said), 4)]
    return len(run) > 1 and len(said) % 4 == 0 and all(_YEAR.fullmatch(y) for y in years)
