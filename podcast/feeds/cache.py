"""Built feeds, kept per process: each feed is built once per change and then served
from memory, whoever and however many ask.

The key is (organisation, whose feed, feed generation). "Whose" is ``"public"`` or the
listener's row id *and* token hash: a private feed holds its listener's token in every
URL, so one listener must never be handed a feed built for another (a known bug class of
self-hosted podcast servers, which keyed their caches by show alone). The generation is
``Show.feed_version``, bumped in the same transaction as every change that alters a
feed, so a stale entry is simply never asked for again (and is dropped when its
successor is stored, or when the cache is full).

Concurrent requests for a feed not yet built wait for the one build in progress instead
of each building it (a storm of podcast apps polling after a publication).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from flask import Flask, current_app

EXTENSION = "podcast.feed_cache"
MAX_FEEDS = 512      # entries per process; a private feed is a few KB per episode
BUILD_WAIT = 30.0    # seconds a request waits for another's build before building itself


@dataclass(frozen=True)
class CachedFeed:
    body: bytes
    etag: str                   # strong, from the bytes
    last_modified: dt.datetime  # aware UTC, whole seconds (HTTP dates have no fraction)


def feed_key(org_id: int, version: int, listener_id: int | None = None,
             token_hash: str | None = None) -> tuple[Hashable, ...]:
    who: Hashable = "public" if listener_id is None else (listener_id, token_hash)
    return (org_id, who, version)


class _Build:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: CachedFeed | None = None


class FeedCache:
    """A bounded LRU of built feeds with one build at a time per key."""

    def __init__(self, max_entries: int = MAX_FEEDS):
        self.max_entries = max_entries
        self.builds = 0  # how many feeds this process has built (tests and metrics)
        self._entries: OrderedDict[tuple, CachedFeed] = OrderedDict()
        self._building: dict[tuple, _Build] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, build: Callable[[], tuple[bytes, dt.datetime | None]]
            ) -> CachedFeed:
        """The feed under ``key``, built with ``build`` (body, last change) if absent."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
            pending = self._building.get(key)
            mine = pending is None
            if mine:
                pending = self._building[key] = _Build()
        assert pending is not None
        if not mine:
            pending.done.wait(BUILD_WAIT)
            if pending.result is not None:
                return pending.result
            # The other build failed or is stuck: build for this request, uncached.
            return _cached(*build())
        try:
            pending.result = _cached(*build())
            with self._lock:
                self.builds += 1
                self._store(key, pending.result)
            return pending.result
        finally:
            with self._lock:
                self._building.pop(key, None)
            pending.done.set()

    def _store(self, key: tuple, feed: CachedFeed) -> None:
        org_id, who, version = key
        for old in [k for k in self._entries if k[:2] == (org_id, who) and k[2] != version]:
            del self._entries[old]
        self._entries[key] = feed
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _cached(body: bytes, modified: dt.datetime | None) -> CachedFeed:
    moment = modified or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return CachedFeed(body, hashlib.sha256(body).hexdigest()[:32],
                      moment.replace(microsecond=0))


def feed_cache(app: Flask | None = None) -> FeedCache:
    """This process's feed cache (one per app)."""
    extensions = (app or current_app).extensions
    cache = extensions.get(EXTENSION)
    if cache is None:
        cache = extensions.setdefault(EXTENSION, FeedCache())
    return cache

