"""The kiosk end to end: Debian's headless Chromium, its fake microphone playing speech made
with espeak-ng and its fake camera playing ffmpeg's test pattern, against a real
`diaryroom serve` process (with its embedded job workers) on an installation made with
the `diaryroom` command, on SQLite or (with DIARYROOM_TEST_DATABASE_URL) PostgreSQL.

Nothing is faked between the page and the server: what each test asserts is what the
server really stored (read through the staff API, the database and the decrypted
originals), including a transcript of the speech, and an upload that survives the server
being killed with SIGKILL half-way and started again.

Screenshots: artifacts/screenshots/kiosk/<nn>-e2e-<screen>.png (21 onwards).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import expect

from diaryroom.auth.principal import KIOSK_COOKIE
from tests.browser.conftest import (
    AXE,
    AXE_PATH,
    CHROMIUM,
    CHROMIUM_FLAGS,
    SCREENSHOTS,
    VIEWPORT,
    PageProblems,
)
from tests.browser.e2e_support import (
    DISTINCTIVE,
    KIOSK_NAME,
    RECEIPT,
    Installation,
    ServerProcess,
    ffprobe,
    free_port,
    idb_records,
    make_clip_y4m,
    make_speech_wav,
    media_flags,
    wait_for,
    words_of,
)
from tests.conftest import fresh_database

pytestmark = pytest.mark.slow

TRANSCRIBE_TIMEOUT = 120  # seconds for the embedded worker to transcribe one recording
SAVE_TIMEOUT = 30_000     # ms from "Keep it" to the receipt, with the server up
UPLOAD_PATH = re.compile(r"/kiosk/uploads/([0-9a-f]{32})$")


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def installation(tmp_path_factory) -> Iterator[Installation]:
    """`diaryroom init`, a staff account and API token, a paired kiosk, a question card."""
    folder = tmp_path_factory.mktemp("kiosk-e2e")
    with fresh_database(folder, label="e2e") as url:
        install = Installation.create(folder, url)
        try:
            install.set_up()
            yield install
        finally:
            install.close()


@pytest.fixture(scope="module")
def main_server(installation) -> Iterator[ServerProcess]:
    server = ServerProcess(installation, installation.port, name="main")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(main_server) -> Iterator[ServerProcess]:
    """The module's server, started again if an earlier test left it dead. The end of its
    log is printed afterwards (pytest shows it when the test fails)."""
    if not main_server.alive():
        main_server.start()
    yield main_server
    print(f"--- end of {main_server.log} ---\n{main_server.log_tail(60)}")


@pytest.fixture(scope="module")
def media_browser(browser, tmp_path_factory):
    """A Chromium (from the session's Playwright) whose fake microphone plays the speech
    and whose fake camera plays the test pattern, both looped."""
    folder = tmp_path_factory.mktemp("fake-media")
    speech, clip = make_speech_wav(folder), make_clip_y4m(folder)
    media = browser.browser_type.launch(executable_path=str(CHROMIUM), headless=True,
                                        args=CHROMIUM_FLAGS + media_flags(speech, clip))
    try:
        yield media
    finally:
        media.close()


@dataclass
class Kiosk:
    page: object
    server: ServerProcess
    requests: list[tuple[str, str]] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # what the server said, for failures

    def upload_ids(self) -> list[str]:
        """The tus uploads this page created or wrote to, in order, without repeats."""
        seen: list[str] = []
        for _, url in self.requests:
            match = UPLOAD_PATH.search(url.split("?")[0])
            if match and match.group(1) not in seen:
                seen.append(match.group(1))
        return seen

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for m, u in self.requests if m == method and re.search(pattern, u))


@pytest.fixture(scope="module")
def kiosk_cookies() -> dict[str, list[dict]]:
    """The kiosk cookie each server set when its pairing link was opened, so that later
    contexts need not pair again (pairing is rate-limited per address)."""
    return {}


@pytest.fixture
def open_kiosk(media_browser, installation, kiosk_cookies) -> Iterator:
    """``open_kiosk(server)``: a fresh browser context paired as the kiosk, on /kiosk/.
    The first one for each server opens the pairing link `diaryroom kiosk pair` printed
    (its page submits by itself); later ones are given the cookie that earned. Page
    errors and CSP refusals fail the test."""
    contexts, kiosks, problems = [], [], PageProblems()
    (SCREENSHOTS / "kiosk").mkdir(parents=True, exist_ok=True)

    def open_page(on: ServerProcess) -> Kiosk:
        context = media_browser.new_context(viewport=VIEWPORT, base_url=on.url)
        context.set_default_timeout(15_000)
        context.route(f"**{AXE_PATH}", lambda route: route.fulfill(
            path=str(AXE), content_type="text/javascript"))
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        kiosk = Kiosk(page, on)
        page.on("request", lambda r: kiosk.requests.append((r.method, r.url)))
        page.on("response", lambda r: kiosk.answers.append(
            f"{r.request.method} {r.url} -> {r.status}"))
        page.on("requestfailed", lambda r: kiosk.answers.append(
            f"{r.method} {r.url} -> failed: {r.failure}"))
        kiosks.append(kiosk)
        if on.url in kiosk_cookies:
            context.add_cookies(kiosk_cookies[on.url])
            page.goto("/kiosk/")
        else:
            link = installation.pairing_link.replace(
                installation.env["DIARYROOM_BASE_URL"], on.url)
            assert link.startswith(on.url + "/kiosk/pair#token=")
            page.goto(link)
            expect(page).to_have_url(on("/kiosk/"))
            kiosk_cookies[on.url] = [c for c in context.cookies()
                                     if c["name"] == KIOSK_COOKIE]
            assert kiosk_cookies[on.url], "pairing set no kiosk cookie"
        # The kiosk's name is for staff: shown on the pairing page, not to the person.
        page.goto(on("/kiosk/pair"))
        expect(page.locator(".kiosk-name")).to_contain_text(KIOSK_NAME)
        page.goto(on("/kiosk/"))
        expect(page).to_have_url(on("/kiosk/"))
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        expect(page.locator(".kiosk-name")).to_have_count(0)
        return kiosk

    yield open_page
    for kiosk in kiosks:  # shown by pytest when the test fails
        print("\n".join(["--- what the server answered the page ---", *kiosk.answers[-60:]]))
    for context in contexts:
        context.close()
    assert not problems.errors, "\n".join(problems.errors)


# --- the page ------------------------------------------------------------------------------

def expect_screen(page, name: str, heading: str | None = None, timeout: float = 10_000) -> None:
    expect(page.locator("body")).to_have_attribute("data-screen", name, timeout=timeout)
    if heading is not None:
        expect(page.get_by_role("heading", level=1)).to_have_accessible_name(heading)


def begin(page, button: str, first_choice: str) -> None:
    """From the welcome screen: choose how, then "Just talk" / "Just write"."""
    expect_screen(page, "welcome")
    page.get_by_role("button", name=button).click()
    expect_screen(page, "cards", "Would you like a question to start you off?")
    page.get_by_role("button", name=first_choice).click()


def record_for(page, seconds: float) -> None:
    """Wait until the microphone is ready, record, and stop after ``seconds``."""
    start = page.get_by_role("button", name="Start recording")
    expect(start).to_be_enabled(timeout=15_000)
    start.click()
    expect(page.locator("#record-status")).to_have_attribute("data-mode", "recording")
    page.wait_for_timeout(seconds * 1000)
    page.get_by_role("button", name="Stop").click()
    expect_screen(page, "review", "Listen back")


def playback_seconds(page, element: str) -> float:
    media = page.locator(element)
    expect(media).to_be_visible()
    expect(media).to_have_attribute("data-duration", re.compile(r"\d"), timeout=10_000)
    return float(media.get_attribute("data-duration"))


def keep_and_get_receipt(page) -> str:
    page.get_by_role("button", name="Keep it").click()
    expect_screen(page, "receipt", "Saved safely", timeout=SAVE_TIMEOUT)
    code = page.locator("#receipt-code").inner_text().strip()
    assert RECEIPT.match(code), f"not a receipt code: {code!r}"
    return code


def page_sha256(page) -> str:
    value = page.evaluate("document.body.dataset.lastSha256 || ''")
    assert re.fullmatch(r"[0-9a-f]{64}", value), f"data-last-sha256 is {value!r}"
    return value


def check(axe_check, page, name: str) -> None:
    axe_check(page, f"kiosk/{name}")


# --- the server ----------------------------------------------------------------------------

def entry_for_receipt(server: ServerProcess, code: str) -> dict:
    """The entry (GET /api/v1/entries/{id}, as staff) whose receipt code is ``code``."""
    status, listing = server.api("/entries")
    assert status == 200, listing
    for summary in listing["entries"]:  # newest first
        status, entry = server.api(f"/entries/{summary['id']}")
        assert status == 200, entry
        if entry["receipt_code"] == code:
            return entry
    pytest.fail(f"no entry has the receipt code {code}")


def wait_until_transcribed(server: ServerProcess, entry_id: int) -> dict:
    def done():
        status, entry = server.api(f"/entries/{entry_id}")
        assert status == 200, entry
        if entry["status"] == "needs_attention":
            pytest.fail(f"transcription failed: {entry['status_reason']}\n"
                        f"{server.log_tail()}")
        return entry if entry["status"] == "awaiting_review" else None
    return wait_for(done, timeout=TRANSCRIBE_TIMEOUT, interval=1,
                    what=f"entry {entry_id} to be transcribed")


def check_upload(installation: Installation, kiosk: Kiosk, sha256: str) -> dict:
    """Exactly one tus upload, complete, used for the entry, and holding the very bytes
    the page hashed (the uploads table keeps the SHA-256 of what arrived)."""
    (upload_id,) = kiosk.upload_ids()
    row = installation.upload_row(upload_id)
    assert row["offset"] == row["length"] > 0
    assert row["completed_at"] is not None and row["consumed_at"] is not None
    assert row["sha256"] == sha256, "the server received other bytes than the page sent"
    return row


def streams(installation: Installation, key: str, folder) -> dict[str, list[dict]]:
    probe = ffprobe(installation.decrypted_original(key, folder))
    by_type: dict[str, list[dict]] = {"audio": [], "video": []}
    for stream in probe["streams"]:
        by_type.setdefault(stream["codec_type"], []).append(stream)
    by_type["format"] = [probe["format"]]
    return by_type


# --- recording with sound -----------------------------------------------------------------

def test_record_audio_keep_and_it_is_transcribed(open_kiosk, server, installation, axe_check,
                                                 tmp_path):
    kiosk = open_kiosk(server)
    page = kiosk.page
    begin(page, "Record with sound", "Just talk")
    expect_screen(page, "consent", "Who may hear your recording?")
    page.get_by_role("radio", name="People who work here").check()
    # Kept on beyond the team, unless they untick it.
    expect(page.get_by_role("checkbox", name="Change how my voice sounds")).to_be_checked()
    page.get_by_role("checkbox", name="Yes, you may share a few of my words").check()
    page.get_by_role("button", name="Next: start recording").click()
    expect_screen(page, "record", "Record your message")
    record_for(page, 7)
    seconds = playback_seconds(page, "#playback-audio")
    assert seconds > 4, f"the recording plays for {seconds} s"

    code = keep_and_get_receipt(page)
    check(axe_check, page, "21-e2e-receipt-audio")
    assert idb_records(page) == []  # confirmed by the server, so gone from the kiosk
    sha256 = page_sha256(page)

    entry = entry_for_receipt(server, code)
    assert entry["kind"] == "audio"
    assert entry["consent"] == {"audience": "organisation", "voice": "disguise",
                                "panel_quotes": True}
    assert [h["action"] for h in entry["consent_history"]] == ["given"]
    assert entry["duration"] > 4
    check_upload(installation, kiosk, sha256)

    row = installation.entry_row(entry["id"])
    found = streams(installation, row["original_key"], tmp_path)
    assert len(found["audio"]) == 1 and not found["video"], found
    assert float(found["format"][0]["duration"]) > 4

    # The embedded worker transcribes it: the stored audio really holds the speech.
    wait_until_transcribed(server, entry["id"])
    status, transcript = server.api(f"/entries/{entry['id']}/transcript")
    assert status == 200, transcript
    print(f"transcript of entry {entry['id']}: {transcript['text']!r}")
    heard = words_of(transcript["text"]) & set(DISTINCTIVE)
    assert len(heard) >= 2, f"transcript: {transcript['text']!r}"


# --- recording with video -----------------------------------------------------------------

def test_record_video_keeps_a_video_original(open_kiosk, server, installation, axe_check,
                                             tmp_path):
    kiosk = open_kiosk(server)
    page = kiosk.page
    begin(page, "Record with video", "Just talk")
    expect_screen(page, "consent", "Who may hear your recording?")
    page.get_by_role("button", name="Next: start recording").click()  # the safest choices
    expect_screen(page, "record")
    page.wait_for_function("() => document.getElementById('preview').videoWidth > 0")
    record_for(page, 4)
    assert playback_seconds(page, "#playback-video") > 2.5

    code = keep_and_get_receipt(page)
    check(axe_check, page, "22-e2e-receipt-video")
    entry = entry_for_receipt(server, code)
    assert entry["kind"] == "video"
    assert entry["consent"] == {"audience": "team", "voice": "disguise", "panel_quotes": False}
    check_upload(installation, kiosk, page_sha256(page))

    row = installation.entry_row(entry["id"])
    assert row["kind"] == "video"
    found = streams(installation, row["original_key"], tmp_path)
    assert len(found["video"]) == 1, found
    video = found["video"][0]
    assert video["codec_name"] in ("vp8", "vp9", "h264", "av1")
    assert int(video["width"]) > 0 and int(video["height"]) > 0
    assert len(found["audio"]) == 1  # and the sound with it


# --- writing --------------------------------------------------------------------------------

WRITTEN = "The laundry room door is broken again. Please can someone fix it this week?"


def test_written_entry(open_kiosk, server, installation, axe_check, tmp_path):
    kiosk = open_kiosk(server)
    page = kiosk.page
    begin(page, "Write instead", "Just write")
    expect_screen(page, "write", "Write your message")
    page.get_by_role("textbox", name="Your message").fill(WRITTEN)
    page.get_by_role("button", name="Next: choose who may read it").click()
    expect_screen(page, "consent", "Who may read what you wrote?")
    page.get_by_role("radio", name="Anyone on the internet").check()
    page.get_by_role("button", name="Send it").click()
    expect_screen(page, "receipt", "Saved safely", timeout=SAVE_TIMEOUT)
    code = page.locator("#receipt-code").inner_text().strip()
    assert RECEIPT.match(code), code
    check(axe_check, page, "23-e2e-receipt-write")
    assert idb_records(page) == []
    assert kiosk.upload_ids() == []  # words go in the entry itself, not by tus

    entry = entry_for_receipt(server, code)
    assert entry["kind"] == "text"
    # Writing has no voice to disguise; the server keeps the safe value.
    assert entry["consent"] == {"audience": "public", "voice": "disguise", "panel_quotes": False}
    row = installation.entry_row(entry["id"])
    stored = installation.decrypted_original(row["original_key"], tmp_path)
    assert stored.read_text() == WRITTEN


# --- listen back and record again -----------------------------------------------------------

def test_record_again_then_keep_makes_one_entry(open_kiosk, server, installation):
    kiosk = open_kiosk(server)
    page = kiosk.page
    entries_before, uploads_before = installation.count("entries"), installation.count("uploads")
    begin(page, "Record with sound", "Just talk")
    page.get_by_role("button", name="Next: start recording").click()
    record_for(page, 1.5)
    first = playback_seconds(page, "#playback-audio")
    page.get_by_role("button", name="Record again").click()
    expect_screen(page, "record", "Record your message")
    record_for(page, 4.5)
    second = playback_seconds(page, "#playback-audio")
    assert first < 3 < second, (first, second)

    code = keep_and_get_receipt(page)
    assert installation.count("entries") == entries_before + 1
    assert installation.count("uploads") == uploads_before + 1
    assert kiosk.count("POST", r"/kiosk/entries$") == 1
    assert kiosk.count("POST", r"/kiosk/uploads$") == 1
    entry = entry_for_receipt(server, code)
    assert entry["duration"] > 3, "the kept entry is not the second recording"
    check_upload(installation, kiosk, page_sha256(page))
    assert idb_records(page) == []


# --- changing your mind: withdraw by receipt code --------------------------------------------

PRIVATE = "My key worker Priscilla helped me with the housing forms on Tuesday."


def test_withdraw_by_receipt_code(open_kiosk, server, installation, axe_check):
    kiosk = open_kiosk(server)
    page = kiosk.page
    begin(page, "Write instead", "Just write")
    page.get_by_role("textbox", name="Your message").fill(PRIVATE)
    page.get_by_role("button", name="Next: choose who may read it").click()
    page.get_by_role("radio", name="People who work here").check()
    page.get_by_role("checkbox", name="Yes, you may share a few of my words").check()
    page.get_by_role("button", name="Send it").click()
    expect_screen(page, "receipt", "Saved safely", timeout=SAVE_TIMEOUT)
    code = page.locator("#receipt-code").inner_text().strip()
    entry = entry_for_receipt(server, code)
    key = installation.entry_row(entry["id"])["original_key"]
    assert key and installation.original_exists(key)
    page.get_by_role("button", name="Finish").click()
    page.get_by_role("button", name="Yes, finish").click()
    expect_screen(page, "welcome", "Diary Room")

    page.get_by_role("button", name="Change my mind about something I made before").click()
    expect_screen(page, "change", "Change your mind")
    words = code.split("-")
    typed = f"  {words[0].upper()} {words[1].title()}   {words[2]} {words[3]} "
    page.get_by_role("textbox", name="Your code").fill(typed)
    page.get_by_role("button", name="Find it").click()
    expect_screen(page, "change-found", "We found it")
    facts = page.locator(".facts")
    expect(facts).to_contain_text("People who work here")
    expect(facts).to_contain_text("Yes, a few words may be shared")
    # The choices, never the words themselves.
    assert "Priscilla" not in page.content()
    assert "Priscilla" not in page.locator("body").inner_text()
    check(axe_check, page, "24-e2e-change-found")

    page.get_by_role("button", name="Take it back").click()
    expect_screen(page, "withdraw", "Take it back?")
    page.get_by_role("button", name="Yes, take it back").click()
    expect_screen(page, "change-done", "It has been taken back")
    check(axe_check, page, "25-e2e-withdrawn")

    status, after = server.api(f"/entries/{entry['id']}")
    assert status == 200, after
    assert after["status"] == "withdrawn"
    assert [h["action"] for h in after["consent_history"]] == ["given", "withdrawn"]
    assert after["consent_history"][-1]["actor"].startswith("receipt@kiosk:")
    assert installation.entry_row(entry["id"])["original_key"] is None
    assert not installation.original_exists(key), "the withdrawn original is still stored"

    # Looking it up again says so, and offers nothing more to do.
    page.get_by_role("button", name="Finish").click()
    page.get_by_role("button", name="Change my mind about something I made before").click()
    page.get_by_role("textbox", name="Your code").fill(code)
    page.get_by_role("button", name="Find it").click()
    expect_screen(page, "change-found")
    expect(page.locator("#found-withdrawn")).to_be_visible()
    expect(page.locator("#found-actions")).to_be_hidden()
    # ...and no words offering changes beside it (issue 9, item 4).
    expect(page.locator("#screen-change-found [data-when-active]").first).to_be_hidden()
    expect(page.locator("#screen-change-found .lead:visible")).to_have_count(1)


# --- going idle ---------------------------------------------------------------------------------

@pytest.fixture
def idle_server(installation) -> Iterator[ServerProcess]:
    """A second server on the same data and database whose kiosks go idle after 5 s (the
    least the setting allows); no workers, so the main server's keep the queue."""
    server = ServerProcess(installation, free_port(), workers=False, name="idle",
                           extra_env={"DIARYROOM_KIOSK_IDLE_SECONDS": "5"})
    try:
        server.start()
        yield server
        print(f"--- end of {server.log} ---\n{server.log_tail(60)}")
    finally:
        server.stop()


def test_idle_wipes_an_unkept_recording(open_kiosk, idle_server, installation, axe_check):
    kiosk = open_kiosk(idle_server)
    page = kiosk.page
    expect(page.locator("body")).to_have_attribute("data-idle-seconds", "5")
    entries_before, uploads_before = installation.count("entries"), installation.count("uploads")
    begin(page, "Record with sound", "Just talk")
    page.get_by_role("button", name="Next: start recording").click()
    record_for(page, 2)
    playback_seconds(page, "#playback-audio")
    page.evaluate("sessionStorage.setItem('left-over', 'something private')")

    # Hands off: the warning comes (for about a second), then the start screen.
    page.wait_for_function("() => document.body.dataset.idle === 'warning'",
                           polling="raf", timeout=15_000)
    expect(page.get_by_role("dialog", name="Are you still there?")).to_be_attached()
    expect_screen(page, "welcome", "Diary Room", timeout=10_000)
    expect(page.get_by_role("dialog", name="Are you still there?")).to_be_hidden()
    page.wait_for_function("() => sessionStorage.length === 0", timeout=5_000)
    assert idb_records(page) == []
    assert page.evaluate("document.getElementById('playback-audio').hasAttribute('src')") is False
    check(axe_check, page, "26-e2e-welcome-after-idle")
    assert kiosk.upload_ids() == [] and kiosk.count("POST", r"/kiosk/entries$") == 0
    assert installation.count("entries") == entries_before
    assert installation.count("uploads") == uploads_before


# --- an upload that outlives the server ----------------------------------------------------

def test_upload_survives_the_server_being_killed_and_restarted(open_kiosk, server,
                                                               installation, axe_check):
    kiosk = open_kiosk(server)
    page = kiosk.page
    begin(page, "Record with sound", "Just talk")
    page.get_by_role("button", name="Next: start recording").click()
    record_for(page, 6)
    playback_seconds(page, "#playback-audio")
    page.evaluate("document.body.dataset.chunkSize = '8192'")  # several PATCHes

    # The server dies (SIGKILL, whole process group) just as the second PATCH is sent,
    # so that PATCH meets a dead port and the page's tus client has to retry.
    patches: list[str] = []
    killed_at: dict = {}

    def on_upload(route, request):
        if request.method == "PATCH":
            patches.append(request.headers.get("upload-offset", ""))
            if len(patches) == 2 and not killed_at:
                server.kill()
                killed_at["upload"] = UPLOAD_PATH.search(request.url).group(1)
        route.continue_()

    page.route(UPLOAD_PATH, on_upload)
    entries_before = installation.count("entries")
    page.get_by_role("button", name="Keep it").click()
    expect_screen(page, "saving", "Saving")
    wait_for(lambda: killed_at, timeout=20, interval=0.1, what="the second PATCH",
             pump=page.wait_for_timeout)
    page.unroute(UPLOAD_PATH, on_upload)
    assert not server.alive()
    (kept,) = idb_records(page)  # safe on the kiosk meanwhile
    assert kept["state"] == "kept" and kept["uploadUrl"].endswith(killed_at["upload"])
    row = installation.upload_row(killed_at["upload"])
    assert 0 < row["offset"] < row["length"], row  # really half-way
    page.wait_for_timeout(2000)
    expect_screen(page, "saving")
    check(axe_check, page, "27-e2e-saving-server-down")

    server.start()  # the same port, data dir and database
    expect_screen(page, "receipt", "Saved safely", timeout=60_000)
    code = page.locator("#receipt-code").inner_text().strip()
    assert RECEIPT.match(code), code
    check(axe_check, page, "28-e2e-receipt-after-restart")
    assert idb_records(page) == []

    # Resumed, not started again: one upload, continued where the server had got to.
    assert kiosk.count("POST", r"/kiosk/uploads$") == 1
    assert kiosk.upload_ids() == [killed_at["upload"]]
    assert kiosk.count("HEAD", killed_at["upload"]) >= 1
    check_upload(installation, kiosk, page_sha256(page))
    assert installation.count("entries") == entries_before + 1
    entry = entry_for_receipt(server, code)
    assert entry["kind"] == "audio" and entry["duration"] > 4


def test_a_reload_mid_upload_resumes_from_indexeddb(open_kiosk, server, installation):
    """The connection drops after the first chunk and the page is reloaded (a crash, a
    power cut): the kept recording comes back out of IndexedDB and the same upload
    carries on from where the server had got to."""
    kiosk = open_kiosk(server)
    page = kiosk.page
    begin(page, "Record with sound", "Just talk")
    page.get_by_role("button", name="Next: start recording").click()
    record_for(page, 4)
    page.evaluate("document.body.dataset.chunkSize = '8192'")
    patches: list[str] = []

    def drop_after_first(route, request):
        if request.method == "PATCH":
            patches.append(request.url)
            if len(patches) > 1:
                route.abort("connectionreset")
                return
        route.continue_()

    page.route(UPLOAD_PATH, drop_after_first)
    page.get_by_role("button", name="Keep it").click()
    wait_for(lambda: len(patches) > 1, timeout=20, interval=0.1, what="a dropped PATCH",
             pump=page.wait_for_timeout)
    (kept,) = idb_records(page)
    upload_id = UPLOAD_PATH.search(kept["uploadUrl"]).group(1)
    assert 0 < installation.upload_row(upload_id)["offset"] < kept["blob"]
    page.unroute(UPLOAD_PATH, drop_after_first)

    page.reload()
    expect_screen(page, "saving", "Saving")
    expect(page.locator("#saving-resumed")).to_have_text(
        "We are still saving your last recording.")
    expect_screen(page, "receipt", "Saved safely", timeout=SAVE_TIMEOUT)
    expect(page.locator("#receipt-code")).to_have_text(RECEIPT)  # still the same person
    assert kiosk.count("POST", r"/kiosk/uploads$") == 1
    assert kiosk.upload_ids() == [upload_id]
    check_upload(installation, kiosk, page_sha256(page))
    assert idb_records(page) == []
