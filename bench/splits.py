"""The frozen split: which items of a set recognisers may be tuned against, and which
they never are.

From issue 12 on, the UK set's ``test`` half and Presidio's ``test`` part are for
reporting only: when a recogniser, word list or threshold is changed, it is judged on the
``tune`` part, and the ``test`` part is run once, after, to report. The split is by a hash
of the item's ID, so adding utterances never moves an existing one between parts.
"""
from __future__ import annotations

import hashlib
import math

TUNE, TEST = "tune", "test"


def split_of(item_id: str | int, *, test_share: float = 0.5) -> str:
    """``"test"`` for about ``test_share`` of IDs, ``"tune"`` for the rest, forever.

    >>> split_of("u001"), split_of("u002")
    ('test', 'tune')
    """
    digest = hashlib.sha256(f"diaryroom-eval:{item_id}".encode()).digest()
    return TEST if int.from_bytes(digest[:8], "big") / 2**64 < test_share else TUNE


def wilson(hits: int, total: int, *, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval (95 % by default) for ``hits`` of ``total``; it stays
    inside [0, 1] and is honest at 0 and at 100 %, where the normal one is not.

    >>> wilson(20, 20)
    (0.839, 1.0)
    >>> wilson(0, 0) is None
    True
    """
    if total <= 0:
        return None
    p = hits / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)
