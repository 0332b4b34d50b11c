"""Voice disguise: an ffmpeg audio filter that moves pitch and formants, not timing.

What it does and does not do, honestly: shifting the voice down by ``DISGUISE_SEMITONES``
with the formants (the resonances of the throat and mouth) moved along makes a speaker
noticeably harder to recognise for a casual listener while every word stays clear. It
*reduces* recognisability; it does not remove it. Accent, wording, rhythm and what is
said are untouched, someone who knows the person well may still recognise them, and a
determined listener could partly undo a known fixed shift. Treat it as one layer of
protection, alongside redaction and the person's own choices about what to share.

How: ``asetrate`` replays the samples at a lower rate (pitch and formants fall together,
the recording gets longer), ``aresample`` returns to the working rate, and ``atempo``
(WSOLA time-scaling) brings the duration back by exactly the same factor. Duration and
word timing are kept, so Whisper's word timestamps still line up with the disguised
audio: measured on voiced bursts at 24 kHz, onsets move up to ~20 ms earlier and ends
up to ~10 ms later (the WSOLA window smears them), with no drift over a minute; the pad
(120 ms) covers that. atempo may also drop up to ~30 ms of trailing silence at the very
end; ``render.load_samples`` locks the output to the input's length, to the sample.
It costs ~0.05 s of CPU per minute of audio at 24 kHz.

The alternative, ``rubberband`` (``formant="preserved"`` here: pitch moves, timbre
stays), sounds more natural but disguises less (listeners know a voice by its timbre as
much as by its pitch) and costs ~10x more CPU (0.5 s per minute at 24 kHz, 1 s at 48 kHz),
which the pipeline's time budget does not allow by default.
"""
from __future__ import annotations

DISGUISE_SEMITONES = -4.0  # semitones: ~21% lower; clearly a different voice, still clear
WORK_RATE = 24_000  # Hz: the rate disguise and rendering run at (speech needs < 12 kHz)
FORMANTS = ("shifted", "preserved")


def disguise_filter(*, sample_rate: int = WORK_RATE, pitch_semitones: float = DISGUISE_SEMITONES,
                    formant: str = "shifted") -> str:
    """The ffmpeg ``-af`` filter chain that disguises a voice at ``sample_rate`` (Hz).

    ``formant="shifted"`` moves pitch and formants together (fast, the stronger disguise);
    ``"preserved"`` moves only the pitch with rubberband (slower, weaker). Neither changes
    the duration.

    >>> disguise_filter(sample_rate=24000, pitch_semitones=-4)
    'aresample=24000,asetrate=19049,aresample=24000,atempo=1.25990866'
    """
    if formant not in FORMANTS:
        raise ValueError(f"unknown formant handling {formant!r}: use one of {FORMANTS}")
    if not -12 <= pitch_semitones <= 12:
        raise ValueError("a pitch shift beyond an octave would make speech unintelligible")
    ratio = 2 ** (pitch_semitones / 12)
    if formant == "preserved":
        return f"aresample={sample_rate},rubberband=pitch={ratio:.8f}:formant=preserved"
    # asetrate takes whole Hz, so atempo undoes the rate actually used, not the ideal one:
    # the duration then comes back exactly.
    shifted_rate = round(sample_rate * ratio)
    return (f"aresample={sample_rate},asetrate={shifted_rate},aresample={sample_rate},"
            f"atempo={sample_rate / shifted_rate:.8f}")


DISGUISE_FILTER = disguise_filter()  # the default disguise at WORK_RATE
