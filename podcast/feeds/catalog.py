"""From the database to what a feed says (``ShowData`` and ``ItemData`` for ``build``),
and to the one file an enclosure or transcript URL names.

Two kinds of feed: the organisation's public feed (public publications only, with the
owner's details) and one listener's private feed (internal and public publications,
neutral details, and every URL in it carrying that listener's token, so a link copied
out of it works only while their link does). URLs are absolute, from ``BASE_URL``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from diaryroom import tenancy
from diaryroom.errors import Gone, NotFound
from diaryroom.extensions import db
from diaryroom.models import Organisation, User

from ..publishing import query
from ..publishing.listeners import feed_url, token_of
from ..publishing.models import Listener, Show
from ..publishing.show import feed_changed, public_feed_url, show_for
from ..studio.assets import notes_html
from ..studio.models import EpisodeCohost
from .build import build_feed
from .cache import CachedFeed, feed_cache, feed_key
from .check import feed_problems
from .data import ItemData, Link, ShowData

AUDIO = "episode.mp3"
# What an item's URLs may name, with the MIME type each is served and announced as.
RENDER_FILES = {
    AUDIO: "audio/mpeg",
    "transcript.vtt": "text/vtt",
    "transcript.srt": "application/x-subrip",
    "chapters.json": "application/json+chapters",
}
COVERS = {"image/jpeg": "cover.jpg", "image/png": "cover.png"}
NO_EPISODE = "There is no such episode in this feed."
ENDED = "This episode is no longer published here."


@dataclass(frozen=True)
class Place:
    """Which organisation a feed URL names, and its feed generation (the cache key)."""

    org_id: int
    slug: str
    version: int


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.replace(tzinfo=dt.UTC) if moment and moment.tzinfo is None else moment


def place(slug: str | None) -> Place:
    """The organisation of ``slug`` (or the first one, for ``/feeds/public.xml``) and its
    feed generation, in one small query; the show is made the first time."""
    stmt = (select(Organisation.id, Organisation.slug, Show.feed_version)
            .outerjoin(Show, Show.org_id == Organisation.id))
    stmt = (stmt.where(Organisation.slug == slug) if slug is not None
            else stmt.order_by(Organisation.id).limit(1))
    with tenancy.unscoped():
        row = db.session.execute(stmt).first()
    if row is None:
        raise NotFound("There is no feed at this address.")
    org_id, found_slug, version = row
    if version is None:
        version = show_for(org_id).feed_version
        db.session.commit()
    return Place(org_id, found_slug, version)


def feed_version(org_id: int) -> int:
    """The organisation's feed generation (a private feed's cache key)."""
    with tenancy.as_org(org_id):
        version = db.session.scalar(select(Show.feed_version).where(Show.org_id == org_id))
    if version is None:
        version = show_for(org_id).feed_version
        db.session.commit()
    return version


def _files_base(org: Organisation, token: str | None) -> str:
    base = f"{current_app.config['BASE_URL']}/feeds/{org.slug}"
    return f"{base}/private/{token}" if token else f"{base}/public"


def feed_data(org_id: int, *, token: str | None = None
              ) -> tuple[ShowData, list[ItemData]]:
    """The public feed (``token`` None) or the private feed of the listener whose link
    ``token`` is (the caller has resolved it)."""
    private = token is not None
    with tenancy.as_org(org_id):
        org = db.session.get(Organisation, org_id)
        show = show_for(org_id)
        lives = query.live(org_id, query.audiences_for(private))
        people = _cohosts([x.episode.id for x in lives])
    base_url = current_app.config["BASE_URL"]
    artwork = None
    if show.artwork_key:
        name = show.artwork_key.rsplit("/", 1)[-1]
        artwork = Link(f"{base_url}/feeds/{org.slug}/artwork/{name}",
                       show.artwork_type or "image/jpeg")
    data = ShowData(
        title=show.title, description=show.description or "",
        link=show.link or f"{base_url}/listen/{org.slug}/",
        feed_url=feed_url(org, token) if private else public_feed_url(org),
        language=show.language, category=show.category, subcategory=show.subcategory,
        explicit=show.explicit, author=show.author or org.name, guid=show.guid,
        artwork=artwork,
        owner_name=None if private else show.owner_name,
        owner_email=None if private else show.owner_email,
        private=private, updated=_utc(show.feed_changed_at))
    files = _files_base(org, token)
    items = [_item(x, f"{files}/{x.episode.guid}", f"{base_url}/listen/{org.slug}",
                   people.get(x.episode.id, ()), show.explicit) for x in lives]
    return data, items


def built_feed(org_id: int, key: tuple, token: str | None = None) -> CachedFeed:
    """The feed under the cache ``key``, built (once) if this process has not yet."""
    def build() -> tuple[bytes, dt.datetime | None]:
        show, items = feed_data(org_id, token=token)
        return build_feed(show, items), show.updated
    return feed_cache().get(key, build)


def rebuild_all() -> list[dict]:
    """``diaryroom feeds rebuild``: mark every organisation's feeds changed, build each
    once (the public feed and every live link's private feed) and check them. One
    summary per organisation: the episodes in its public and private feeds, how many
    private feeds, and the problems the check found (which name no token)."""
    with tenancy.unscoped():
        orgs = list(db.session.execute(
            select(Organisation.id, Organisation.slug).order_by(Organisation.id)))
    summaries = []
    for org_id, slug in orgs:
        with tenancy.as_org(org_id):
            feed_changed(org_id)
            db.session.commit()
            links = list(db.session.scalars(
                select(Listener).join(User, User.id == Listener.user_id)
                .where(Listener.revoked_at.is_(None), User.active.is_(True))))
        version = feed_version(org_id)
        public = built_feed(org_id, feed_key(org_id, version)).body
        problems = set(feed_problems(public, private=False))
        private_items = 0
        for link in links:
            body = built_feed(org_id, feed_key(org_id, version, link.id, link.token_hash),
                              token_of(link)).body
            private_items = body.count(b"<item>")
            problems.update(feed_problems(body, private=True))
        summaries.append({"organisation": slug, "version": version,
                          "public_episodes": public.count(b"<item>"),
                          "private_episodes": private_items, "private_feeds": len(links),
                          "problems": sorted(problems)})
    return summaries


def _cohosts(episode_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Co-hosts by the names they chose, per episode (one query for the whole feed)."""
    if not episode_ids:
        return {}
    names: dict[int, list[str]] = {}
    for episode_id, name in db.session.execute(
            select(EpisodeCohost.episode_id, EpisodeCohost.display_name)
            .where(EpisodeCohost.episode_id.in_(episode_ids)).order_by(EpisodeCohost.id)):
        names.setdefault(episode_id, []).append(name)
    return {k: tuple(v) for k, v in names.items()}


def _item(x: query.Live, files: str, pages: str, people: tuple[str, ...],
          explicit: bool) -> ItemData:
    episode, render = x.episode, x.render
    have = render.files or {}
    transcripts = tuple(Link(f"{files}/{name}", RENDER_FILES[name])
                        for name in ("transcript.vtt", "transcript.srt") if name in have)
    chapters = (Link(f"{files}/chapters.json", RENDER_FILES["chapters.json"])
                if "chapters.json" in have else None)
    cover = COVERS.get(episode.cover_type or "image/jpeg") if episode.cover_key else None
    return ItemData(
        guid=f"urn:uuid:{episode.guid}", title=episode.title,
        description_html=notes_html(episode.notes), link=f"{pages}/{episode.guid}",
        published=_utc(x.publication.approved_at), duration=render.duration or 0.0,
        enclosure=Link(f"{files}/{AUDIO}", RENDER_FILES[AUDIO], render.mp3_size),
        season=episode.season, number=episode.number,
        artwork=Link(f"{files}/{cover}", episode.cover_type or "image/jpeg") if cover else None,
        transcripts=transcripts, chapters=chapters, people=people, explicit=explicit)


# -- the files an item's URLs name --------------------------------------------------------

@dataclass(frozen=True)
class FeedFile:
    """One file to serve: where it is (encrypted), how long, what type, its validators,
    and for audio with S3 storage the publication's plain copy."""

    key: str
    mimetype: str
    size: int | None          # plaintext bytes, when recorded
    etag: str
    modified: dt.datetime | None
    public: bool              # in a public publication (a public base URL may serve it)
    copy_key: str | None = None


def feed_file(org_id: int, guid: str, name: str, *, private: bool) -> FeedFile:
    """The file ``name`` of the live episode ``guid`` in the public feed, or in the
    private feeds. NotFound for what was never there, Gone for an episode that was
    published to these listeners and no longer is (withdrawn, unpublished)."""
    audiences = query.audiences_for(private)
    found = query.live_episode(org_id, guid, audiences)
    if found is None:
        raise Gone(ENDED) if query.was_published(org_id, guid, audiences) else NotFound(NO_EPISODE)
    episode, render, publication = found.episode, found.render, found.publication
    public = publication.audience == "public"
    if name in COVERS.values():
        if not episode.cover_key or COVERS.get(episode.cover_type or "image/jpeg") != name:
            raise NotFound(NO_EPISODE)
        return FeedFile(episode.cover_key, episode.cover_type or "image/jpeg", None,
                        _etag(episode.cover_key), _utc(episode.updated_at), public)
    if name not in RENDER_FILES or name not in (render.files or {}):
        raise NotFound(NO_EPISODE)
    modified = _utc(render.finished_at or render.created_at)
    if name == AUDIO:
        return FeedFile(render.files[name], "audio/mpeg", render.mp3_size,
                        _etag(render.mp3_sha256 or render.files[name]), modified, public,
                        publication.copy_key)
    mimetype = "application/json" if name == "chapters.json" else RENDER_FILES[name]
    return FeedFile(render.files[name], mimetype, None, _etag(render.files[name]),
                    modified, public)


def _etag(value: str) -> str:
    """A strong validator that names the bytes (render files never change under a key)."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def artwork_file(org_id: int, name: str) -> FeedFile:
    """The show's artwork, by the file name its feeds use (a new name per change)."""
    with tenancy.as_org(org_id):
        show = show_for(org_id)
    if not show.artwork_key or show.artwork_key.rsplit("/", 1)[-1] != name:
        raise NotFound("There is no such picture.")
    return FeedFile(show.artwork_key, show.artwork_type or "image/jpeg", None,
                    _etag(show.artwork_key), _utc(show.updated_at), True)
