"""The configured adapters of an app (storage, transcriber), chosen once from config.

Services take these as parameters; this module is where views and jobs get them.
"""
from __future__ import annotations

from flask import Flask, current_app

from .asr import Transcriber, build_transcriber
from .crypto import load_key
from .encrypted_storage import EncryptedStorage
from .storage import Storage, storage_from_config

STORAGE = "diaryroom.storage"
PRIVATE = "diaryroom.private_storage"
KEY = "diaryroom.encryption_key"


def init_app(app: Flask) -> None:
    storage = storage_from_config(app.config)
    key = load_key(app.config["ENCRYPTION_KEY"], app.config["DATA_DIR"])
    app.extensions[STORAGE] = storage
    app.extensions[KEY] = key
    app.extensions[PRIVATE] = EncryptedStorage(storage, key)


def get_storage(app: Flask | None = None) -> Storage:
    """Storage for what may be shared (redacted audio, feeds): plain objects, signed URLs."""
    return (app or current_app).extensions[STORAGE]


def get_private_storage(app: Flask | None = None) -> EncryptedStorage:
    """Storage for originals and unredacted text: encrypted, never served by URL."""
    return (app or current_app).extensions[PRIVATE]


def encryption_key(app: Flask | None = None) -> bytes:
    return (app or current_app).extensions[KEY]


def get_transcriber(app: Flask | None = None) -> Transcriber:
    """Loaded on first use (seconds, and hundreds of MB), then shared by worker threads."""
    config = (app or current_app).config
    return build_transcriber(config["ASR_ENGINE"], config["ASR_MODEL"], config["DATA_DIR"],
                             checkpoint=config["ASR_CHECKPOINT"], threads=config["ASR_THREADS"])
