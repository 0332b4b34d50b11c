"""Personal-data detection on transcript text, built on Presidio and spaCy.

    detector = get_detector()      # loaded once per process (about a second); thread-safe
    spans = detector.detect(text, language="en",
                            local_names=[LocalName("Hope House", "PLACE")],
                            allow=["Diary Room"])

``spans`` are :class:`diaryroom.domain.redaction.Span` over ``text``, ready for
:func:`diaryroom.domain.redaction.plan_redactions`.

The detector's module (Presidio, spaCy: most of a second to import) is imported on first
use of its names, so code that only needs :class:`LocalName` stays light.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from diaryroom.pii.local import LocalName

if TYPE_CHECKING:
    from diaryroom.pii.engine import DEFAULT_SCORE_THRESHOLD, Detector, get_detector

__all__ = ["DEFAULT_SCORE_THRESHOLD", "Detector", "LocalName", "get_detector"]
_FROM_ENGINE = ("DEFAULT_SCORE_THRESHOLD", "Detector", "get_detector")


def __getattr__(name: str) -> Any:
    if name in _FROM_ENGINE:
        from diaryroom.pii import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
