"""Serving feeds and their files: byte ranges against the real bytes, 304s, listeners'
tokens (never crossed, revocable), what each feed may hold, a storm of requests on a
real loopback server, and S3 redirects to presigned URLs served by a real (moto) S3."""
from __future__ import annotations

import io
import threading
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from sqlalchemy import event, select, update
from werkzeug.serving import make_server

from diaryroom import accounts, keys, tenancy
from diaryroom.adapters import get_storage
from diaryroom.extensions import db
from diaryroom.models import Organisation, User, hash_token
from podcast.feeds.cache import feed_cache
from podcast.publishing import listeners
from podcast.publishing.models import ENDED, INTERNAL, PUBLIC, Listener, Publication, Show
from podcast.publishing.show import feed_changed
from podcast.studio.models import Episode
from tests.conftest import World, make_app
from tests.integration.conftest import admin_client
from tests.integration.publish_support import publish_row, rendered_episode, tone_mp3

CHUNK = 64 * 1024  # the encrypted store's chunk size: ranges across it decrypt two chunks
OWNER_EMAIL = "podcast-owner@a.example.org"


@pytest.fixture(scope="module")
def long_mp3(tmp_path_factory) -> Path:
    """20 s of tone: about 160 KB, so ranges cross several 64 KiB chunks."""
    return tone_mp3(tmp_path_factory.mktemp("audio") / "long.mp3", seconds=20)


@dataclass
class Feeds:
    app: object
    world: World
    slug: str
    audio: bytes
    both: str        # guid of an episode published internally and publicly
    internal: str    # guid of an episode published internally only
    tokens: dict[str, str]  # role -> that account's private feed token

    def feed(self, role: str) -> str:
        return f"/feeds/{self.slug}/private/{self.tokens[role]}.xml"

    def file(self, guid: str, name: str = "episode.mp3", role: str | None = None) -> str:
        if role is None:
            return f"/feeds/{self.slug}/public/{guid}/{name}"
        return f"/feeds/{self.slug}/private/{self.tokens[role]}/{guid}/{name}"


def org_slug(app, org_id: int) -> str:
    with app.app_context():
        return db.session.get(Organisation, org_id).slug


def guid_of(app, org_id: int, episode_id: int) -> str:
    with app.app_context(), tenancy.as_org(org_id):
        return db.session.get(Episode, episode_id).guid


def new_listener(app, world: World, role: str, org: str = "A") -> str:
    with app.app_context(), tenancy.unscoped():
        user = db.session.get(User, world.account(role, org).user_id)
        _, token = listeners.create_listener(user, by=None)
        return token


def publish(app, world: World, mp3: Path, org: str = "A", *, public: bool,
            title: str = "Warm rooms") -> str:
    org_id = world.orgs[org]
    staff, admin = world.account("staff", org).user_id, world.account("admin", org).user_id
    made = rendered_episode(app, org_id, mp3, title=title,
                            audience="public" if public else "organisation",
                            cohost_user_id=world.account("cohost", org).user_id)
    publish_row(app, org_id, made["episode_id"], INTERNAL, user_id=staff)
    if public:
        publish_row(app, org_id, made["episode_id"], PUBLIC, user_id=admin)
    return guid_of(app, org_id, made["episode_id"])


def setup_feeds(app, world: World, mp3: Path) -> Feeds:
    org_id = world.orgs["A"]
    both = publish(app, world, mp3, public=True, title="Out in the open")
    internal = publish(app, world, mp3, public=False, title="Only for us")
    with app.app_context(), tenancy.as_org(org_id):
        db.session.execute(update(Show).where(Show.org_id == org_id).values(
            owner_email=OWNER_EMAIL, owner_name="The Owner", description="Our show."))
        feed_changed(org_id)
        db.session.commit()
    tokens = {role: new_listener(app, world, role) for role in ("staff", "panel")}
    return Feeds(app, world, org_slug(app, org_id), mp3.read_bytes(), both, internal, tokens)


@pytest.fixture
def feeds(app, world, long_mp3, have_ffmpeg) -> Feeds:
    return setup_feeds(app, world, long_mp3)


def parsed(response) -> feedparser.FeedParserDict:
    assert response.status_code == 200, response.text
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def path_of(url: str) -> str:
    return urlsplit(url).path


# --- byte ranges ------------------------------------------------------------------------

@pytest.mark.parametrize("role", [None, "staff"], ids=["public", "private"])
def test_ranges_return_the_exact_bytes(feeds, client, role):
    audio, url = feeds.audio, feeds.file(feeds.both, role=role)
    size = len(audio)
    assert size > 2 * CHUNK + 1000
    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.data == audio
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Length"] == str(size)
    assert whole.mimetype == "audio/mpeg"

    cases = {
        "bytes=0-99": (0, 99),
        f"bytes={CHUNK - 300}-{CHUNK + 299}": (CHUNK - 300, CHUNK + 299),  # across a chunk
        f"bytes={2 * CHUNK - 1}-{2 * CHUNK}": (2 * CHUNK - 1, 2 * CHUNK),
        "bytes=-500": (size - 500, size - 1),
        f"bytes={CHUNK + 5}-": (CHUNK + 5, size - 1),
        f"bytes={size - 10}-{size + 5000}": (size - 10, size - 1),  # clamped to the end
        "bytes=0-0": (0, 0),
    }
    for header, (first, last) in cases.items():
        response = client.get(url, headers={"Range": header})
        assert response.status_code == 206, header
        assert response.data == audio[first:last + 1], header
        assert response.headers["Content-Range"] == f"bytes {first}-{last}/{size}", header
        assert response.headers["Content-Length"] == str(last + 1 - first), header
        assert response.headers["Accept-Ranges"] == "bytes"


def test_a_range_beyond_the_end_is_416(feeds, client):
    size = len(feeds.audio)
    for header in (f"bytes={size}-", f"bytes={size + 100}-{size + 200}", "bytes=-0"):
        response = client.get(feeds.file(feeds.both, role="panel"), headers={"Range": header})
        assert response.status_code == 416, header
        assert response.headers["Content-Range"] == f"bytes */{size}"
        assert feeds.audio[:100] not in response.data


def test_invalid_or_multiple_ranges_get_the_whole_file(feeds, client):
    for header in ("bytes=500-100", "bytes=0-99,200-299", "bytes=abc", "pages=0-10",
                   "bytes=-", "bytes 0-10"):
        response = client.get(feeds.file(feeds.both), headers={"Range": header})
        assert response.status_code == 200, header
        assert response.data == feeds.audio, header
        assert "Content-Range" not in response.headers


def test_if_range_that_no_longer_matches_gets_the_whole_file(feeds, client):
    url = feeds.file(feeds.both)
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"something-else"'})
    assert stale.status_code == 200
    assert stale.data == feeds.audio


def test_transcripts_chapters_and_types(feeds, client):
    vtt = client.get(feeds.file(feeds.both, "transcript.vtt", role="staff"))
    assert vtt.status_code == 200 and vtt.mimetype == "text/vtt"
    assert vtt.text.startswith("WEBVTT")
    srt = client.get(feeds.file(feeds.both, "transcript.srt"))
    assert srt.mimetype == "application/x-subrip" and "00:00:00,000" in srt.text
    chapters = client.get(feeds.file(feeds.both, "chapters.json"))
    assert chapters.json["chapters"][1]["title"] == "Tea"
    assert client.get(feeds.file(feeds.both, "secrets.txt")).status_code == 404
    assert client.get(feeds.file(feeds.both, "cover.jpg")).status_code == 404  # none set


# --- validators ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["public feed", "private feed", "enclosure"])
def test_etag_and_if_modified_since_give_304(feeds, client, kind):
    url = {"public feed": f"/feeds/{feeds.slug}/public.xml",
           "private feed": feeds.feed("staff"),
           "enclosure": feeds.file(feeds.both, role="staff")}[kind]
    first = client.get(url)
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"not-this-one"'}).status_code == 200
    assert client.get(url, headers={
        "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200


def test_a_change_makes_a_new_feed_and_a_new_etag(feeds, client, app, world):
    url = f"/feeds/{feeds.slug}/public.xml"
    first = client.get(url)
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        db.session.execute(update(Show).where(Show.org_id == world.orgs["A"]).values(
            title="A new name"))
        feed_changed(world.orgs["A"])
        db.session.commit()
    second = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert parsed(second).feed.title == "A new name"


# --- listeners' tokens ------------------------------------------------------------------------

def test_one_listeners_feed_never_holds_anothers_token(feeds, client):
    staff, panel = feeds.tokens["staff"], feeds.tokens["panel"]
    bodies = {}
    for role in ("staff", "panel", "staff", "panel"):  # cached after the first of each
        response = client.get(feeds.feed(role))
        feed = parsed(response)
        own, other = (staff, panel) if role == "staff" else (panel, staff)
        assert other not in response.text
        links = [link.href for entry in feed.entries for link in entry.links
                 if link.rel == "enclosure"]
        assert len(links) == 2 and all(f"/private/{own}/" in link for link in links)
        bodies.setdefault(role, response.data)
        assert response.data == bodies[role]
    assert bodies["staff"] != bodies["panel"]


def test_the_cache_key_includes_the_listener(feeds, client, app):
    with app.app_context():
        feed_cache().clear()
        before = feed_cache().builds
    for role in ("staff", "panel", "staff"):
        text = client.get(feeds.feed(role)).text
        assert feeds.tokens[role] in text
    with app.app_context():
        assert feed_cache().builds - before == 2  # A, then B; A again from the cache


def test_the_private_feed_links_work_and_carry_their_token(feeds, client):
    feed = parsed(client.get(feeds.feed("panel")))
    entry = next(e for e in feed.entries if e.title == "Only for us")
    enclosure = next(link for link in entry.links if link.rel == "enclosure")
    assert int(enclosure.length) == len(feeds.audio)
    assert client.get(path_of(enclosure.href)).data == feeds.audio


def test_a_revoked_listener_gets_410_for_the_feed_and_its_enclosures(feeds, client, app):
    enclosure = feeds.file(feeds.internal, role="staff")
    assert client.get(feeds.feed("staff")).status_code == 200
    assert client.get(enclosure, headers={"Range": "bytes=0-9"}).status_code == 206
    with app.app_context(), tenancy.unscoped():
        row = db.session.scalar(select(Listener).where(
            Listener.token_hash == hash_token(feeds.tokens["staff"])))
        listeners.revoke(row, by=None)
    assert client.get(feeds.feed("staff")).status_code == 410
    assert client.get(enclosure).status_code == 410
    assert client.get(feeds.file(feeds.both, "transcript.vtt", role="staff")).status_code == 410
    assert client.get(feeds.feed("panel")).status_code == 200  # others are untouched


def test_a_new_link_ends_the_old_one(feeds, client, app, world):
    old = feeds.tokens["panel"]
    new = new_listener(app, world, "panel")
    assert client.get(f"/feeds/{feeds.slug}/private/{old}.xml").status_code == 410
    assert client.get(f"/feeds/{feeds.slug}/private/{new}.xml").status_code == 200


def test_a_deactivated_persons_link_stops(feeds, client, app, world):
    assert client.get(feeds.feed("panel")).status_code == 200
    with app.app_context(), tenancy.unscoped():
        accounts.deactivate_user(db.session.get(User, world.account("panel").user_id))
    assert client.get(feeds.feed("panel")).status_code == 410
    assert client.get(feeds.file(feeds.both, role="panel")).status_code == 410


def test_malformed_unknown_and_other_organisations_tokens_are_404(feeds, client, app, world):
    world.add_org("B")
    other = new_listener(app, world, "staff", org="B")
    slug_b = org_slug(app, world.orgs["B"])
    assert client.get(f"/feeds/{slug_b}/private/{other}.xml").status_code == 200
    for token in ("short", "x" * 43, feeds.tokens["staff"][:-1] + "!", other):
        assert client.get(f"/feeds/{feeds.slug}/private/{token}.xml").status_code == 404
        assert client.get(
            f"/feeds/{feeds.slug}/private/{token}/{feeds.both}/episode.mp3").status_code == 404
    # A listener of A names A's slug: B's slug with A's token is another organisation's.
    assert client.get(f"/feeds/{slug_b}/private/{feeds.tokens['staff']}.xml").status_code == 404
    assert client.get(f"/feeds/no-such-org/private/{other}.xml").status_code == 404
    response = client.get(f"/feeds/{feeds.slug}/private/{other}.xml")
    assert response.status_code == 404 and other not in response.text


def test_use_is_recorded_at_most_once_a_minute(feeds, client, app):
    def seen() -> tuple:
        with app.app_context(), tenancy.unscoped():
            row = db.session.scalar(select(Listener).where(Listener.revoked_at.is_(None),
                                                           Listener.last_feed_at.is_not(None)))
            return (row.last_feed_at, row.last_audio_at) if row else (None, None)

    assert seen() == (None, None)
    # The use is written once the answer has gone, when the server closes the response
    # (every WSGI server does; the test client leaves that to its caller).
    answer = client.get(feeds.feed("staff"))
    assert answer.status_code == 200 and seen() == (None, None)
    answer.close()
    first_feed, no_audio = seen()
    assert first_feed is not None and no_audio is None
    client.get(feeds.feed("staff")).close()
    assert seen()[0] == first_feed  # throttled: no second write within the minute
    client.get(feeds.file(feeds.both, role="staff"), headers={"Range": "bytes=0-1"}).close()
    assert seen()[1] is not None
    with app.app_context():
        usage = listeners.usage(feeds.world.orgs["A"])
    assert {u["email"] for u in usage} == {feeds.world.account("staff").email,
                                           feeds.world.account("panel").email}
    assert set(usage[0]) == {"id", "user_id", "email", "created_at", "last_feed_at",
                             "last_audio_at", "revoked_at"}


# --- what each feed may hold ---------------------------------------------------------------

def test_internal_episodes_are_never_in_the_public_feed(feeds, client):
    for url in (f"/feeds/{feeds.slug}/public.xml", "/feeds/public.xml"):
        response = client.get(url)
        feed = parsed(response)
        assert [e.title for e in feed.entries] == ["Out in the open"]
        assert feeds.internal not in response.text
    assert client.get(feeds.file(feeds.internal)).status_code == 404
    assert client.get(feeds.file(feeds.internal, "transcript.vtt")).status_code == 404
    private = parsed(client.get(feeds.feed("staff")))
    assert {e.title for e in private.entries} == {"Out in the open", "Only for us"}


def test_the_private_feed_is_neutral_and_not_indexed(feeds, client):
    private = client.get(feeds.feed("staff"))
    assert "noindex" in private.headers["X-Robots-Tag"]
    assert "private" in private.headers["Cache-Control"]
    assert OWNER_EMAIL not in private.text and "The Owner" not in private.text
    assert "<itunes:block>Yes</itunes:block>" in private.text
    enclosure = client.get(feeds.file(feeds.both, role="staff"))
    assert "noindex" in enclosure.headers["X-Robots-Tag"]
    public = client.get(f"/feeds/{feeds.slug}/public.xml")
    assert OWNER_EMAIL in public.text  # the public feed names its owner, as Apple asks
    assert "X-Robots-Tag" not in public.headers
    assert public.mimetype == "application/rss+xml"


def test_an_ended_publication_leaves_every_feed_and_its_files_stop(feeds, client, app, world):
    org_id = world.orgs["A"]
    assert client.get(feeds.file(feeds.both)).status_code == 200
    client.get(feeds.feed("staff"))  # cached
    with app.app_context(), tenancy.as_org(org_id):
        episode_id = db.session.scalar(select(Episode.id).where(Episode.guid == feeds.both))
        db.session.execute(update(Publication).where(
            Publication.episode_id == episode_id).values(state=ENDED))
        feed_changed(org_id)
        db.session.commit()
    public = client.get(f"/feeds/{feeds.slug}/public.xml")
    assert parsed(public).entries == [] and feeds.both not in public.text
    private = client.get(feeds.feed("staff"))
    assert [e.title for e in parsed(private).entries] == ["Only for us"]
    assert client.get(feeds.file(feeds.both)).status_code == 410
    assert client.get(feeds.file(feeds.both, role="staff")).status_code == 410
    assert client.get(feeds.file(str(uuid.uuid4()), role="staff")).status_code == 404


def test_a_cached_feed_costs_at_most_two_small_queries(feeds, client, app):
    public = f"/feeds/{feeds.slug}/public.xml"
    client.get(public)
    client.get(feeds.feed("staff"))  # built, and its use recorded for the minute
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(feeds.feed("staff")).status_code == 200
        assert len(statements) <= 2, statements  # the listener, the feed generation
        statements.clear()
        assert client.get(public).status_code == 200
        assert len(statements) <= 1, statements  # the organisation and its generation
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- a storm, on a real server ----------------------------------------------------------------

@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_a_storm_of_feed_requests_builds_the_feed_once(feeds, app, live_server):
    with app.app_context():
        feed_cache().clear()
        before = feed_cache().builds

    def fetch(_: int) -> tuple[int, bytes]:
        with urllib.request.urlopen(live_server + feeds.feed("staff"), timeout=30) as r:
            return r.status, r.read()

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(fetch, range(200)))
    assert {status for status, _ in results} == {200}
    assert len({body for _, body in results}) == 1
    with app.app_context():
        assert feed_cache().builds - before == 1


# --- S3: presigned redirects ------------------------------------------------------------------

def s3_app(tmp_path: Path, endpoint: str, **extra: str):
    bucket = f"feeds-{uuid.uuid4().hex[:12]}"
    admin_client(endpoint).create_bucket(Bucket=bucket)
    return make_app(tmp_path / "data", STORAGE_URL=f"s3://{bucket}/dr",
                    S3_ENDPOINT_URL=endpoint, S3_ACCESS_KEY_ID="testing",
                    S3_SECRET_ACCESS_KEY="testing", S3_ADDRESSING_STYLE="path", **extra)


def plain_copies(app, org_id: int, guid: str, audio: bytes) -> None:
    """What the publishing service does with S3 storage: a plain copy per publication."""
    with app.app_context(), tenancy.as_org(org_id):
        episode_id = db.session.scalar(select(Episode.id).where(Episode.guid == guid))
        for row in db.session.scalars(select(Publication).where(
                Publication.episode_id == episode_id)):
            row.copy_key = keys.published_copy(org_id, row.audience, guid, row.id,
                                               "episode.mp3")
            get_storage().put(row.copy_key, io.BytesIO(audio))
        db.session.commit()


@pytest.mark.parametrize("public_base", [None, "https://cdn.example.net/podcast"])
def test_s3_enclosures_redirect_to_a_presigned_copy(tmp_path, _postgres_schema, moto_endpoint,
                                                    long_mp3, have_ffmpeg, public_base):
    extra = {"PUBLIC_AUDIO_BASE_URL": public_base} if public_base else {}
    app = s3_app(tmp_path, moto_endpoint, **extra)
    try:
        world = World(app)
        world.add_org("A")
        feeds = setup_feeds(app, world, long_mp3)
        org_id = world.orgs["A"]
        for guid in (feeds.both, feeds.internal):
            plain_copies(app, org_id, guid, feeds.audio)
        client = app.test_client()

        private = client.get(feeds.file(feeds.internal, role="staff"))
        assert private.status_code == 302
        target = private.headers["Location"]
        assert target.startswith(moto_endpoint) and "Signature=" in target
        with urllib.request.urlopen(target, timeout=10) as r:
            assert r.read() == feeds.audio
        ranged = urllib.request.Request(target, headers={"Range": "bytes=70000-70099"})
        with urllib.request.urlopen(ranged, timeout=10) as r:
            assert r.status == 206 and r.read() == feeds.audio[70000:70100]

        public = client.get(feeds.file(feeds.both))
        assert public.status_code == 302
        if public_base:
            assert public.headers["Location"].startswith(public_base + "/dr/org/")
            assert public.headers["Location"].endswith("/episode.mp3")
            # The internal episode is never sent to the public base, even to a listener.
            assert not client.get(feeds.file(feeds.internal, role="panel")).headers[
                "Location"].startswith(public_base)
        else:
            with urllib.request.urlopen(public.headers["Location"], timeout=10) as r:
                assert r.read() == feeds.audio
        # Small files are not copied: they are served (decrypted, with ranges) from S3.
        vtt = client.get(feeds.file(feeds.both, "transcript.vtt"), headers={"Range": "bytes=0-5"})
        assert vtt.status_code == 206 and vtt.data == b"WEBVTT"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_s3_without_a_copy_streams_from_the_encrypted_store(tmp_path, _postgres_schema,
                                                            moto_endpoint, long_mp3,
                                                            have_ffmpeg):
    app = s3_app(tmp_path, moto_endpoint)
    try:
        world = World(app)
        world.add_org("A")
        feeds = setup_feeds(app, world, long_mp3)
        client = app.test_client()
        size = len(feeds.audio)
        response = client.get(feeds.file(feeds.both), headers={"Range": "bytes=-1000"})
        assert response.status_code == 206
        assert response.data == feeds.audio[-1000:]
        assert response.headers["Content-Range"] == f"bytes {size - 1000}-{size - 1}/{size}"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
