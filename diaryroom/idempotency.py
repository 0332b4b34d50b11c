"""Idempotency keys: a client that sends "make an entry" again after a lost reply, with the
same ``Idempotency-Key``, gets the entry the first request made, never a second one.

A key is the client's own (a UUID, say), so it is stored per principal: one kiosk or
account can never reach another's entry by guessing a key. Only a digest is kept.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import select

from .auth.principal import Principal
from .errors import InvalidInput
from .extensions import db
from .models import Entry

HEADER = "Idempotency-Key"
MAX_LENGTH = 200  # characters: room for any UUID or ULID, with a prefix


def parse_key(raw: str | None) -> str | None:
    """The header's value, checked; None when the client sent none."""
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_LENGTH or not (key.isascii() and key.isprintable()):
        raise InvalidInput(f"{HEADER} must be 1 to {MAX_LENGTH} printable ASCII characters",
                           code="invalid_idempotency_key")
    return key


def digest(principal: Principal, key: str) -> str:
    who = f"kiosk:{principal.kiosk.id}" if principal.kiosk else f"user:{principal.user.id}"
    return hashlib.sha256(f"{principal.org_id}\n{who}\n{key}".encode()).hexdigest()


def entry_made_with(key_digest: str) -> Entry | None:
    return db.session.scalar(select(Entry).where(Entry.idempotency_key == key_digest))
