"""What publishing does when an entry's life changes after approval (``lifecycle``).

Whatever happened to the entry (withdrawn, consent narrowed, approval undone, audio
re-rendered), every live publication of its organisation is checked again and each one
that may no longer be heard by its audience ends at once, in the same call as the change
(or the job that retells it): it leaves every feed, its enclosure stops answering, and
the feed generation moves on. Subscribed after the studio's listeners, so a render they
deleted is already gone; the check does not rely on them (an entry is looked at itself).
Co-hosts are told what to re-render by the studio's segment problems.
"""
from __future__ import annotations

from flask import Flask

from diaryroom import lifecycle

from . import service


def init_app(app: Flask) -> None:
    for name in lifecycle.EVENTS:
        lifecycle.subscribe(app, name, entry_changed)


def entry_changed(event: lifecycle.EntryEvent) -> None:
    """End what may no longer be heard; quick when nothing is published, safe twice."""
    service.revalidate(event.org_id, actor=event.actor or "worker")
