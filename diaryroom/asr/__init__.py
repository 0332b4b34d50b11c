"""Offline speech recognition: bundled Whisper models behind one ``Transcriber`` interface.

    transcriber = build_transcriber("faster-whisper", "tiny.en", data_dir)
    transcript = transcriber.transcribe("talk.flac", on_progress=print)
    json.dumps(transcript.to_dict())
"""
from .engine import (
    ENGINES,
    FasterWhisperTranscriber,
    OpenAIWhisperTranscriber,
    ProgressCallback,
    Transcriber,
    build_transcriber,
)
from .models import MODEL_NAMES, model_path
from .types import Segment, Transcript, Word

__all__ = [
    "ENGINES",
    "MODEL_NAMES",
    "FasterWhisperTranscriber",
    "OpenAIWhisperTranscriber",
    "ProgressCallback",
    "Segment",
    "Transcriber",
    "Transcript",
    "Word",
    "build_transcriber",
    "model_path",
]
