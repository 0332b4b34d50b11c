"""What a render is asked to make, as plain data: the contract between the edit list
(``edits.py``, pure) and the render engine (``render.py``, ffmpeg).

An episode is clips laid end to end. A clip is one source file with the stretches of it
that are kept (source seconds, in order, joined hard with a few milliseconds of fade so
no click is heard), a gain, and how many seconds it overlaps the clip before it (a
crossfade). The timeline is therefore exact arithmetic, which the transcript, chapters
and tests share with the renderer:

    clip i starts at  sum(duration[j] for j < i) - sum(crossfade[j] for j <= i)
    episode length =  sum(durations) - sum(crossfades)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MIN_RANGE_S = 0.02  # s: shorter kept stretches are dropped (a click, not a sound)


class PlanError(ValueError):
    """The edit list cannot be rendered as it is (the message says why, for people)."""


@dataclass(frozen=True)
class Clip:
    source: Path
    ranges: tuple[tuple[float, float], ...]  # kept stretches, source seconds, in order
    gain_db: float = 0.0
    crossfade: float = 0.0  # s overlapped with the previous clip (0 for the first)
    title: str = ""  # its chapter title ("" for no chapter of its own)
    chapter: bool = True  # music usually has none

    @property
    def duration(self) -> float:
        return sum(end - start for start, end in self.ranges)


@dataclass(frozen=True)
class RenderPlan:
    clips: tuple[Clip, ...]
    title: str = ""
    metadata: dict[str, str] = field(default_factory=dict)  # ID3: artist, album, date...

    def __post_init__(self) -> None:
        if not self.clips:
            raise PlanError("This episode has nothing in it to render yet.")
        for i, clip in enumerate(self.clips):
            if not clip.ranges or clip.duration <= 0:
                raise PlanError(f"Part {i + 1} has nothing left in it after the cuts.")
            if any(end - start < 0 or start < 0 for start, end in clip.ranges):
                raise PlanError(f"Part {i + 1} has a stretch that ends before it starts.")
            if clip.crossfade < 0 or (i == 0 and clip.crossfade):
                raise PlanError("Only a part after another can fade into it.")
            if i and clip.crossfade > min(clip.duration, self.clips[i - 1].duration) / 2:
                raise PlanError(f"The crossfade into part {i + 1} is longer than half of a "
                                "part it joins.")

    def starts(self) -> list[float]:
        """Each clip's start in the episode, seconds.

        >>> a, b = Clip(Path("a"), ((0, 4),)), Clip(Path("b"), ((1, 3), (5, 6)), crossfade=1)
        >>> p = RenderPlan((a, b))
        >>> p.starts(), p.duration
        ([0.0, 3.0], 6.0)
        """
        out, at = [], 0.0
        for clip in self.clips:
            at -= clip.crossfade
            out.append(at)
            at += clip.duration
        return out

    @property
    def duration(self) -> float:
        return sum(c.duration for c in self.clips) - sum(c.crossfade for c in self.clips)

    def to_episode_time(self, clip_index: int, source_seconds: float) -> float | None:
        """Where a moment of a clip's source is heard in the episode; None if it was cut.

        >>> a, b = Clip(Path("a"), ((0, 4),)), Clip(Path("b"), ((1, 3), (5, 6)), crossfade=1)
        >>> p = RenderPlan((a, b))
        >>> p.to_episode_time(1, 5.5), p.to_episode_time(1, 4.0)
        (5.5, None)
        """
        clip = self.clips[clip_index]
        at = self.starts()[clip_index]
        for start, end in clip.ranges:
            if start <= source_seconds <= end:
                return at + source_seconds - start
            at += end - start
        return None
