"""The feeds and the files in them, for podcast apps: public, and per listener.

Podcast apps cannot sign in, so every route is open to anyone (``PUBLIC``) and a private
URL's token is its credential (``listeners.resolve``: 404 unknown, 410 revoked). Feeds
come from the per-process cache and cost two small queries when unchanged; a 304 costs
the same. When a link was last used is written after the answer has gone, at most once
a minute. Files are streamed with byte ranges from the encrypted store, or with S3
storage redirected to a short-lived presigned URL of the publication's plain copy (or,
for public episodes, to ``PUBLIC_AUDIO_BASE_URL``: a CDN or a public bucket prefix).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from flask import Blueprint, Response, current_app, redirect

from diaryroom.adapters import get_private_storage, get_storage
from diaryroom.auth import PUBLIC, allow
from diaryroom.storage import S3Storage

from ..publishing import listeners
from . import catalog, serve
from .cache import feed_key

bp = Blueprint("feeds", __name__, url_prefix="/feeds")

PRESIGNED_SECONDS = 300
# Public feeds and files may sit in shared caches briefly; a withdrawal must still
# leave every feed within minutes, so not longer.
PUBLIC_CACHE = "public, max-age=60"
# A private feed's URL is a credential: no shared cache keeps it, and apps revalidate
# (a 304 is cheap) so a revoked link stops at once.
PRIVATE_CACHE = "private, no-cache"
NOINDEX = "noindex, nofollow, noarchive"


def _feed(org_id: int, key: tuple, token: str | None, cache_control: str):
    feed = catalog.built_feed(org_id, key, token)
    return serve.send_feed(feed.body, etag=feed.etag, modified=feed.last_modified,
                           cache_control=cache_control)


@bp.get("/public.xml")
@allow(PUBLIC)
def default_public_feed():
    """The first (on a small install, the only) organisation's public feed."""
    place = catalog.place(None)
    return _feed(place.org_id, feed_key(place.org_id, place.version), None, PUBLIC_CACHE)


@bp.get("/<slug>/public.xml")
@allow(PUBLIC)
def public_feed(slug: str):
    place = catalog.place(slug)
    return _feed(place.org_id, feed_key(place.org_id, place.version), None, PUBLIC_CACHE)


@bp.get("/<slug>/private/<token>.xml")
@allow(PUBLIC)
def private_feed(slug: str, token: str):
    listener = listeners.resolve(slug, token)
    org_id = listener.org_id
    key = feed_key(org_id, catalog.feed_version(org_id), listener.id, listener.token_hash)
    response = _feed(org_id, key, token, PRIVATE_CACHE)
    response.headers["X-Robots-Tag"] = NOINDEX
    return _note_use(response, listener, "feed")


def _note_use(response: Response, listener, kind: str) -> Response:
    """Record the link's use once the answer has gone: a podcast app polling hourly
    would otherwise wait on a database write with every feed it fetches."""
    if listeners.use_due(listener, kind):
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        org_id, listener_id = listener.org_id, listener.id

        def write() -> None:
            with app.app_context():
                listeners.write_use(org_id, listener_id, kind)
        if response.direct_passthrough:
            # A streamed body goes to the server as it is, so the server closes it, not
            # the response: write when the stream is closed.
            response.response = _then(response.response, write)
        else:
            response.call_on_close(write)
    return response


def _then(body: Iterable[bytes], write: Callable[[], None]) -> Iterator[bytes]:
    try:
        yield from body
    finally:
        write()


def _send_file(file: catalog.FeedFile, cache_control: str):
    storage = get_storage()
    if file.copy_key and isinstance(storage, S3Storage):
        base = current_app.config.get("PUBLIC_AUDIO_BASE_URL")
        if file.public and base:
            response = redirect(f"{base}/{storage.object_key(file.copy_key)}")
            response.headers["Cache-Control"] = PUBLIC_CACHE
        else:
            response = redirect(storage.signed_url(file.copy_key,
                                                   expires_in=PRESIGNED_SECONDS))
            response.headers["Cache-Control"] = "no-store"
        return response
    private = get_private_storage()
    return serve.send_ranged(lambda: private.ranged(file.key, size=file.size),
                             mimetype=file.mimetype, etag=file.etag,
                             modified=file.modified, cache_control=cache_control)


@bp.get("/<slug>/public/<guid>/<name>")
@allow(PUBLIC)
def public_file(slug: str, guid: str, name: str):
    place = catalog.place(slug)
    return _send_file(catalog.feed_file(place.org_id, guid, name, private=False),
                      PUBLIC_CACHE)


@bp.get("/<slug>/private/<token>/<guid>/<name>")
@allow(PUBLIC)
def private_file(slug: str, token: str, guid: str, name: str):
    listener = listeners.resolve(slug, token)
    file = catalog.feed_file(listener.org_id, guid, name, private=True)
    response = _send_file(file, PRIVATE_CACHE)
    response.headers["X-Robots-Tag"] = NOINDEX
    return _note_use(response, listener, "audio") if name == catalog.AUDIO else response


@bp.get("/<slug>/artwork/<name>")
@allow(PUBLIC)
def artwork(slug: str, name: str):
    """The show's artwork (every feed of the organisation names it; it is no secret)."""
    place = catalog.place(slug)
    return _send_file(catalog.artwork_file(place.org_id, name), PUBLIC_CACHE)
