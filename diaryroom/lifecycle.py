"""What happens to an entry after it is shared: lifecycle events and who listens.

An entry's life does not end at approval. The person may withdraw it or narrow their
consent, staff may undo an approval, and a re-render replaces the audio others use. Each
feature that holds a copy or a reference (the studio's episodes, the feeds, the panel's
themes) subscribes in its own ``init_app``; the code that makes the change only says what
happened. A reader, and a test, can list every listener with ``listeners(app)``.

Listeners run in the same process, after the change is committed, in the order they
subscribed. Every listener runs even when one fails; the first failure is raised after
the others ran. A listener must be quick and safe to run twice (a job's retry may notify
again): heavy work goes to a job.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app

log = logging.getLogger(__name__)

WITHDRAWN = "withdrawn"                # the entry's media and text are deleted
CONSENT_NARROWED = "consent_narrowed"  # a smaller audience, the voice disguised, no quotes
APPROVAL_UNDONE = "approval_undone"    # sent back to review: not shareable until approved
RERENDERED = "rerendered"              # a new redacted revision replaced the shared audio
EVENTS = (WITHDRAWN, CONSENT_NARROWED, APPROVAL_UNDONE, RERENDERED)
_KEY = "diaryroom.lifecycle"


@dataclass(frozen=True)
class EntryEvent:
    name: str
    entry_id: int
    org_id: int
    actor: str | None = None  # staff:7, receipt@kiosk:3, worker


Listener = Callable[[EntryEvent], None]


def _registry(app: Flask) -> dict[str, list[Listener]]:
    return app.extensions.setdefault(_KEY, {name: [] for name in EVENTS})


def subscribe(app: Flask, name: str, listener: Listener) -> None:
    """Call ``listener(event)`` whenever ``name`` happens to any entry (idempotent)."""
    if name not in EVENTS:
        raise ValueError(f"unknown lifecycle event {name!r}")
    registered = _registry(app)[name]
    if listener not in registered:
        registered.append(listener)


def listeners(app: Flask) -> dict[str, tuple[Listener, ...]]:
    return {name: tuple(fns) for name, fns in _registry(app).items()}


def notify(name: str, *, entry_id: int, org_id: int, actor: str | None = None) -> None:
    """Tell every listener of ``name``. Call it after the change is committed."""
    event = EntryEvent(name, entry_id, org_id, actor)
    failure: Exception | None = None
    for listener in _registry(current_app)[name]:
        try:
            listener(event)
        except Exception as e:  # the others must still hear of it
            log.exception("lifecycle listener %s failed on %s of entry %s",
                          getattr(listener, "__qualname__", listener), name, entry_id)
            failure = failure or e
    if failure is not None:
        raise failure
