"""Episodes ready to publish, and publications as the publishing service leaves them,
for the feed, serving, player and page tests (which should not each re-make a render).

``rendered_episode`` writes a finished render of real MP3 audio (a tone, so the bytes,
length and duration are exact) with its transcript and chapters; ``publish_row`` puts a
live publication in place directly (the service's own tests go through the service)."""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import uuid
from pathlib import Path

from flask import Flask

from diaryroom import keys, tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.extensions import db
from diaryroom.models import utcnow
from podcast.publishing.models import LIVE, Publication
from podcast.publishing.show import feed_changed
from podcast.studio.assets import RELEASE_VERSION
from podcast.studio.models import Episode, EpisodeCohost, EpisodeRender, Segment

from .studio_support import duration_of, ready_entry

VTT = ("WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.000\nThe day centre was warm.\n\n"
       "2\n00:00:02.000 --> 00:00:04.000\nThe tea was good and the staff listened.\n")
SRT = ("1\n00:00:00,000 --> 00:00:02,000\nThe day centre was warm.\n\n"
       "2\n00:00:02,000 --> 00:00:04,000\nThe tea was good and the staff listened.\n")


def tone_mp3(path: Path, seconds: float = 4.0, hz: int = 440) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency={hz}:duration={seconds}", "-ac", "1", "-ar", "44100",
                    "-b:a", "64k", str(path)], check=True, timeout=60)
    return path


def rendered_episode(app: Flask, org_id: int, mp3: Path, *, title: str = "Warm rooms",
                     audience: str = "public", cohost_user_id: int | None = None,
                     cohost_name: str = "Sam", release_version: str = RELEASE_VERSION
                     ) -> dict[str, int]:
    """An approved entry (consent ``audience``) in an episode whose current render is
    done: ``mp3`` is its audio; transcript, captions and chapters beside it. A co-host,
    if given, accepted ``release_version`` (the current release unless told otherwise)."""
    entry_id = ready_entry(app, org_id, mp3, audience=audience)
    audio = mp3.read_bytes()
    with app.app_context(), tenancy.as_org(org_id):
        private = get_private_storage()
        episode = Episode(org_id=org_id, title=title, notes="We talk about **warm** rooms.",
                          season=1, number=1)
        db.session.add(episode)
        db.session.flush()
        segment = Segment(org_id=org_id, episode_id=episode.id, position=0, kind="entry",
                          entry_id=entry_id, entry_revision=1, edits={}, title="Sam's story")
        render = EpisodeRender(
            org_id=org_id, episode_id=episode.id, state="done", entry_ids=[entry_id],
            sources=[{"segment_id": None, "kind": "entry", "entry_id": entry_id,
                      "entry_revision": 1, "audience": audience, "title": "Sam's story"}],
            episode_version=episode.version, audience=audience,
            duration=duration_of(mp3), lufs=-16.0, true_peak=-1.5,
            mp3_sha256=hashlib.sha256(audio).hexdigest(), mp3_size=len(audio),
            finished_at=utcnow())
        db.session.add_all([segment, render])
        db.session.flush()
        chapters = {"version": "1.2.0", "chapters": [
            {"startTime": 0, "title": "Sam's story"}, {"startTime": 2, "title": "Tea"}]}
        files = {"episode.mp3": audio, "transcript.vtt": VTT.encode(),
                 "transcript.srt": SRT.encode(), "chapters.json": json.dumps(chapters).encode()}
        render.files = {}
        for name, data in files.items():
            key = keys.episode_render(org_id, episode.id, render.id, name)
            private.put(key, io.BytesIO(data))
            render.files[name] = key
        episode.current_render_id = render.id
        if cohost_user_id is not None:
            db.session.add(EpisodeCohost(org_id=org_id, episode_id=episode.id,
                                         user_id=cohost_user_id, display_name=cohost_name,
                                         release_version=release_version,
                                         released_at=utcnow()))
        db.session.commit()
        return {"episode_id": episode.id, "entry_id": entry_id, "render_id": render.id,
                "segment_id": segment.id}


def publish_row(app: Flask, org_id: int, episode_id: int, audience: str, *,
                user_id: int | None) -> int:
    """A live publication of the episode's current render, as the service makes it."""
    with app.app_context(), tenancy.as_org(org_id):
        episode = db.session.get(Episode, episode_id)
        episode.guid = episode.guid or str(uuid.uuid4())
        render = db.session.get(EpisodeRender, episode.current_render_id)
        row = Publication(org_id=org_id, episode_id=episode_id, audience=audience,
                          render_id=render.id, mp3_sha256=render.mp3_sha256,
                          approved_by_id=user_id, state=LIVE)
        db.session.add(row)
        feed_changed(org_id)
        db.session.commit()
        return row.id
