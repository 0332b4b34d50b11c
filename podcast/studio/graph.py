"""The edit list as ffmpeg filter graphs: one input per clip, read the safe way, and
the graph that cuts, fades, gains and joins a few clips into ``[mix]`` at 44.1 kHz mono.

The render runs one such graph per group of clips (``render.GROUP_CLIPS``), never one for
the whole episode: a graph's memory and its per-frame cost grow with its clips.
Kept apart from ``render`` (which runs the passes over it) so that each reads in one
sitting; nothing here starts a process but the probes of the sources.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from diaryroom.errors import MediaError
from diaryroom.media import tools
from diaryroom.media.decode import open_recording
from diaryroom.media.probe import MediaInfo

from .plan import Clip, PlanError, RenderPlan

RATE = 44_100  # Hz: the episode's rate (and the MP3's)
FADE_S = 0.005  # s: fade at each edge of a kept stretch; shorter than a phoneme
FRAME_SAMPLES = 16_384  # samples per frame in the graph (0.37 s; see clip_graph)
PROBES_AT_ONCE = 4  # ffprobes at a time
SOURCE_SLACK_S = 1.0  # s: how far a stretch may run past a file's stated length


def inputs(plan: RenderPlan, remaining: Callable[[], float]) -> list[list[str]]:
    """ffmpeg input arguments for each clip, each read with the demuxer its probe found
    and nothing else. A source that is not audio is refused here, by part number."""
    sources = list(dict.fromkeys(Path(clip.source) for clip in plan.clips))

    def probe(source: Path) -> MediaInfo | MediaError:
        try:
            return open_recording(source)
        except tools.MediaTimeout:
            raise
        except MediaError as e:
            return e

    # ffprobe is mostly its start-up (~0.15 s): a few at once, for episodes of many parts.
    with ThreadPoolExecutor(max_workers=PROBES_AT_ONCE) as pool:
        probed = dict(zip(sources, pool.map(probe, sources), strict=True))
    remaining()
    args: list[list[str]] = []
    for n, clip in enumerate(plan.clips, start=1):
        source = Path(clip.source)
        if isinstance(probed[source], MediaError):
            raise MediaError(f"Part {n} could not be read: {probed[source]}") \
                from probed[source]
        info = probed[source]
        if not info.has_audio:
            raise MediaError(f"Part {n} could not be read: it has no sound track")
        last = max(end for _, end in clip.ranges)
        stated = info.duration
        if stated and last > stated * 1.01 + SOURCE_SLACK_S:
            raise PlanError(f"Part {n} asks for sound up to {last:.1f} s, but its "
                            f"recording is only {stated:.1f} s long.")
        # Decode no further than needed (a long recording trimmed to its first minute).
        stop = ["-t", f"{last + SOURCE_SLACK_S:.3f}"] if not stated or \
            last + SOURCE_SLACK_S < stated else []
        args.append([*stop, *tools.reading(source, info.demuxer)])
    return args


def _samples(seconds: float) -> int:
    return round(seconds * RATE)


def clip_samples(clip: Clip) -> int:
    """A clip's length in samples, as its graph cuts it (each stretch rounded alone)."""
    return sum(max(0, _samples(e) - _samples(s)) for s, e in clip.ranges)


def overlap_samples(clip: Clip) -> int:
    """How many samples a clip overlaps the one before it."""
    return _samples(clip.crossfade)


def clip_graph(plan: RenderPlan) -> str:
    """The filter graph from the inputs (one per clip, in order) to ``[mix]``: exactly
    ``sum(clip_samples) - sum(overlap_samples)`` samples long (the first clip's own
    crossfade, into whatever came before, is left to the caller).

    Positions are counted in samples after ``asetpts=N/SR/TB``, so a stretch starts and
    ends on the sample a word's time names, whatever the source's own timestamps (an
    MP3's encoder delay, a WebM starting late). A clip its source cannot fill is padded
    with silence at its end, so the episode's timeline never shifts.

    ffmpeg looks through every filter of the graph each time it moves a frame, so a
    graph costs (clips x frames): each clip has as few filters as will do, and its
    audio moves in frames of ``FRAME_SAMPLES`` (one graph of two hours in 146 clips:
    23 s of CPU for the graph alone with the decoders' own frames, 10 s with these).
    Memory grows with the clips too, not with their length: about 0.8 MB a clip. Hence
    the render's graphs of a few clips each.
    """
    fade = _samples(FADE_S)
    lines: list[str] = []
    lengths: list[int] = []
    for i, clip in enumerate(plan.clips):
        spans = [(a, b) for a, b in ((_samples(s), _samples(e)) for s, e in clip.ranges)
                 if b > a]
        if not spans:
            raise PlanError(f"Part {i + 1} has nothing left in it after the cuts.")
        n = sum(b - a for a, b in spans)
        lengths.append(n)
        head = (f"[{i}:a:0]aresample={RATE},aformat=sample_fmts=flt:channel_layouts=mono,"
                f"asetnsamples=n={FRAME_SAMPLES}:p=0,asetpts=N/SR/TB")
        # Fades by the source's own sample numbers: no timestamps reset in between.
        pieces = [f"atrim=start_sample={a}:end_sample={b},afade=t=in:ss={a}:ns={f},"
                  f"afade=t=out:ss={b - f}:ns={f}"
                  for a, b, f in ((a, b, min(fade, (b - a) // 2)) for a, b in spans)]
        tail = f"asetpts=N/SR/TB,apad=whole_len={n},volume={clip.gain_db:.3f}dB[c{i}]"
        if len(pieces) == 1:
            lines.append(f"{head},{pieces[0]},{tail}")
            continue
        labels = "".join(f"[c{i}s{k}]" for k in range(len(pieces)))
        lines.append(f"{head},asplit={len(pieces)}{labels}")
        lines += [f"[c{i}s{k}]{piece}[c{i}r{k}]" for k, piece in enumerate(pieces)]
        kept = "".join(f"[c{i}r{k}]" for k in range(len(pieces)))
        lines.append(f"{kept}concat=n={len(pieces)}:v=0:a=1,{tail}")
    lines += _joins(plan, lengths)
    return ";\n".join(lines)


def _joins(plan: RenderPlan, lengths: Sequence[int]) -> list[str]:
    """The clips end to end in one ``concat``; where two overlap, the first one's tail
    and the second one's head go through an equal-power ``acrossfade`` (its output is
    exactly the overlap long) placed between them.

    Not a chain of ``acrossfade``s: each one copies everything that passes through it,
    so in a chain the first clip would be copied once per crossfade after it (measured:
    CPU growing with the square of the length, 13 s instead of 4 for an hour).
    """
    overlaps = [overlap_samples(clip) for clip in plan.clips[1:]] + [0]
    lines: list[str] = []
    order: list[str] = []
    for i, n in enumerate(lengths):
        head = overlaps[i - 1] if i else 0
        tail = overlaps[i]
        if not head and not tail:
            order.append(f"[c{i}]")
            continue
        body = n - head - tail > 0  # none when two crossfades take all of it
        parts = [(f"h{i}", f"end_sample={head}")] if head else []
        parts += [(f"b{i}", f"start_sample={head}:end_sample={n - tail}")] if body else []
        parts += [(f"t{i}", f"start_sample={n - tail}")] if tail else []
        order += ([f"[x{i}]"] if head else []) + ([f"[b{i}]"] if body else [])
        labels = "".join(f"[c{i}p{k}]" for k in range(len(parts)))
        lines.append(f"[c{i}]asplit={len(parts)}{labels}")
        lines += [f"[c{i}p{k}]atrim={where}[{name}]" for k, (name, where) in enumerate(parts)]
        if head:
            lines.append(f"[t{i - 1}][h{i}]acrossfade=ns={head}:c1=qsin:c2=qsin[x{i}]")
    lines.append(f"{''.join(order)}concat=n={len(order)}:v=0:a=1,asetpts=N/SR/TB[mix]")
    return lines
