"""The configured adapters of an app (storage, transcriber), chosen once from config.

Services take these as parameters; this module is where views and jobs get them.
"""
from __future__ import annotations

from flask import Flask, current_app

from .asr import Transcriber, build_transcriber
from .storage import Storage, storage_from_config

STORAGE = "diaryroom.storage"


def init_app(app: Flask) -> None:
    app.extensions[STORAGE] = storage_from_config(app.config)


def get_storage(app: Flask | None = None) -> Storage:
    return (app or current_app).extensions[STORAGE]


def get_transcriber(app: Flask | None = None) -> Transcriber:
    """Loaded on first use (seconds, and hundreds of MB), then shared by worker threads."""
    config = (app or current_app).config
    return build_transcriber(config["ASR_ENGINE"], config["ASR_MODEL"], config["DATA_DIR"],
                             checkpoint=config["ASR_CHECKPOINT"], threads=config["ASR_THREADS"])
