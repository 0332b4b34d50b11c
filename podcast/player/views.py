"""The web player, for people without a podcast app: a list of an organisation's
episodes and one page per episode with its audio, chapters, show notes and a transcript
that follows the audio.

Every page works without JavaScript: a chapter or a line of the transcript is a link
that reloads the page with the audio starting there (a media fragment, ``#t=``);
``static/player/player.js`` turns them into seeks and adds the following and the search.

Who may see a page, and hear its audio, is ``episodes.episode``'s to say: the feeds'
rules (a public episode for anyone, an internal one for the organisation's people).
"""
from __future__ import annotations

import datetime as dt
import math

from flask import Blueprint, redirect, render_template, request, url_for
from markupsafe import Markup

from diaryroom.adapters import get_private_storage
from diaryroom.auth import PUBLIC, allow, current_principal

from ..feeds import serve
from ..publishing.models import INTERNAL
from ..publishing.models import PUBLIC as PUBLIC_AUDIENCE
from ..studio.assets import notes_html
from . import episodes
from .cues import clock, duration

bp = Blueprint("player", __name__, url_prefix="/listen")
EPISODE = "/<slug>/<guid>"
NOINDEX = "noindex, nofollow, noarchive"


@bp.app_template_filter("clock")
def _clock(value: float | None) -> str:
    return clock(value)


@bp.app_template_filter("iso_duration")
def _iso_duration(value: float | None) -> str:
    return duration(value)


@bp.after_request
def _private(response):
    # What is heard changes when consent does: no copy of a page or its transcript may
    # outlive a withdrawal in a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _utc(when: dt.datetime | None) -> dt.datetime | None:
    """Rows keep UTC without a zone; HTTP dates compare with zone-aware ones."""
    return when.replace(tzinfo=dt.UTC) if when and when.tzinfo is None else when


def _sign_in():
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _start(duration_s: float | None) -> float | None:
    """Where to start the audio, from ``?t=`` (a chapter or a line chosen without
    JavaScript); anything odd is ignored."""
    try:
        t = float(request.args.get("t", ""))
    except ValueError:
        return None
    if not math.isfinite(t) or t <= 0 or (duration_s is not None and t >= duration_s):
        return None
    return round(t, 3)


@bp.get("/")
@allow(PUBLIC)
def home():
    return redirect(url_for("player.index", slug=episodes.home(current_principal()).slug))


@bp.get("/<slug>/")
@allow(PUBLIC)
def index(slug: str):
    org = episodes.organisation(slug)
    member = episodes.is_member(current_principal(), org.id)
    return render_template("player/index.html", org=org, member=member,
                           show_title=episodes.show_title(org),
                           episodes=episodes.episodes(org.id, member=member),
                           feed_url=url_for("feeds.public_feed", slug=org.slug), INTERNAL=INTERNAL)


@bp.get(EPISODE)
@allow(PUBLIC)
def episode(slug: str, guid: str):
    org = episodes.organisation(slug)
    try:
        found = episodes.episode(org.id, guid, current_principal())
    except episodes.SignInNeeded:
        return _sign_in()
    public = found.publication.audience == PUBLIC_AUDIENCE
    audio_url = url_for("player.audio", slug=org.slug, guid=guid)
    start = _start(found.render.duration)
    page = render_template(
        "player/episode.html", org=org, show_title=episodes.show_title(org), live=found,
        episode=found.episode, render=found.render, public=public,
        audio_url=audio_url + (f"#t={start:g}" if start else ""),
        transcript_url=url_for("feeds.public_file", slug=org.slug, guid=guid,
                               name="transcript.vtt") if public else None,
        cues=episodes.transcript(found), chapters=episodes.chapters(found), start=start,
        # Sanitised by nh3 in notes_html (only safe tags, http/https/mailto links).
        notes=Markup(notes_html(found.episode.notes)))  # noqa: S704  # nosec B704
    return page, 200, ({} if public else {"X-Robots-Tag": NOINDEX})


@bp.get(EPISODE + "/episode.mp3")
@allow(PUBLIC)
def audio(slug: str, guid: str):
    """The episode's audio for this page, to whoever may hear the episode, with ranges
    (players seek). From the page's own origin, so the page's Content-Security-Policy
    (media-src 'self') holds with S3 storage too, where the feeds' enclosures redirect
    to the bucket; podcast apps use those."""
    org = episodes.organisation(slug)
    try:
        found = episodes.episode(org.id, guid, current_principal())
    except episodes.SignInNeeded:
        return _sign_in()
    render = found.render
    private = get_private_storage()
    response = serve.send_ranged(
        lambda: private.ranged(render.files["episode.mp3"], size=render.mp3_size),
        mimetype="audio/mpeg", etag=render.mp3_sha256 or f"render-{render.id}",
        modified=_utc(render.finished_at), cache_control="no-store")
    if found.publication.audience != PUBLIC_AUDIENCE:
        response.headers["X-Robots-Tag"] = NOINDEX
    return response
