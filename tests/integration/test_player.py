"""The web player (podcast/player): the same consent rules as the feeds, and a page that
can be read and used without JavaScript.

- a public episode is for anyone; an internal one for the signed-in people of its
  organisation (every role), the sign-in page for anyone else not signed in, and not
  found for people of other organisations and for kiosks; its audio likewise, with exact
  byte ranges;
- an episode no longer published answers 410 to whoever could hear it before, and 404
  to everyone else (so nothing is learnt of what was only internal);
- the transcript and chapters are in the HTML as links that start the audio there;
- titles, notes and captions are escaped (notes through their sanitiser).
"""
from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from sqlalchemy import select

from diaryroom import tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.extensions import db
from diaryroom.models import Organisation
from podcast.publishing.models import ENDED, INTERNAL, PUBLIC, Publication
from podcast.studio.files import remove_render
from podcast.studio.models import Episode, EpisodeRender
from tests.conftest import AuthActions, bearer
from tests.integration.publish_support import VTT, publish_row, rendered_episode, tone_mp3

ROLES = ("admin", "staff", "cohost", "panel")


@pytest.fixture
def mp3(tmp_path, have_ffmpeg):
    return tone_mp3(tmp_path / "episode.mp3", seconds=4.0)


@pytest.fixture
def slug(app, world) -> str:
    with app.app_context():
        return db.session.get(Organisation, world.orgs["A"]).slug


def publish(app, world, mp3, *stages: str, **episode) -> dict:
    """An episode of organisation A rendered from ``mp3`` and published to ``stages``."""
    org_id, staff = world.orgs["A"], world.account("staff").user_id
    made = rendered_episode(app, org_id, mp3, **episode)
    made["publications"] = [publish_row(app, org_id, made["episode_id"], s, user_id=staff)
                            for s in stages]
    with app.app_context(), tenancy.as_org(org_id):
        made["guid"] = db.session.get(Episode, made["episode_id"]).guid
    return made


def end(app, org_id: int, *publication_ids: int) -> None:
    with app.app_context(), tenancy.as_org(org_id):
        for pid in publication_ids:
            db.session.get(Publication, pid).state = ENDED
        db.session.commit()


def signed_in(app, world, role: str, org: str = "A"):
    client = app.test_client()
    assert AuthActions(client).login(world.account(role, org).email).status_code == 302
    return client


def html(response):
    assert response.status_code == 200, response.text
    return lxml.html.fromstring(response.text)


def audio_src(page) -> str:
    return page.get_element_by_id("player-audio").get("src")


# --- who may hear what ------------------------------------------------------------------

def test_public_episode_is_for_anyone(app, world, client, slug, mp3):
    made = publish(app, world, mp3, INTERNAL, PUBLIC, title="Warm rooms")
    url = f"/listen/{slug}/{made['guid']}"
    response = client.get(url)
    page = html(response)
    assert page.findtext(".//h1") == "Warm rooms"
    assert audio_src(page) == url + "/episode.mp3"
    assert response.headers["Cache-Control"] == "no-store"
    audio = client.get(url + "/episode.mp3", headers={"Range": "bytes=-64"})
    assert audio.status_code == 206 and audio.data == mp3.read_bytes()[-64:]
    assert "X-Robots-Tag" not in audio.headers
    assert "X-Robots-Tag" not in response.headers
    assert "Only for people in" not in response.text
    # Signed in, or a kiosk: a public episode is still theirs to hear.
    assert signed_in(app, world, "panel").get(url).status_code == 200
    kiosk = client.get(url, headers=bearer(world.kiosk_tokens["A"]))
    assert kiosk.status_code == 200

    listing = html(client.get(f"/listen/{slug}/"))
    links = [a.get("href") for a in listing.iterfind(".//main//h3/a")]
    assert links == [url]
    assert listing.xpath(f"//a[@href='/feeds/{slug}/public.xml']")


def test_internal_episode_is_for_the_organisations_people(app, world, client, slug, mp3):
    made = publish(app, world, mp3, INTERNAL, title="Only ours")
    url = f"/listen/{slug}/{made['guid']}"
    audio = url + "/episode.mp3"

    response = client.get(url)  # not signed in: the sign-in page, then back here
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/login" and parse_qs(location.query)["next"] == [url]
    assert client.get(audio).status_code == 302
    assert client.get(f"/listen/{slug}/").status_code == 200
    assert "Only ours" not in client.get(f"/listen/{slug}/").text

    for role in ROLES:
        member = signed_in(app, world, role)
        response = member.get(url)
        page = html(response)
        assert page.findtext(".//h1") == "Only ours", role
        assert audio_src(page) == audio
        assert response.headers["X-Robots-Tag"].startswith("noindex")
        assert "Only for people in" in response.text
        listing = html(member.get(f"/listen/{slug}/"))
        assert [a.text for a in listing.iterfind(".//main//h3/a")] == ["Only ours"], role

    member = signed_in(app, world, "panel")
    whole = member.get(audio)
    assert whole.status_code == 200 and whole.data == mp3.read_bytes()
    assert whole.mimetype == "audio/mpeg" and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Cache-Control"] == "no-store"
    assert whole.headers["X-Robots-Tag"].startswith("noindex")
    again = member.get(audio, headers={"If-None-Match": whole.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    size = len(whole.data)
    part = member.get(audio, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == whole.data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{size}"
    assert member.get(audio, headers={"Range": f"bytes={size + 10}-"}).status_code == 416

    # Another organisation's people and a kiosk (a device anyone can use) find nothing.
    world.add_org("B")
    outsider = signed_in(app, world, "admin", "B")
    kiosk = bearer(world.kiosk_tokens["A"])
    for response in (outsider.get(url), outsider.get(audio), client.get(url, headers=kiosk),
                     client.get(audio, headers=kiosk)):
        assert response.status_code == 404
        assert "Only ours" not in response.text and response.data[:3] != b"ID3"


def test_no_longer_published(app, world, client, slug, mp3):
    org_id = world.orgs["A"]
    public = publish(app, world, mp3, INTERNAL, PUBLIC, title="Taken down")
    internal = publish(app, world, mp3, INTERNAL, title="Internal, ended")
    member = signed_in(app, world, "staff")
    end(app, org_id, *public["publications"], *internal["publications"])

    gone = client.get(f"/listen/{slug}/{public['guid']}")
    assert gone.status_code == 410 and "no longer available" in gone.text
    assert "Taken down" not in gone.text
    # Only internal before: to the public it never was; to the organisation, it was.
    assert client.get(f"/listen/{slug}/{internal['guid']}").status_code == 404
    assert member.get(f"/listen/{slug}/{internal['guid']}").status_code == 410
    assert member.get(f"/listen/{slug}/{internal['guid']}/episode.mp3").status_code == 410
    assert client.get(f"/listen/{slug}/00000000-0000-4000-8000-000000000000").status_code == 404
    assert client.get(f"/listen/no-such-org/{public['guid']}").status_code == 404
    assert client.get("/listen/no-such-org/").status_code == 404
    assert "Taken down" not in client.get(f"/listen/{slug}/").text


def test_a_render_whose_files_are_gone_is_not_served(app, world, client, slug, mp3):
    """A withdrawal deletes the render's files before the publication is ended: the
    page must not serve the gap between the two."""
    made = publish(app, world, mp3, INTERNAL, PUBLIC)
    with app.app_context(), tenancy.as_org(world.orgs["A"]):
        remove_render(db.session.get(EpisodeRender, made["render_id"]), "withdrawn")
        db.session.commit()
    assert client.get(f"/listen/{slug}/{made['guid']}").status_code == 410
    member = signed_in(app, world, "admin")
    assert member.get(f"/listen/{slug}/{made['guid']}/episode.mp3").status_code == 410


# --- the page without JavaScript ---------------------------------------------------------

def test_transcript_and_chapters_work_without_javascript(app, world, client, slug, mp3):
    made = publish(app, world, mp3, INTERNAL, PUBLIC)
    url = f"/listen/{slug}/{made['guid']}"
    page = html(client.get(url))
    assert page.xpath("//script[@type='module']/@src") == ["/static/player/player.js"]
    lines = page.xpath("//ol[@id='cues']/li/a")
    assert [" ".join(a.text_content().split()) for a in lines] == [
        "0:00 The day centre was warm.", "0:02 The tea was good and the staff listened."]
    assert [a.get("href") for a in lines] == ["?t=0#listen", "?t=2#listen"]
    assert [(a.get("data-start"), a.get("data-end")) for a in lines] == [
        ("0.0", "2.0"), ("2.0", "4.0")]
    chapters = page.xpath("//ol[@id='chapters']/li/a")
    assert [" ".join(a.text_content().split()) for a in chapters] == [
        "0:00 Sam's story", "0:02 Tea"]
    # The search needs the script, so it is hidden until the script shows it.
    assert page.get_element_by_id("transcript-tools").get("hidden") is not None
    assert "VTT" in page.xpath("//a[contains(@href, 'transcript.vtt')]/..")[0].text_content()

    # Following a line's link starts the audio there (a media fragment), nothing else.
    again = html(client.get(url + lines[1].get("href").split("#")[0]))
    assert audio_src(again).endswith("/episode.mp3#t=2")
    assert "Starts at 0:02" in again.text_content()
    for odd in ("?t=-3", "?t=nan", "?t=inf", "?t=9999", "?t=x"):
        assert audio_src(html(client.get(url + odd))).endswith("/episode.mp3"), odd


def test_titles_notes_and_captions_are_escaped(app, world, client, slug, mp3):
    made = publish(app, world, mp3, INTERNAL, PUBLIC, title="<b>Bold</b> & proud")
    org_id = world.orgs["A"]
    with app.app_context(), tenancy.as_org(org_id):
        episode = db.session.get(Episode, made["episode_id"])
        episode.notes = ("Hello <script>alert(1)</script> [link](javascript:alert(2)) "
                         "and [ours](https://example.org)")
        render = db.session.get(EpisodeRender, made["render_id"])
        vtt = VTT + ("\n3\n00:00:03.000 --> 00:00:04.000\n"
                     "&lt;img src=x onerror=alert(3)&gt; &amp; more\n")
        get_private_storage().put(render.files["transcript.vtt"], io.BytesIO(vtt.encode()))
        db.session.commit()
    response = client.get(f"/listen/{slug}/{made['guid']}")
    page = html(response)
    assert page.findtext(".//h1") == "<b>Bold</b> & proud"
    assert not page.xpath("//h1/b") and not page.xpath("//main//img")
    assert not page.xpath("//script[not(@src)]"), "no inline script got in"
    assert "<script>alert(1)" not in response.text
    notes = page.find_class("notes")[0]
    assert "<script>alert(1)</script>" in notes.text_content(), "shown as the words typed"
    assert notes.xpath(".//a/@href") == ["https://example.org"], "no javascript: link"
    last = page.xpath("//ol[@id='cues']/li/a/span[@class='cue-text']")[-1]
    assert last.text == "<img src=x onerror=alert(3)> & more"


def test_every_listing_is_from_its_own_organisation(app, world, client, mp3):
    made = publish(app, world, mp3, INTERNAL, PUBLIC, title="A's episode")
    world.add_org("B")
    with app.app_context():
        b_slug = db.session.scalar(select(Organisation.slug).where(
            Organisation.id == world.orgs["B"]))
    listing = html(client.get(f"/listen/{b_slug}/"))
    assert listing.xpath("//main//h3") == [] and "A's episode" not in listing.text_content()
    assert client.get(f"/listen/{b_slug}/{made['guid']}").status_code == 404


def test_listen_opens_ones_own_podcast(app, world, client, slug):
    world.add_org("B")
    with app.app_context():
        b_slug = db.session.get(Organisation, world.orgs["B"]).slug
    assert urlsplit(client.get("/listen/").headers["Location"]).path == f"/listen/{slug}/"
    member_of_b = signed_in(app, world, "panel", "B")
    assert urlsplit(member_of_b.get("/listen/").headers["Location"]).path == f"/listen/{b_slug}/"
    listing = html(member_of_b.get(f"/listen/{b_slug}/"))
    assert listing.xpath("//a[@href='/account/feed']"), "members are shown their own feed link"
    assert not html(client.get(f"/listen/{b_slug}/")).xpath("//a[@href='/account/feed']")
