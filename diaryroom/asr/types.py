"""Engine-neutral transcript dataclasses, stored as JSON beside each recording.

Times are seconds from the start of the original audio (not of the VAD-trimmed audio).
``text`` fields keep the engine's own spacing: Whisper puts a leading space before each
word and segment in space-separated languages and none in, say, Chinese, so joining the
raw pieces with ``""`` is correct for every language.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Word:
    start: float  # seconds
    end: float  # seconds
    text: str
    probability: float  # 0..1, the model's confidence in this word

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text,
                "probability": self.probability}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Word:
        return cls(start=float(data["start"]), end=float(data["end"]), text=str(data["text"]),
                   probability=float(data["probability"]))


@dataclass(frozen=True, slots=True)
class Segment:
    start: float  # seconds
    end: float  # seconds
    text: str
    words: tuple[Word, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text,
                "words": [w.to_dict() for w in self.words]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Segment:
        return cls(start=float(data["start"]), end=float(data["end"]), text=str(data["text"]),
                   words=tuple(Word.from_dict(w) for w in data.get("words") or ()))


@dataclass(frozen=True, slots=True)
class Transcript:
    language: str  # ISO 639-1 code as Whisper reports it, e.g. "en"
    language_probability: float  # 0..1; 1.0 when the language was given, not detected
    duration: float  # seconds of audio decoded (before any VAD trimming)
    segments: tuple[Segment, ...] = ()

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments).strip()

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable data (only str, float and lists/dicts of them)."""
        return {
            "language": self.language,
            "language_probability": self.language_probability,
            "duration": self.duration,
            "segments": [s.to_dict() for s in self.segments],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transcript:
        return cls(
            language=str(data["language"]),
            language_probability=float(data["language_probability"]),
            duration=float(data["duration"]),
            segments=tuple(Segment.from_dict(s) for s in data.get("segments") or ()),
        )
