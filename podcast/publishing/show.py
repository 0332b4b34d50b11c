"""The show (one per organisation) and its feed generation counter.

Every change that alters what a feed says (a publication, an unpublish, an ending, the
show's details, a listener revoked) calls ``feed_changed`` in the same transaction, so
each process's feed cache sees a new ``feed_version`` and rebuilds once.
"""
from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import select, update

from diaryroom import tenancy
from diaryroom.extensions import db
from diaryroom.models import Organisation, utcnow

from .models import Show

# The Podcasting 2.0 namespace's own UUID namespace for podcast:guid (UUIDv5 of the feed
# URL without its scheme and trailing slashes).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


def podcast_guid(feed_url: str) -> str:
    """podcast:guid for a feed URL, as the namespace specifies.

    >>> podcast_guid("https://mp3s.nashownotes.com/pc20rss.xml")
    '917393e3-1b1e-5cef-ace4-edaa54e1f810'
    """
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def public_feed_url(org: Organisation) -> str:
    return f"{current_app.config['BASE_URL']}/feeds/{org.slug}/public.xml"


def show_for(org_id: int) -> Show:
    """The organisation's show, made with neutral defaults the first time it is asked
    for (flushed, not committed)."""
    with tenancy.as_org(org_id):
        show = db.session.scalar(select(Show).where(Show.org_id == org_id))
        if show is None:
            org = db.session.get(Organisation, org_id)
            show = Show(org_id=org_id, title=org.name, author=org.name,
                        guid=podcast_guid(public_feed_url(org)))
            db.session.add(show)
            db.session.flush()
        return show


def feed_changed(org_id: int) -> None:
    """Every feed of the organisation is out of date: bump the generation (the caller
    commits, so the bump lands with the change or not at all)."""
    show_for(org_id)
    with tenancy.as_org(org_id):
        db.session.execute(update(Show).where(Show.org_id == org_id).values(
            feed_version=Show.feed_version + 1, feed_changed_at=utcnow()))
