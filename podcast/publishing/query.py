"""What is published now: the read side that feeds, enclosures and the web player share.

A publication counts only while it is ``live`` *and* its render is still ``done`` with
its files: a withdrawal deletes the render's files before the publication is ended, and
nothing here may serve the gap between the two.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from diaryroom import tenancy
from diaryroom.extensions import db

from ..studio.models import Episode, EpisodeRender
from .models import INTERNAL, LIVE, PUBLIC, Publication


@dataclass(frozen=True)
class Live:
    publication: Publication
    episode: Episode
    render: EpisodeRender


def playable(render: EpisodeRender | None) -> bool:
    """A render people can hear: done, with its MP3 (a withdrawal deletes the files)."""
    return (render is not None and render.state == "done"
            and "episode.mp3" in (render.files or {}))


def audiences_for(private: bool) -> tuple[str, ...]:
    """A listener's private feed carries internal and public episodes; the public
    feed only public ones."""
    return (INTERNAL, PUBLIC) if private else (PUBLIC,)


def live(org_id: int, audiences: tuple[str, ...]) -> list[Live]:
    """Live, playable publications of these audiences, newest first; one per episode
    (its widest audience's when it is in both)."""
    with tenancy.as_org(org_id):
        rows = db.session.execute(
            select(Publication, Episode, EpisodeRender)
            .join(Episode, Episode.id == Publication.episode_id)
            .join(EpisodeRender, EpisodeRender.id == Publication.render_id)
            .where(Publication.org_id == org_id, Publication.state == LIVE,
                   Publication.audience.in_(audiences))
            .order_by(Publication.approved_at.desc(), Publication.id.desc())).all()
    chosen: dict[int, Live] = {}
    for publication, episode, render in rows:
        if not playable(render):
            continue
        held = chosen.get(episode.id)
        if held is None or (held.publication.audience == INTERNAL
                            and publication.audience == PUBLIC):
            chosen[episode.id] = Live(publication, episode, render)
    return sorted(chosen.values(), key=lambda x: (x.publication.approved_at,
                                                  x.publication.id), reverse=True)


def was_published(org_id: int, guid: str, audiences: tuple[str, ...]) -> bool:
    """Whether the episode was ever published to one of these audiences: those who
    could hear it are told it is gone (410), everyone else that it never existed."""
    with tenancy.as_org(org_id):
        return db.session.scalar(
            select(Publication.id).join(Episode, Episode.id == Publication.episode_id)
            .where(Publication.org_id == org_id, Episode.guid == guid,
                   Publication.audience.in_(audiences)).limit(1)) is not None


def live_episode(org_id: int, guid: str, audiences: tuple[str, ...]) -> Live | None:
    """The live publication of one episode (by its feed guid) among these audiences."""
    return next((x for x in live(org_id, audiences) if x.episode.guid == guid), None)
