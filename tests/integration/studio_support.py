"""Entries for the studio's tests, and small helpers around them.

``pipeline_entry`` makes an entry the way a person does (a kiosk upload, the real
pipeline with tiny.en, a staff approval). ``ready_entry`` writes an approved entry as the
pipeline leaves one, with real redacted audio (espeak speech, encoded by ffmpeg) and words
spread over it, for the tests about what the studio does with entries rather than about
the words in them: it takes a fraction of the time."""
from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from diaryroom import keys, tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.domain import status as st
from diaryroom.domain.consent import Consent
from diaryroom.extensions import db
from diaryroom.models import ConsentRecord, Entry, utcnow
from podcast.studio.models import Episode, EpisodeRender, Segment
from tests.conftest import World, bearer, run_jobs

SPEECH = "the staff at the hostel listened to me and helped me find a room of my own"


def speak(text: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "150", "-w", str(path), text],
                   check=True, timeout=60)
    return path


def to_mp3(src: Path, dst: Path) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-ac", "1",
                    "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "96k", str(dst)],
                   check=True, timeout=60)
    return dst


def duration_of(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "json", str(path)], check=True, capture_output=True,
                         timeout=30).stdout
    return float(json.loads(out)["format"]["duration"])


def pipeline_entry(app: Flask, client, world: World, media: Path, *, org: str = "A",
                   approve: bool = True, **consent: object) -> int:
    """An entry made from ``media`` at a kiosk, run through the pipeline and approved."""
    created = client.post("/api/v1/entries", headers=bearer(world.kiosk_tokens[org]),
                          data={"media": (io.BytesIO(media.read_bytes()), media.name),
                                "consent": json.dumps(consent)},
                          content_type="multipart/form-data")
    assert created.status_code == 201, created.text
    entry_id = created.json["id"]
    run_jobs(app)
    staff = bearer(world.account("staff", org).token)
    entry = client.get(f"/api/v1/entries/{entry_id}", headers=staff).json
    assert entry["status"] == "awaiting_review", entry["status_reason"]
    if approve:
        approved = client.post(f"/api/v1/entries/{entry_id}/approve", headers=staff)
        assert approved.status_code == 200, approved.text
    return entry_id


def ready_entry(app: Flask, org_id: int, mp3: Path, *, text: str = SPEECH,
                status: str = st.APPROVED, kind: str = "audio", **consent: object) -> int:
    """An entry as the pipeline and a staff approval leave it (revision 1 rendered),
    whose redacted audio is ``mp3`` and whose words are ``text`` spread over it."""
    seconds = duration_of(mp3)
    words = text.split()
    step = seconds / (len(words) + 1)
    timed = [{"text": f" {w}", "start": round(step * (i + 0.5), 3),
              "end": round(step * (i + 1.3), 3)} for i, w in enumerate(words)]
    chosen = Consent(**consent)
    with app.app_context(), tenancy.as_org(org_id):
        entry = Entry(org_id=org_id, kind=kind, status=status, consent=chosen.to_dict(),
                      duration=seconds, redaction_revision=1, rendered_revision=1,
                      approved_at=utcnow() if status == st.APPROVED else None)
        db.session.add(entry)
        db.session.flush()
        db.session.add(ConsentRecord(org_id=org_id, entry_id=entry.id, action="given",
                                     actor="kiosk:1", **chosen.to_dict()))
        private = get_private_storage()
        document = {"language": "en", "duration": seconds, "text": text,
                    "segments": [{"start": 0.0, "end": seconds, "text": text}],
                    "words": timed, "redactions": []}
        private.put(entry.result_key("redacted.json"), io.BytesIO(json.dumps(document).encode()))
        with mp3.open("rb") as fh:
            private.put(entry.result_key("redacted.mp3"), fh)
        db.session.commit()
        return entry.id


def exists(app: Flask, key: str) -> bool:
    with app.app_context():
        return get_private_storage().exists(key)


def renders(app: Flask, episode_id: int) -> list[EpisodeRender]:
    with app.app_context(), tenancy.unscoped():
        rows = list(db.session.scalars(select(EpisodeRender).where(
            EpisodeRender.episode_id == episode_id).order_by(EpisodeRender.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def stored_episode(org_id: int, entry_id: int, *, title: str, audio: bytes,
                   cover: bytes) -> dict[str, int]:
    """An episode with the entry in it, a finished render (``audio`` as its MP3) and a
    cover, written as the studio leaves them; the entry's waveform as if computed before
    (its audio need not be real sound). Inside an app and organisation context; the
    caller commits."""
    private = get_private_storage()
    episode = Episode(org_id=org_id, title=title)
    db.session.add(episode)
    db.session.flush()
    segment = Segment(org_id=org_id, episode_id=episode.id, position=0, kind="entry",
                      entry_id=entry_id, entry_revision=0, edits={})
    render = EpisodeRender(org_id=org_id, episode_id=episode.id, state="done",
                           entry_ids=[entry_id], sources=[])
    db.session.add_all([segment, render])
    db.session.flush()
    private.put(keys.entry_result(org_id, entry_id, 0, "peaks.json"),
                io.BytesIO(b'{"peaks": [[0.0]], "duration": 2.0}'))
    render.files = {"episode.mp3": keys.episode_render(org_id, episode.id, render.id,
                                                       "episode.mp3")}
    private.put(render.files["episode.mp3"], io.BytesIO(audio))
    episode.cover_key = keys.episode_cover(org_id, episode.id, "cover-1.jpg")
    episode.cover_type, episode.current_render_id = "image/jpeg", render.id
    private.put(episode.cover_key, io.BytesIO(cover))
    return {"episode_id": episode.id, "segment_id": segment.id, "render_id": render.id}
