"""Loudness for the episode render: what ebur128 printed, and the gain to try next.

Loudness is measured, never assumed. ffmpeg's ``loudnorm`` was tried first and dropped:
its linear mode gives way to its dynamic mode whenever the gain would push a peak over
the ceiling, which is nearly always for speech (peaks sit 12-18 dB above the loudness),
and the dynamic mode landed 0.7-4.5 LU under the target on espeak, a lecture and a
click track; its measuring pass also took 12 times as long as ``ebur128``'s. Instead:

    measure   the episode -> ebur128: integrated loudness and sample peak
    probe     only when the gain will drive peaks into the limiter: the episode teed
              into two gains -> limiter -> ebur128, so the loudness the limiter takes
              away is measured and the gain raised to make up for it
    render    the episode teed into two encoders, a core each: gain -> limiter (a
              sample-peak ceiling under -1 dBTP) -> MP3 | Opus, as ``.part`` files
    verify    each file decoded -> ebur128 with true peak. Off target (over 0.5 LU, or a
              true peak over -1 dBTP after the codec's overshoot): render again with the
              gain and ceiling corrected, at most twice. Renamed only when done.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from diaryroom.errors import MediaError
from diaryroom.media.tools import stderr_tail

TARGET_LUFS = -16.0  # LUFS integrated: spoken-word podcasts (Apple, Spotify)
LUFS_TOLERANCE = 0.5  # LU: within this of the target no second render is made
TRUE_PEAK_MAX = -1.0  # dBTP: the most either file may reach, measured after encoding
CEILING_DBFS = -2.0  # dBFS sample peak the limiter holds first; lowered if not enough
LOWEST_CEILING_DBFS = -6.0
MAX_GAIN_DB = 30.0  # dB: never lift a near-silent episode further (it would be noise)
PROBE_STEP_DB = 3.0  # dB between the two gains the probe tries
MAX_STEP_DB = 10.0  # dB: the most a guess moves past the gains measured
# dB: a limiter taking less off the peaks costs little loudness (measured: speech with
# its peaks limited by 5.4 dB lost 0.7 LU), and the check after the render catches it.
PROBE_WHEN_OVER_DB = 3.0
SILENCE_LUFS = -70.0  # ebur128's absolute gate: nothing measured above it
LIMITER = "alimiter=limit={limit:.6f}:attack=5:release=50:level=false:latency=1"


@dataclass(frozen=True)
class Loudness:
    lufs: float  # LUFS, SILENCE_LUFS or below when nothing is above the gate
    peak: float  # dBFS (sample or true peak, as asked); -inf for silence

    @property
    def silent(self) -> bool:
        return self.lufs <= SILENCE_LUFS



_SUMMARY = re.compile(r"\[ebur128@(\w+) @ [^\]]*\] Summary:(.*?)(?=^\[|\Z)", re.S | re.M)
_VALUE = r"{}:\s+(-?[\d.]+|-inf)"


def summaries(stderr: str) -> dict[str, Loudness]:
    """The loudness each named ebur128 meter printed when it closed."""
    found = {}
    for name, body in _SUMMARY.findall(stderr):
        lufs = re.search(_VALUE.format("I"), body)
        peak = re.search(_VALUE.format("Peak"), body)
        if lufs:  # a peak only where the meter was asked for one
            found[name] = Loudness(float(lufs.group(1)),
                                   float(peak.group(1)) if peak else -math.inf)
    if not found:
        raise MediaError("the episode's loudness could not be measured: "
                         f"{stderr_tail(stderr.encode())}")
    return found


def next_gain(tried: Sequence[tuple[float, float]], target: float = TARGET_LUFS) -> float:
    """The gain to try next, from ``(gain, loudness)`` pairs already measured.

    With the limiter acting, loudness is not gain plus a constant: a louder gain pushes
    more of the peaks into it (a click track's loudness barely moves until its clicks
    are flattened, then climbs dB for dB). So: between the closest pair on either side
    of the target when there is one; else along the line through the two closest (at a
    slope of at least 0.2), by at most ``MAX_STEP_DB`` past them.

    >>> next_gain([(6.0, -17.0)])
    7.0
    >>> next_gain([(7.2, -28.5), (10.2, -27.4)])
    20.2
    >>> next_gain([(10.2, -27.4), (20.2, -19.0), (30.0, -11.6)])
    24.17
    """
    below = [p for p in tried if p[1] < target]
    above = [p for p in tried if p[1] >= target]
    if below and above:
        (g0, f0), (g1, f1) = max(below, key=lambda p: p[1]), min(above, key=lambda p: p[1])
        return round(g0 + (g1 - g0) * (target - f0) / (f1 - f0), 2) if f1 != f0 else g0
    near = sorted(tried, key=lambda p: abs(p[1] - target))[:2]
    (g0, f0) = near[0]
    slope = 1.0
    if len(near) == 2 and near[1][0] != g0:
        slope = min(1.0, max(0.2, (f0 - near[1][1]) / (g0 - near[1][0])))
    step = max(-MAX_STEP_DB, min(MAX_STEP_DB, (target - f0) / slope))
    return round(min(g0 + step, MAX_GAIN_DB), 2)


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def limiter(ceiling_dbfs: float) -> str:
    return LIMITER.format(limit=10 ** (ceiling_dbfs / 20))

