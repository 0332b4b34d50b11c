"""The podcast studio in a real browser (issue 10). A co-host
- builds an episode from two approved entries (only those that may go in are offered,
  with their audience), sets its details, joins under a chosen name and accepts the
  release; puts the parts in order from the keyboard; opens a part (its waveform drawn
  from the server's peaks), cuts words by selecting them, puts one back, trims it,
  previews and removes the ums, and undoes; renders the episode while the progress bar
  moves, and plays the result (the MP3 loads, a chapter plays); comments;
- saves a change across someone else's and is told, seeing theirs;
- cuts a stretch by dragging across the waveform, and another from the keyboard, and
  puts one back: the part's kept length follows, and the words in it are crossed out;
- records a link with the kiosk's recorder (a fake microphone): it is kept in IndexedDB
  and sent resumably (tus) through a dropped connection, and after a reload mid-upload it
  is offered again and carries on; then it is dragged into place;
- sees a withdrawn entry at the top of the page, without reloading it.
Every page is checked by axe-core with its content showing.

One entry comes through the real pipeline (a kiosk upload, tiny.en, a staff approval);
the others are written as the pipeline leaves one (``ready_entry``: real redacted audio,
known words with an "um" among them), so the words the test selects are certain. The
test queue is in memory: a render runs when the test drains it.

Screenshots: artifacts/screenshots/studio-*.png; with DIARYROOM_REFRESH_DOCS=1 the
editor's is copied to docs/studio/editor.png, which README.md shows.
"""
from __future__ import annotations

import os
import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ROOT, SCREENSHOTS, VIEWPORT, page_opener, sign_in
from tests.browser.test_kiosk_pages import media_browser, speech_wav  # noqa: F401 (fixtures)
from tests.conftest import AuthActions, bearer, csrf_from, run_jobs
from tests.integration.studio_support import pipeline_entry, ready_entry, speak, to_mp3

WORDS = "so um I went to the hostel and they helped me find a room"
SPOKEN = "the staff listened to me and helped me a lot"
CONFLICT = ("Someone else changed this part a moment ago. Your change was not saved; "
            "you now see theirs.")
DOCS = ROOT / "docs" / "studio"
EDITOR_VIEW = {"width": 1024, "height": 1400}  # the whole editor, for the README
RENDER_TIMEOUT = 30_000  # ms: the page polls every second; the render runs when drained
WATCH_TIMEOUT = 20_000  # ms: the page looks for others' changes every 15 s


@pytest.fixture(scope="module")
def entries(live_server, tmp_path_factory) -> dict[str, int]:
    """Two approved entries: ``known`` (organisation only, words known) and ``spoken``
    (public, through the real pipeline)."""
    for tool in ("espeak-ng", "ffmpeg"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is required (make test installs it)")
    folder = tmp_path_factory.mktemp("studio")
    mp3 = to_mp3(speak(WORDS, folder / "known.wav"), folder / "known.mp3")
    known = ready_entry(live_server.app, live_server.org_id, mp3, text=WORDS,
                        audience="organisation")
    spoken = pipeline_entry(live_server.app, live_server.app.test_client(),
                            live_server.world, speak(SPOKEN, folder / "spoken.wav"),
                            audience="public", voice="natural")
    return {"known": known, "spoken": spoken}


class Server:
    """The studio's routes as someone else uses them at the same time: a staff member
    signed in with the app's test client (its own session and CSRF token)."""

    def __init__(self, live_server):
        self.client = live_server.app.test_client()
        AuthActions(self.client).login(live_server.world.account("staff").email)
        self.token = csrf_from(self.client.get("/auth/login").text)

    def state(self, episode_id: int) -> dict:
        response = self.client.get(f"/podcast/episodes/{episode_id}/state")
        assert response.status_code == 200, response.text
        return response.json

    def post(self, path: str, body: dict):
        response = self.client.post(f"/podcast{path}", json=body, headers={
            "X-CSRFToken": self.token, "Accept": "application/json"})
        assert response.status_code < 300, response.text
        return response.json


@pytest.fixture
def cohost_page(page, live_server):
    sign_in(page, live_server.world.account("cohost").email)
    return page


def episode_id(page) -> int:
    return int(re.search(r"/episodes/(\d+)", page.url).group(1))


def new_episode(page, title: str) -> int:
    page.goto("/podcast/")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Theme").fill("finding a home")
    page.get_by_role("button", name="Start the episode").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    saved(page)  # the script has started: forms now go in the background
    return episode_id(page)


def add_entry(page, entry: int, count: int) -> None:
    page.get_by_role("button", name=f"Add entry {entry}", exact=True).click()
    expect(page.locator("#parts li.part")).to_have_count(count)


def saved(page) -> None:
    """Wait until the page says every change is saved."""
    expect(page.locator("#studio")).to_have_attribute("data-save", "idle")
    expect(page.locator("#save-status")).to_have_text("All changes saved.")


def word(page, text: str):
    return page.locator("#words .word").filter(
        has=page.locator(".word-text", has_text=re.compile(rf"^{re.escape(text)}$")))


def open_part(page, segment_id: int) -> None:
    page.locator(f"#open-{segment_id}").click()
    expect(page.locator("#editor")).to_be_visible()
    expect(page.locator("#editor-title")).to_be_focused()
    # Drawn from the server's peaks: wavesurfer's canvases are there, and the styles it
    # brings in its shadow root apply (adopted, not refused by the page's CSP).
    page.wait_for_function("""() => {
        const host = document.querySelector('#waveform > div');
        const root = host && host.shadowRoot;
        const canvas = root && root.querySelector('canvas');
        return canvas && getComputedStyle(canvas).position === 'absolute';
    }""")
    expect(page.locator("#waveform-status")).to_have_text("")


def test_a_cohost_builds_edits_renders_and_plays_an_episode(cohost_page, live_server, entries,
                                                            axe_check):
    page = cohost_page
    server = Server(live_server)
    known, spoken = entries["known"], entries["spoken"]
    eid = new_episode(page, "Finding home")

    # Details save by themselves; the notes' Markdown is shown as it will look.
    page.get_by_label("Show notes").fill("Stories of **home**, told by the people who live them.")
    expect(page.locator("[data-region=notes] strong")).to_have_text("home")
    saved(page)
    assert server.state(eid)["notes"].startswith("Stories of **home**")

    # Joining under a chosen name, then accepting the release.
    page.get_by_label("The name you want to use on this episode").fill("Sam")
    page.get_by_role("button", name="Join as a co-host").click()
    cohosts = page.locator("[data-region=cohosts]")
    expect(cohosts).to_contain_text("Sam: has not accepted the release yet")
    page.get_by_role("button", name="I accept").click()
    expect(cohosts).to_contain_text("Sam: has accepted the release")
    expect(page.get_by_role("button", name="I accept")).to_have_count(0)

    # Only entries that may go into an episode are offered, each with who may hear it.
    # (By whole number: "Entry 1" must not find "Entry 12" when the suite made more.)
    offer = page.locator("[data-region=entries] li")

    def offered(entry_id: int):
        return offer.filter(has_text=re.compile(rf"\bEntry {entry_id}\b"))

    expect(offered(known)).to_contain_text("Who may hear it: People in our organisation")
    expect(offered(spoken)).to_contain_text("Who may hear it: Anyone (public podcast)")
    expect(offered(live_server.entry_id)).to_have_count(0)
    add_entry(page, known, 1)
    add_entry(page, spoken, 2)

    # The audience, and the entry that limits it, are shown at the top at all times.
    expect(page.locator("#audience-name")).to_have_text("People in our organisation")
    expect(page.locator("#limited-by")).to_contain_text(f"Entry {known}")
    first, second = (s["id"] for s in server.state(eid)["segments"])

    # Reorder from the keyboard: the first part moves down, the keyboard stays with it.
    page.locator(f"#down-{first}").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#parts li.part").first).to_have_attribute("data-id", str(second))
    expect(page.locator(f"#up-{first}")).to_be_focused()
    assert [s["id"] for s in server.state(eid)["segments"]] == [second, first]
    axe_check(page, "studio-parts")

    # Edit the known entry by its words: select two with the keyboard and cut them.
    open_part(page, first)
    word(page, "hostel").click()
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#selection-info")).to_have_text("Selected: words 7 to 8.")
    page.get_by_role("button", name="Cut these words").click()
    expect(page.get_by_role("button", name="Put back")).to_be_focused()
    for text in ("hostel", "and"):
        expect(word(page, text)).to_have_class(re.compile(r"\bcut\b"))
        expect(word(page, text)).to_contain_text("(cut)")
    saved(page)
    assert server.state(eid)["segments"][1]["edits"]["cut_words"] == [[6, 7]]

    # Put one back, then trim the start with the number box.
    word(page, "and").click()
    page.get_by_role("button", name="Put back").click()
    expect(word(page, "and")).not_to_have_class(re.compile(r"\bcut\b"))
    page.get_by_label("Start at (seconds)").fill("0.2")
    page.keyboard.press("Tab")
    saved(page)
    edits = server.state(eid)["segments"][1]["edits"]
    assert edits["cut_words"] == [[6, 6]]
    assert edits["trim_start"] == pytest.approx(0.2)

    # The end is trimmed by dragging the light area's right edge on the waveform.
    page.locator("#play").scroll_into_view_if_needed()
    handle = page.locator("#waveform [part~='region-handle-right']").last
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] - 60, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    saved(page)
    trimmed = server.state(eid)["segments"][1]
    assert 0.2 < trimmed["edits"]["trim_end"] < trimmed["duration"] - 0.2
    expect(page.get_by_label("End at (seconds)")).to_have_value(
        str(trimmed["edits"]["trim_end"]))

    # Ums and long pauses: first a preview of what would go, then applied.
    page.get_by_role("button", name="Remove ums and long pauses").click()
    expect(page.locator("#tidy-summary")).to_contain_text(re.compile(r"^1 um\b.*saves \d+\.\d s$"))
    expect(page.locator("#tidy-list")).to_contain_text("“um”")
    assert not server.state(eid)["segments"][1]["edits"].get("remove_fillers"), \
        "a preview changes nothing"
    page.get_by_role("button", name="Remove them").click()
    expect(word(page, "um")).to_have_class(re.compile(r"\bremoved\b"))
    saved(page)
    part = server.state(eid)["segments"][1]
    assert part["edits"]["remove_fillers"] is True
    assert part["kept_duration"] < part["duration"] - 0.2

    # Undo takes back the last change (the ums), and saves that too.
    page.get_by_role("button", name="Undo").click()
    expect(word(page, "um")).not_to_have_class(re.compile(r"\bremoved\b"))
    saved(page)
    assert not server.state(eid)["segments"][1]["edits"].get("remove_fillers")
    page.get_by_role("button", name="Remove ums and long pauses").click()
    page.get_by_role("button", name="Remove them").click()
    saved(page)

    axe_check(page, "studio-editor")
    editor_picture(page)

    # Render: the progress bar shows while the job waits and runs, then the player.
    page.get_by_role("button", name="Make the episode").click()
    expect(page.locator("#render-progress")).to_be_visible()
    expect(page.locator("#render-status")).to_contain_text("Waiting to start")
    assert run_jobs(live_server.app) >= 1
    expect(page.locator("#render-status")).to_have_text(
        "The episode is ready. Listen to it below.", timeout=RENDER_TIMEOUT)
    expect(page.locator("#render-progress")).to_be_hidden()
    audio = page.locator("#episode-audio")
    expect(audio).to_have_attribute("src", re.compile(r"\.mp3$"))
    page.wait_for_function("""() => {
        const a = document.getElementById('episode-audio');
        return a.readyState >= 1 && a.duration > 0;
    }""")
    current = server.state(eid)["current"]
    assert audio.evaluate("a => a.duration") == pytest.approx(current["duration"], abs=0.5)
    expect(page.locator("[data-region=history] tbody tr")).to_have_count(1)
    expect(page.locator("[data-region=history] tbody tr")).to_contain_text("Made")
    expect(page.locator("[data-region=history] tbody tr")).to_contain_text("Sam")

    # One chapter a part; pressing one plays the episode from there.
    chapters = page.locator("#chapters button")
    expect(chapters).to_have_count(2)
    chapters.nth(1).click()
    page.wait_for_function("""() => {
        const a = document.getElementById('episode-audio');
        return !a.paused && a.currentTime > 0;
    }""")
    page.get_by_label("Write a comment for the other co-hosts").fill("Sounds good to me!")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator("[data-region=comments] li")).to_contain_text("Sam")
    expect(page.locator("[data-region=comments] li")).to_contain_text("Sounds good to me!")
    expect(page.get_by_label("Write a comment for the other co-hosts")).to_have_value("")
    axe_check(page, "studio-rendered")

    page.goto("/podcast/")
    expect(page.get_by_role("link", name="Finding home")).to_be_visible()
    axe_check(page, "studio-index")


def editor_picture(page) -> None:
    """The editor as a co-host sees it, under the bar that stays at the top: into
    artifacts/, and over docs/studio/editor.png when asked to refresh the docs."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "studio-editor.png"
    page.set_viewport_size(EDITOR_VIEW)
    page.evaluate("document.getElementById('step-edit').scrollIntoView({block: 'start'})")
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    if os.environ.get("DIARYROOM_REFRESH_DOCS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / "editor.png")


def test_a_save_crossing_someone_elses_shows_theirs(cohost_page, live_server, entries):
    page = cohost_page
    server = Server(live_server)
    eid = new_episode(page, "Two people at once")
    add_entry(page, entries["known"], 1)
    part = server.state(eid)["segments"][0]
    open_part(page, part["id"])

    # Someone else saves this part after the page loaded it…
    theirs = server.post(f"/episodes/{eid}/segments/{part['id']}/edits",
                         {"edits": {"gain_db": -6}, "version": part["version"]})
    assert theirs["version"] > part["version"]
    # …then this co-host changes it too: their change wins, and the page says so.
    page.get_by_label("Start at (seconds)").fill("0.5")
    page.keyboard.press("Tab")
    expect(page.get_by_role("alert")).to_have_text(CONFLICT)
    saved(page)
    expect(page.locator("#gain-value")).to_have_text("−6 dB")
    expect(page.get_by_label("Start at (seconds)")).to_have_value("0")
    edits = server.state(eid)["segments"][0]["edits"]
    assert edits.get("gain_db") == -6
    assert not edits.get("trim_start"), "the stale change was not saved over theirs"

    # The next change is made on their version, and saves.
    page.get_by_label("Start at (seconds)").fill("0.5")
    page.keyboard.press("Tab")
    saved(page)
    expect(page.get_by_role("alert")).to_be_hidden()
    assert server.state(eid)["segments"][0]["edits"]["trim_start"] == pytest.approx(0.5)


def test_the_music_page_credits_every_track(cohost_page, live_server, tmp_path, axe_check):
    page = cohost_page
    music = to_mp3(speak("la la la", tmp_path / "tune.wav"), tmp_path / "tune.mp3")
    page.goto("/podcast/music")
    page.get_by_label("Title").fill("Morning theme")
    page.get_by_label("Who made it").fill("The Hostel Band")
    page.get_by_label("Licence").fill("CC BY 4.0")
    page.get_by_label("The music file").set_input_files(str(music))
    page.get_by_role("button", name="Add the music").click()
    row = page.get_by_role("row").filter(has_text="Morning theme")
    expect(row).to_contain_text("The Hostel Band")
    expect(row).to_contain_text("CC BY 4.0")
    axe_check(page, "studio-music")


def test_a_stretch_cut_on_the_waveform_shortens_the_part(cohost_page, live_server, entries,
                                                         axe_check):
    page = cohost_page
    server = Server(live_server)
    eid = new_episode(page, "A stretch cut")
    add_entry(page, entries["known"], 1)
    part = server.state(eid)["segments"][0]
    whole = part["kept_duration"]
    open_part(page, part["id"])

    # "Cut a stretch", then a drag across the waveform: the boxes show the stretch.
    mode = page.get_by_role("button", name="Cut a stretch", exact=True)
    mode.click()
    expect(mode).to_have_attribute("aria-pressed", "true")
    page.locator("#waveform").scroll_into_view_if_needed()
    box = page.locator("#waveform").bounding_box()
    middle = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, middle)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, middle, steps=8)
    page.mouse.up()
    expect(page.get_by_label("To (seconds)")).not_to_have_value("")
    start = float(page.get_by_label("From (seconds)").input_value())
    end = float(page.get_by_label("To (seconds)").input_value())
    assert start == pytest.approx(part["duration"] * 0.3, abs=0.3)
    assert end == pytest.approx(part["duration"] * 0.6, abs=0.3)
    page.get_by_role("button", name="Cut this stretch").click()
    saved(page)
    cut = server.state(eid)["segments"][0]
    assert cut["edits"]["cut_ranges"] == [[start, end]]
    assert whole - cut["kept_duration"] == pytest.approx(end - start, abs=0.05)

    # Shaded on the waveform, listed with "Put back" (the keyboard is there now), and the
    # words whose middle is in it crossed out.
    stretch = f"the stretch from {start:.2f} s to {end:.2f} s"
    expect(page.locator("#stretches li")).to_have_text(
        re.compile(rf"^Cut from {start:.2f} s to {end:.2f} s \({end - start:.2f} s\)"))
    expect(page.get_by_role("button", name=f"Put back {stretch}")).to_be_focused()
    expect(page.locator("#waveform [part~='region']")).to_have_count(2)  # the trim and the cut
    inside = [i for i, w in enumerate(cut["words"]) if start < (w["start"] + w["end"]) / 2 < end]
    assert inside, "the stretch holds words"
    for i in inside:
        taken = page.locator(f"#words .word[data-index='{i}']")
        expect(taken).to_have_class(re.compile(r"\bcut\b"))
        expect(taken).to_contain_text("(cut)")

    # The same from the keyboard: the mode off, two boxes and the button.
    mode.click()
    expect(mode).to_have_attribute("aria-pressed", "false")
    page.get_by_label("From (seconds)").fill("0.1")
    page.get_by_label("To (seconds)").fill("0.5")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Cut this stretch")).to_be_focused()
    page.keyboard.press("Enter")
    saved(page)
    two = server.state(eid)["segments"][0]
    assert two["edits"]["cut_ranges"] == [[0.1, 0.5], [start, end]]
    assert whole - two["kept_duration"] == pytest.approx(end - start + 0.4, abs=0.05)
    axe_check(page, "studio-stretch")

    # Putting the dragged one back brings its sound and its words back.
    page.get_by_role("button", name=f"Put back {stretch}").click()
    saved(page)
    back = server.state(eid)["segments"][0]
    assert back["edits"]["cut_ranges"] == [[0.1, 0.5]]
    assert whole - back["kept_duration"] == pytest.approx(0.4, abs=0.05)
    expect(page.locator(f"#words .word[data-index='{inside[-1]}']")).not_to_have_class(
        re.compile(r"\bcut\b"))


STUDIO_RECORDS = """() => new Promise((resolve, reject) => {
    const open = indexedDB.open('diaryroom-studio', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('recordings', {keyPath: 'id'});
    open.onsuccess = () => {
        const req = open.result.transaction('recordings').objectStore('recordings').getAll();
        req.onsuccess = () => { open.result.close(); resolve(req.result.map(r => ({...r,
            blob: r.blob ? r.blob.size : null}))); };
        req.onerror = () => reject(req.error);
    };
    open.onerror = () => reject(open.error);
})"""


def studio_records(page) -> list[dict]:
    """The recordings the studio keeps in IndexedDB (blobs reduced to their size)."""
    return page.evaluate(STUDIO_RECORDS)


class NetworkCut:
    """The connection drops while the studio's tus upload is under way: the browser goes
    offline as its second PATCH leaves (that PATCH is lost), until ``back()``. Counts
    what reached the studio's tus endpoint. ``uploads_down`` keeps the uploads failing
    while the rest of the network is back (the upload server away), for a reload."""

    def __init__(self, page):
        self.page, self.creates, self.patches = page, 0, 0
        self.offline = self.uploads_down = self.dropped = False
        page.route("**/podcast/uploads**", self.handle)
        # Small chunks: the upload takes several PATCHes, so the drop is mid-upload.
        page.locator("#link-recorder").evaluate("e => { e.dataset.chunkSize = '4096'; }")

    def handle(self, route) -> None:
        method = route.request.method
        if self.offline or self.uploads_down:
            route.abort("internetdisconnected")
            return
        self.creates += method == "POST"
        self.patches += method == "PATCH"
        if method == "PATCH" and self.patches == 2 and not self.dropped:
            self.dropped = self.offline = True
            self.page.context.set_offline(True)
            route.abort("internetdisconnected")
            return
        route.continue_()

    def back(self, *, uploads_down: bool = False) -> None:
        self.offline, self.uploads_down = False, uploads_down
        self.page.context.set_offline(False)


def record_link(page) -> None:
    """Record a second and a half with the fake microphone, and stop."""
    page.get_by_role("button", name=re.compile("^(Start recording|Record again)$")).click()
    expect(page.locator("#rec-live")).to_be_visible()
    expect(page.get_by_role("button", name="Stop")).to_be_focused()
    page.wait_for_function(
        "() => Number(document.getElementById('rec-level').getAttribute('aria-valuenow')) > 10")
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#rec-playback")).to_be_visible()
    expect(page.get_by_role("button", name="Add this recording")).to_be_focused()


DROPPED = "The connection dropped. Your recording is safe on this computer"


def test_a_cohost_records_a_link_with_the_kiosks_recorder(media_browser, live_server,  # noqa: F811
                                                          entries):
    """The studio records with static/kiosk/recorder.js (a fake microphone plays speech),
    keeps the take in IndexedDB (the kiosk's store.js) and sends it with the kiosk's tus
    uploader: the connection drops mid-upload, the page says so, and the upload carries
    on when it is back. The recording goes into the episode as a co-host link, dragged
    into place."""
    server = Server(live_server)
    with page_opener(media_browser, live_server.url) as open_page:
        page = open_page()
        sign_in(page, live_server.world.account("cohost").email)
        eid = new_episode(page, "In my own words")
        add_entry(page, entries["known"], 1)
        record_link(page)
        (kept,) = studio_records(page)  # kept as soon as it was recorded
        assert kept["episodeId"] == eid and kept["blob"] > 8192 and kept["uploadUrl"] is None

        cut = NetworkCut(page)
        page.get_by_role("button", name="Add this recording").click()
        expect(page.locator("#rec-status")).to_contain_text(DROPPED)
        (kept,) = studio_records(page)  # still here, with where its upload is
        assert kept["uploadUrl"].startswith(live_server("/podcast/uploads/"))
        cut.back()
        expect(page.locator("#parts li.part")).to_have_count(2)
        expect(page.locator("#parts li.part").nth(1)).to_contain_text("Co-host link")
        expect(page.locator("#rec-status")).to_contain_text("Your recording was added")
        assert [p["kind"] for p in server.state(eid)["segments"]] == ["entry", "recording"]
        assert cut.creates == 1, "one upload, resumed after the drop, not started again"
        assert cut.patches >= 3
        assert studio_records(page) == []  # forgotten only once the server had it

        # With a mouse, the link is dragged above the entry.
        items = page.locator("#parts li.part")
        items.nth(1).drag_to(items.nth(0), target_position={"x": 20, "y": 5})
        expect(items.nth(0)).to_contain_text("Co-host link")
    assert [p["kind"] for p in server.state(eid)["segments"]] == ["recording", "entry"]


def test_a_recording_left_unsent_is_offered_again_after_a_reload(media_browser,  # noqa: F811
                                                                  live_server, entries,
                                                                  axe_check):
    """The page is reloaded while the upload cannot get through: the recording is offered
    again ("Send it" / "Delete it") and, sent, resumes its upload where it stopped."""
    server = Server(live_server)
    with page_opener(media_browser, live_server.url) as open_page:
        page = open_page()
        sign_in(page, live_server.world.account("cohost").email)
        eid = new_episode(page, "Sent after all")
        add_entry(page, entries["known"], 1)
        record_link(page)
        cut = NetworkCut(page)
        page.get_by_role("button", name="Add this recording").click()
        expect(page.locator("#rec-status")).to_contain_text(DROPPED)
        cut.back(uploads_down=True)
        page.reload()

        offer = page.get_by_role("group", name=re.compile(
            r"^You have a recording that was not sent yet \(0:0\d long, made on "))
        expect(offer).to_be_visible()
        expect(page.locator("#rec-unsent-playback")).to_have_attribute("src", re.compile("^blob:"))
        axe_check(page, "studio-unsent")
        cut.uploads_down = False
        offer.get_by_role("button", name="Send it").click()
        expect(page.locator("#parts li.part")).to_have_count(2)
        expect(page.locator("#rec-status")).to_contain_text("Your recording was added")
        expect(offer).to_be_hidden()
        assert cut.creates == 1, "resumed after the reload, not started again"
        assert studio_records(page) == []

        # A take recorded and left (never added) is offered too, and can be deleted.
        record_link(page)
        page.reload()
        expect(offer).to_be_visible()
        offer.get_by_role("button", name="Delete it").click()
        expect(offer).to_be_hidden()
        expect(page.locator("#rec-status")).to_have_text(
            "The recording that was not sent is deleted.")
        assert studio_records(page) == []
    assert [p["kind"] for p in server.state(eid)["segments"]] == ["entry", "recording"]


def test_a_withdrawn_entry_shows_at_the_top_without_a_reload(cohost_page, live_server, tmp_path,
                                                             axe_check):
    page = cohost_page
    text = "I would rather keep this to myself now"
    mp3 = to_mp3(speak(text, tmp_path / "taken.wav"), tmp_path / "taken.mp3")
    taken_back = ready_entry(live_server.app, live_server.org_id, mp3, text=text,
                             audience="public")
    eid = new_episode(page, "Taken back")
    add_entry(page, taken_back, 1)
    part = Server(live_server).state(eid)["segments"][0]["id"]

    staff = bearer(live_server.world.account("staff").token)
    withdrawn = live_server.app.test_client().post(f"/api/v1/entries/{taken_back}/withdraw",
                                                   headers=staff)
    assert withdrawn.status_code == 200, withdrawn.text

    problems = page.get_by_role("region", name="Something needs your attention")
    expect(problems).to_contain_text(f"Part 1 (Entry {taken_back}) was withdrawn",
                                     timeout=WATCH_TIMEOUT)
    expect(page.locator(f"#part-{part} .part-problem")).to_contain_text("Problem:")
    problems.get_by_role("link", name="Go to that part").click()
    expect(page).to_have_url(re.compile(rf"#part-{part}$"))
    axe_check(page, "studio-problems")
