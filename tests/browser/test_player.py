"""The web player in a real browser (Debian's headless Chromium): the transcript follows
the audio (aria-current on the line and chapter being heard, kept in view inside its own
box while it plays, not when reduced motion is asked for), a line or chapter seeks the
audio from the mouse and the keyboard, the search keeps the matching lines, marks the
words and says how many; the same links work without JavaScript; an internal episode
asks for a sign-in first. Every page is checked by axe-core.

Episodes are written as the studio and the publishing service leave them
(``publish_support``): a real MP3 tone, so the browser decodes and plays it.
"""
from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect

from diaryroom import tenancy
from diaryroom.adapters import get_private_storage
from diaryroom.extensions import db
from diaryroom.models import Organisation
from podcast.studio.models import Episode, EpisodeRender
from tests.browser.conftest import sign_in
from tests.integration.publish_support import publish_row, rendered_episode, tone_mp3

SECONDS = 24  # the tone's length; one line of the transcript every half second
LINES = [f"Line {n}: " + ("we had tea together" if n % 10 == 3 else "the day centre was warm")
         for n in range(SECONDS * 2)]


def _vtt() -> str:
    def clock(t: float) -> str:
        return f"00:00:{int(t):02d}.{int(round(t % 1 * 1000)):03d}"
    blocks = [f"{n + 1}\n{clock(n / 2)} --> {clock(n / 2 + .5)}\n{text}\n"
              for n, text in enumerate(LINES)]
    return "WEBVTT\n\n" + "\n".join(blocks)


@pytest.fixture(scope="module")
def episodes(live_server, tmp_path_factory) -> dict[str, str]:
    """Two published episodes of the live server's organisation: ``public`` (internal and
    public) with a long transcript, ``internal`` (internal only). Their page URLs."""
    app, org_id = live_server.app, live_server.org_id
    staff = live_server.world.account("staff").user_id
    mp3 = tone_mp3(tmp_path_factory.mktemp("player") / "tone.mp3", seconds=SECONDS)
    urls = {}
    for name, stages in (("public", ("internal", "public")), ("internal", ("internal",))):
        made = rendered_episode(app, org_id, mp3, title=f"The {name} episode")
        for stage in stages:
            publish_row(app, org_id, made["episode_id"], stage, user_id=staff)
        with app.app_context(), tenancy.as_org(org_id):
            episode = db.session.get(Episode, made["episode_id"])
            if name == "public":
                render = db.session.get(EpisodeRender, made["render_id"])
                get_private_storage().put(render.files["transcript.vtt"],
                                          io.BytesIO(_vtt().encode()))
            slug = db.session.get(Organisation, org_id).slug
            urls[name] = f"/listen/{slug}/{episode.guid}"
    urls["index"] = f"/listen/{slug}/"
    return urls


def current_line(page):
    return page.locator("#cues a[aria-current='time']")


def move_to(page, seconds: float) -> None:
    """Move the audio as a player does, and tell the page (without waiting for playback)."""
    page.evaluate("""t => { const a = document.getElementById('player-audio');
        a.currentTime = t; a.dispatchEvent(new Event('timeupdate')); }""", seconds)


def audio_time(page) -> float:
    return page.evaluate("document.getElementById('player-audio').currentTime")


def test_transcript_follows_and_seeks(new_page, episodes, axe_check):
    page = new_page()
    page.goto(episodes["public"])
    expect(page.get_by_role("heading", level=1)).to_have_text("The public episode")
    expect(page.locator("#cues li")).to_have_count(len(LINES))
    expect(page.get_by_label("Search the transcript")).to_be_visible()  # the script ran
    page.wait_for_function(
        "document.getElementById('player-audio').readyState >= 1")  # the MP3 decodes
    axe_check(page, "player-episode")

    move_to(page, 6.2)
    expect(current_line(page)).to_have_count(1)
    expect(current_line(page)).to_contain_text("Line 12:")
    expect(page.locator("#chapters a[aria-current='time']")).to_contain_text("Tea")
    move_to(page, 0.7)
    expect(current_line(page)).to_contain_text("Line 1:")
    expect(page.locator("#chapters a[aria-current='time']")).to_contain_text("Sam's story")

    # A line seeks the audio there (and plays it): by mouse, and by keyboard.
    page.locator("#cues a", has_text="Line 20:").click()
    assert 10.0 <= audio_time(page) < 11.5
    expect(current_line(page)).to_contain_text(re.compile(r"Line 2[0-2]:"))
    page.evaluate("document.getElementById('player-audio').pause()")
    page.locator("#chapters a", has_text="Tea").focus()
    page.keyboard.press("Enter")
    assert 2.0 <= audio_time(page) < 3.5
    assert page.url.endswith(episodes["public"]), "no page load: the script seeks"
    page.evaluate("document.getElementById('player-audio').pause()")


def test_search_keeps_the_matching_lines(new_page, episodes, axe_check):
    page = new_page()
    page.goto(episodes["public"])
    search = page.get_by_label("Search the transcript")
    matching = [text for text in LINES if "tea" in text]
    search.fill("TEA together")
    status = page.get_by_role("status")
    expect(status).to_have_text(f"{len(matching)} of {len(LINES)} lines match “TEA together”.")
    shown = page.locator("#cues li:visible")
    expect(shown).to_have_count(len(matching))
    assert [" ".join(t.split()[1:]) for t in shown.all_inner_texts()] == matching
    expect(page.locator("#cues li:visible mark")).to_have_count(2 * len(matching))
    expect(page.locator("#cues li:visible mark").first).to_have_text("tea")
    axe_check(page, "player-episode-search")

    search.fill("coffee")
    expect(status).to_have_text("No lines of the transcript match “coffee”.")
    expect(page.locator("#cues li:visible")).to_have_count(0)
    search.fill("")
    expect(status).to_have_text("")
    expect(page.locator("#cues li:visible")).to_have_count(len(LINES))
    expect(page.locator("#cues mark")).to_have_count(0)


def _play_from(page, seconds: float) -> None:
    page.evaluate("""t => { const a = document.getElementById('player-audio');
        a.muted = true; a.currentTime = t; return a.play(); }""", seconds)
    page.wait_for_function(
        "t => !document.getElementById('player-audio').paused"
        " && document.getElementById('player-audio').currentTime > t", arg=seconds + 0.3)


# Whether the line being heard is inside the transcript's visible box.
LINE_IN_BOX = """() => {
    const box = document.getElementById('cues').getBoundingClientRect();
    const line = document.querySelector("#cues a[aria-current='time']").getBoundingClientRect();
    return line.top >= box.top - 1 && line.bottom <= box.bottom + 1; }"""


def test_the_line_heard_is_kept_in_view_unless_motion_is_reduced(new_page, episodes):
    page = new_page()
    page.goto(episodes["public"])
    page.wait_for_function("document.getElementById('player-audio').readyState >= 1")
    follow = page.get_by_label("Keep the line being heard in view")
    expect(follow).to_be_checked()
    window_scroll = page.evaluate("window.scrollY")
    _play_from(page, 20)
    expect(current_line(page)).to_contain_text(re.compile(r"Line 4\d:"))
    page.wait_for_function("document.getElementById('cues').scrollTop > 0")
    page.wait_for_function(LINE_IN_BOX)
    assert page.evaluate("window.scrollY") == window_scroll, "only the transcript's box moved"
    page.evaluate("document.getElementById('player-audio').pause()")

    calm = new_page(reduced_motion="reduce")
    calm.goto(episodes["public"])
    calm.wait_for_function("document.getElementById('player-audio').readyState >= 1")
    expect(calm.get_by_label("Keep the line being heard in view")).not_to_be_checked()
    _play_from(calm, 20)
    expect(current_line(calm)).to_contain_text(re.compile(r"Line 4\d:"))
    assert calm.evaluate("document.getElementById('cues').scrollTop") == 0
    assert not calm.evaluate(LINE_IN_BOX)
    calm.evaluate("document.getElementById('player-audio').pause()")


def test_without_javascript_the_links_start_the_audio_there(new_page, episodes):
    page = new_page(java_script_enabled=False)
    page.goto(episodes["public"])
    expect(page.get_by_label("Search the transcript")).to_be_hidden()
    page.locator("#cues a", has_text="Line 9:").click()
    expect(page).to_have_url(re.compile(r"\?t=4\.5#listen$"))
    assert page.get_attribute("#player-audio", "src").endswith("/episode.mp3#t=4.5")
    expect(page.get_by_text("Starts at 0:04.")).to_be_visible()


def test_internal_episode_asks_for_a_sign_in(new_page, live_server, episodes, axe_check):
    page = new_page()
    page.goto(episodes["internal"])
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    page.goto(episodes["index"])
    expect(page.get_by_role("link", name="The public episode")).to_be_visible()
    expect(page.get_by_role("link", name="The internal episode")).to_have_count(0)
    axe_check(page, "player-index")

    sign_in(page, live_server.world.account("panel").email)
    page.goto(episodes["index"])
    expect(page.get_by_role("link", name="The internal episode")).to_be_visible()
    page.get_by_role("link", name="The internal episode").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The internal episode")
    expect(page.get_by_text("Only for people in")).to_be_visible()
    page.wait_for_function("document.getElementById('player-audio').readyState >= 1")
    axe_check(page, "player-episode-internal")
