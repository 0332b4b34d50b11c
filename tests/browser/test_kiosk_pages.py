"""The kiosk in a real browser: Debian's Chromium with a fake microphone and camera (the
microphone plays speech made with espeak-ng), every screen reached by clicking, axe-core
on every screen, and the layout at 1024 x 768, in portrait and at 200% zoom.

The server's JSON actions and tus endpoint are answered here by Playwright (``FakeServer``)
so these tests pin down exactly what the page sends and how it copes with a dropped
connection, a failing server and a reload; the real endpoints have their own tests.

Screenshots: artifacts/screenshots/kiosk/<nn>-<screen>.png.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect

from diaryroom import tenancy
from diaryroom.extensions import db
from kiosk.cards import QuestionCard
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    SCREENSHOTS,
    check_page,
    page_opener,
    sign_in,
)
from tests.browser.e2e_support import idb_records

CARD_TEXT = "What helped you this week?"
SPEECH = ("Hello. This is a test of the diary room. I am talking about my week, "
          "what went well, and what could be better. Thank you for listening.")


# --- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> Path:
    """A few sentences of speech for the fake microphone (48 kHz mono WAV)."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is required (make test installs it)")
    folder = tmp_path_factory.mktemp("speech")
    raw, wav = folder / "raw.wav", folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(raw), SPEECH], check=True)
    subprocess.run(["sox", str(raw), "-r", "48000", "-c", "1", "-b", "16", str(wav)], check=True)
    return wav


@pytest.fixture(scope="module")
def media_browser(browser, speech_wav):
    """A second Chromium (from the session's Playwright) with a fake camera, and a fake
    microphone that plays ``speech_wav``."""
    media = browser.browser_type.launch(
        executable_path=str(CHROMIUM), headless=True,
        args=CHROMIUM_FLAGS + [
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={speech_wav}",
            "--autoplay-policy=no-user-gesture-required"])
    try:
        yield media
    finally:
        media.close()


@pytest.fixture
def question_card(live_server):
    """One active question card in the kiosk's organisation, removed afterwards."""
    app = live_server.app
    with app.app_context(), tenancy.as_org(live_server.org_id):
        card = QuestionCard(org_id=live_server.org_id, text=CARD_TEXT, position=1)
        db.session.add(card)
        db.session.commit()
        card_id = card.id
    yield card_id
    with app.app_context(), tenancy.as_org(live_server.org_id):
        db.session.query(QuestionCard).filter_by(id=card_id).delete()
        db.session.commit()


@pytest.fixture
def open_kiosk(media_browser, live_server, question_card):
    """``open_kiosk(viewport=None)``: a new browser context paired as kiosk A, on /kiosk/.
    Page errors and CSP refusals fail the test."""
    (SCREENSHOTS / "kiosk").mkdir(parents=True, exist_ok=True)
    with page_opener(media_browser, live_server.url) as new_context_page:

        def open_page(viewport: dict | None = None, **options):
            page = new_context_page(viewport, **options)
            page.goto("/kiosk/pair")
            page.get_by_label("Pairing code").fill(live_server.world.kiosk_tokens["A"])
            page.get_by_role("button", name="Pair").click()
            expect(page).to_have_url(live_server("/kiosk/"))
            expect(page.locator("body")).to_have_attribute("data-ready", "true")
            return page

        yield open_page


@pytest.fixture
def kiosk(open_kiosk):
    return open_kiosk()


@dataclass
class FakeServer:
    """Answers the kiosk's tus endpoint and JSON actions inside the browser context, and
    records what the page sent. While ``entries_down``, /kiosk/entries answers 503;
    ``drop_patch`` aborts that PATCH (1-based) once, as a lost connection would;
    ``patch_stall`` makes every PATCH after that many fail with 503 until cleared. The
    CSRF header must equal ``csrf`` (read from the page), or just be there if that is ""."""

    base: str
    csrf: str = ""
    uploads: dict[str, bytearray] = field(default_factory=dict)
    lengths: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    entries_down: bool = False
    csrf_fail_once: bool = False
    tokens: list[str] = field(default_factory=list)
    drop_patch: int | None = None
    patch_stall: int | None = None
    patches: int = 0
    receipt: str = "amber-otter-lake-27"
    lookups: list[dict] = field(default_factory=list)
    consent_changes: list[dict] = field(default_factory=list)
    withdrawals: list[dict] = field(default_factory=list)

    def install(self, page) -> FakeServer:
        self.csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
        page.context.route(re.compile(r".*/kiosk/uploads(/[0-9a-f]+)?$"), self.tus)
        page.context.route("**/kiosk/entries", self.entry)
        page.context.route("**/kiosk/receipts/*", self.receipts)
        return self

    def check_token(self, headers: dict) -> None:
        token = headers.get("x-csrftoken")
        assert token and (not self.csrf or token == self.csrf), "send the page's CSRF token"

    def _json(self, route, status: int, body: dict) -> None:
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    def tus(self, route, request) -> None:
        method, url = request.method, request.url
        self.requests.append((method, url))
        headers = request.headers
        assert headers.get("tus-resumable") == "1.0.0"
        if method != "HEAD":
            self.check_token(headers)
        tus = {"Tus-Resumable": "1.0.0"}
        if method == "POST":
            upload_id = uuid.uuid4().hex
            self.uploads[upload_id] = bytearray()
            self.lengths[upload_id] = int(headers["upload-length"])
            route.fulfill(status=201, headers={
                **tus, "Location": f"{self.base}/kiosk/uploads/{upload_id}",
                "Access-Control-Expose-Headers": "Location, Upload-Offset"})
            return
        upload_id = url.rstrip("/").rsplit("/", 1)[-1]
        if upload_id not in self.uploads:
            route.fulfill(status=404, headers=tus)
            return
        data = self.uploads[upload_id]
        if method == "HEAD":
            route.fulfill(status=200, headers={**tus, "Upload-Offset": str(len(data)),
                                               "Upload-Length": str(self.lengths[upload_id]),
                                               "Cache-Control": "no-store"})
            return
        assert method == "PATCH"
        self.patches += 1
        if self.drop_patch == self.patches:
            self.drop_patch = None
            route.abort("connectionreset")
            return
        if self.patch_stall is not None and self.patches > self.patch_stall:
            route.fulfill(status=503, headers=tus, body="down for a moment")
            return
        assert int(headers["upload-offset"]) == len(data)
        data.extend(request.post_data_buffer or b"")
        route.fulfill(status=204, headers={**tus, "Upload-Offset": str(len(data))})

    def entry(self, route, request) -> None:
        assert request.method == "POST"
        self.check_token(request.headers)
        assert request.headers.get("content-type", "").startswith("application/json")
        body = json.loads(request.post_data)
        self.entries.append(body)
        self.tokens.append(request.headers["x-csrftoken"])
        if self.csrf_fail_once:
            self.csrf_fail_once = False
            self._json(route, 400, {"error": {"code": "csrf_failed", "message": "expired"}})
            return
        if self.entries_down:
            self._json(route, 503, {"error": {"code": "unavailable",
                                              "message": "The server is busy. We will try again."}})
            return
        self._json(route, 201, {"id": len(self.entries), "receipt_code": self.receipt,
                                "status": "received"})

    def receipts(self, route, request) -> None:
        self.check_token(request.headers)
        body = json.loads(request.post_data)
        action = request.url.rsplit("/", 1)[-1]
        if action == "lookup":
            self.lookups.append(body)
            if body["code"] == "too-many-tries-10":
                self._json(route, 429, {"error": {
                    "code": "too_many_requests",
                    "message": "Too many tries. Please wait an hour, then try again."}})
            elif body["code"] != self.receipt:
                self._json(route, 404, {"error": {
                    "code": "not_found",
                    "message": "We could not find a recording with that code."}})
            else:
                self._json(route, 200, {"consent": {"audience": "public", "voice": "natural",
                                                    "panel_quotes": True},
                                        "status": "awaiting_review", "received": "2025-03-14"})
        elif action == "consent":
            self.consent_changes.append(body)
            self._json(route, 200, {"consent": body["consent"], "status": "awaiting_review",
                                    "received": "2025-03-14"})
        else:
            self.withdrawals.append(body)
            self._json(route, 200, {"status": "withdrawn"})

    def stored(self) -> bytes:
        (upload,) = [bytes(v) for v in self.uploads.values() if v]
        return upload


def current(page):
    """The screen now showing."""
    return page.locator("section.screen:not([hidden])")


def expect_screen(page, name: str, heading: str | None = None) -> None:
    expect(page.locator("body")).to_have_attribute("data-screen", name)
    if heading is not None:
        h1 = page.get_by_role("heading", level=1)
        expect(h1).to_have_accessible_name(heading)
        # Focus moves to each screen's heading, so a screen reader starts there.
        expect(h1).to_be_focused()


def check(page, name: str) -> None:
    check_page(page, f"kiosk/{name}")


def no_sideways_scroll(page, where: str) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= inner, f"{where} scrolls sideways at {inner} px ({width} px of content)"


def record_for(page, seconds: float) -> None:
    """Wait until the microphone is ready, record, and stop after ``seconds``."""
    start = page.get_by_role("button", name="Start recording")
    expect(start).to_be_enabled()
    start.click()
    expect(page.locator("#record-status")).to_contain_text("Recording")
    page.wait_for_timeout(seconds * 1000)
    page.get_by_role("button", name="Stop").click()
    expect_screen(page, "review", "Listen back")


# --- access -------------------------------------------------------------------------------

def test_the_kiosk_page_needs_a_paired_kiosk(page, live_server):
    page.goto("/kiosk/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=(/|%2F)kiosk(/|%2F)$"))
    response = page.request.get(live_server("/kiosk/voice/welcome.mp3"), max_redirects=0)
    assert response.status in (302, 401, 403)


def test_question_cards_page_for_staff(page, live_server, axe_check):
    sign_in(page, live_server.world.account("staff").email)
    page.goto("/kiosk/cards")
    expect(page.get_by_role("heading", level=1)).to_have_text("Question cards")
    tricky = "<b>Bold</b> & \"quoted\" — what's on your mind?"
    for text in (tricky, "What would make this place better?"):
        page.get_by_label("Question (up to 200 characters)").fill(text)
        page.get_by_role("button", name="Add question").click()
        expect(page.get_by_role("status")).to_have_text("The question card has been added.")
    # Shown as text, never as markup.
    card = page.get_by_role("listitem").filter(has_text=tricky)
    expect(card).to_contain_text("Shown on the kiosk")
    assert page.locator(".question-cards b").count() == 0

    card.get_by_role("button", name="Hide").click()
    expect(page.get_by_role("status")).to_have_text("The question card is hidden from the kiosk.")
    card = page.get_by_role("listitem").filter(has_text=tricky)
    expect(card).to_contain_text("Hidden from the kiosk")
    check_page(page, "kiosk/20-cards-staff")
    card.get_by_role("button", name="Show").click()
    expect(page.get_by_role("listitem").filter(has_text=tricky)).to_contain_text(
        "Shown on the kiosk")
    for text in (tricky, "What would make this place better?"):
        page.get_by_role("listitem").filter(has_text=text).get_by_role(
            "button", name="Delete").click()
        expect(page.get_by_role("status")).to_have_text("The question card has been deleted.")
    expect(page.get_by_role("listitem").filter(has_text=tricky)).to_have_count(0)

    # Too long is refused, with a message.
    page.get_by_label("Question (up to 200 characters)").evaluate(
        "el => el.removeAttribute('maxlength')")
    page.get_by_label("Question (up to 200 characters)").fill("x" * 201)
    page.get_by_role("button", name="Add question").click()
    expect(page.get_by_role("alert")).to_have_text(
        "A question can be at most 200 characters long.")

    # The kiosk itself may not edit cards; panel members may not either.
    sign_in(page, live_server.world.account("panel").email)
    assert page.goto("/kiosk/cards").status == 403


# --- recording ------------------------------------------------------------------------------

def test_record_with_sound_listen_back_record_again_and_throw_away(kiosk, live_server):
    page = kiosk
    asked = []
    page.expose_function("noteMediaRequest", lambda c: asked.append(c))
    page.evaluate("""() => {
        const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
        navigator.mediaDevices.getUserMedia = c => {
            noteMediaRequest(JSON.stringify(c));
            return real(c);
        };
    }""")
    expect_screen(page, "welcome")
    expect(page.get_by_role("heading", level=1)).to_have_text("Diary Room")
    expect(page.get_by_role("link")).to_have_count(0)  # no way out of the kiosk
    check(page, "01-welcome")

    # The speaker button plays the screen's words, made by espeak-ng on the server.
    with page.expect_response("**/kiosk/voice/welcome.mp3") as spoken:
        page.get_by_role("button", name="Read aloud").click()
    assert spoken.value.status in (200, 206)  # media elements ask for ranges
    assert spoken.value.headers["content-type"] == "audio/mpeg"
    page.get_by_role("button", name="Stop reading").click()

    page.get_by_role("button", name="Record with sound").click()
    expect_screen(page, "cards", "Would you like a question to start you off?")
    buttons = page.locator("#screen-cards .card-list button")
    expect(buttons.first).to_have_accessible_name("Just talk")  # always offered first
    expect(page.locator("#screen-cards [data-step]")).to_have_text("Step 1 of 5")
    check(page, "02-cards")
    page.get_by_role("button", name=CARD_TEXT).click()

    expect_screen(page, "consent", "Who may hear your recording?")
    team = page.get_by_role("radio", name="Only the diary room staff")
    organisation = page.get_by_role("radio", name="People who work here")
    public = page.get_by_role("radio", name="Anyone on the internet")
    voice = page.get_by_role("checkbox", name="Change how my voice sounds")
    quotes = page.get_by_role("checkbox", name="Yes, you may share a few of my words")
    expect(team).to_be_checked()
    expect(organisation).not_to_be_checked()
    expect(public).not_to_be_checked()
    # For the team the voice is always changed: said plainly, not a greyed-out tick box.
    expect(page.locator("#c-voice")).to_be_hidden()
    expect(page.locator("#c-voice")).to_be_checked()
    expect(page.locator("#c-voice-team")).to_be_visible()
    expect(page.locator("#c-voice-team")).to_have_text(
        "Your voice will be changed so people cannot tell it is you.")
    expect(quotes).not_to_be_checked()
    check(page, "03-consent")
    organisation.check()
    expect(voice).to_be_visible()
    expect(voice).to_be_enabled()
    expect(voice).to_be_checked()  # on by default beyond the team
    expect(page.locator("#c-voice-team")).to_be_hidden()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert page.evaluate("window.scrollY") > 0
    page.get_by_role("button", name="Next: start recording").click()

    expect_screen(page, "record", "Record your message")
    assert page.evaluate("window.scrollY") == 0  # each screen starts at its top
    expect(current(page).get_by_text(f"Your question: {CARD_TEXT}")).to_be_visible()
    expect(current(page).get_by_text("You can record for up to 15 minutes.")).to_be_visible()
    expect(page.locator("#max-clock")).to_have_text("15:00")
    expect(page.get_by_role("button", name="Start recording")).to_be_enabled()
    # Sound only: the camera is never asked for.
    assert asked and all(json.loads(c).get("video") is None for c in asked), asked
    # The level meter moves with the (fake) microphone's speech.
    expect(page.get_by_role("meter", name="Sound level")).to_be_visible()
    page.wait_for_function(
        "() => Number(document.getElementById('level').getAttribute('aria-valuenow')) > 10")
    check(page, "04-record")

    expect(page.locator('[data-record-lead="ready"]')).to_be_visible()
    page.get_by_role("button", name="Start recording").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    expect(page.get_by_role("button", name="Back")).to_be_hidden()
    # The keyboard is on Stop, and "press the big button to start" has gone.
    expect(page.get_by_role("button", name="Stop")).to_be_focused()
    expect(page.locator('[data-record-lead="ready"]')).to_be_hidden()
    expect(page.locator('[data-record-lead="recording"]')).to_be_visible()
    page.wait_for_timeout(1200)
    check(page, "05-recording")
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#record-status")).to_contain_text("Paused")
    paused_at = page.locator("#elapsed").inner_text()
    page.wait_for_timeout(600)
    assert page.locator("#elapsed").inner_text() == paused_at  # time stands still
    page.get_by_role("button", name="Carry on recording").click()
    page.wait_for_timeout(2000)
    page.get_by_role("button", name="Stop").click()

    expect_screen(page, "review", "Listen back")
    expect(page.locator("#level")).to_have_attribute("aria-valuenow", "0")  # microphone off
    audio = page.locator("#playback-audio")
    expect(audio).to_be_visible()
    expect(audio).to_have_attribute("data-duration", re.compile(r"\d"))
    duration = audio.evaluate("a => a.duration")
    assert duration > 2, f"the recording is {duration} s long"
    assert page.evaluate("document.getElementById('playback-audio').src").startswith("blob:")
    check(page, "06-review")

    # Record again: back to recording, with the microphone ready again.
    page.get_by_role("button", name="Record again").click()
    expect_screen(page, "record", "Record your message")
    record_for(page, 1.2)

    page.get_by_role("button", name="Throw it away").click()
    expect_screen(page, "discard", "Throw it away?")
    check(page, "07-discard")
    page.get_by_role("button", name="No, go back").click()
    expect_screen(page, "review", "Listen back")
    page.get_by_role("button", name="Throw it away").click()
    page.get_by_role("button", name="Yes, throw it away").click()
    expect_screen(page, "welcome", "Diary Room")
    # Nothing was kept: no recording in storage, no media, no object URL left behind.
    assert idb_records(page) == []
    assert page.evaluate("document.getElementById('playback-audio').hasAttribute('src')") is False


def test_recording_stops_by_itself_at_the_maximum(kiosk):
    page = kiosk
    page.evaluate("document.body.dataset.maxSeconds = '4'")
    page.get_by_role("button", name="Record with sound").click()
    page.get_by_role("button", name="Just talk").click()
    page.get_by_role("button", name="Next: start recording").click()
    expect(page.locator("#max-clock")).to_have_text("0:04")
    expect(page.get_by_role("button", name="Start recording")).to_be_enabled()
    page.get_by_role("button", name="Start recording").click()
    warning = page.locator("#time-warning")
    expect(warning).to_have_text("2 seconds left. The recording stops by itself at 0:04.")
    expect_screen(page, "review", "Listen back")
    expect(page.locator("#auto-stopped")).to_contain_text("stopped by itself")


def test_record_with_video_shows_a_preview(kiosk):
    page = kiosk
    page.get_by_role("button", name="Record with video").click()
    page.get_by_role("button", name="Just talk").click()
    page.get_by_role("button", name="Next: start recording").click()
    expect_screen(page, "record")
    preview = page.locator("#preview")
    expect(preview).to_be_visible()
    page.wait_for_function("() => document.getElementById('preview').videoWidth > 0")
    record_for(page, 2.2)
    video = page.locator("#playback-video")
    expect(video).to_be_visible()
    expect(video).to_have_attribute("data-duration", re.compile(r"\d"))
    assert video.evaluate("v => v.duration") > 1.5
    expect(preview).to_be_hidden()  # the camera is off again
    assert page.evaluate("document.getElementById('preview').srcObject") is None


# --- saving -----------------------------------------------------------------------------------

def test_keep_saves_to_indexeddb_first_then_uploads_and_shows_the_receipt(kiosk, live_server):
    page = kiosk
    server = FakeServer(live_server.url, entries_down=True, drop_patch=2).install(page)
    page.get_by_role("button", name="Record with sound").click()
    page.get_by_role("button", name=CARD_TEXT).click()
    page.get_by_role("radio", name="Anyone on the internet").check()
    page.get_by_role("checkbox", name="Change how my voice sounds").uncheck()
    page.get_by_role("checkbox", name="Yes, you may share a few of my words").check()
    page.get_by_role("button", name="Next: start recording").click()
    record_for(page, 2.5)
    # Small chunks, so the upload takes several PATCHes (one of them dropped).
    page.evaluate("document.body.dataset.chunkSize = '8192'")
    page.get_by_role("button", name="Keep it").click()

    expect_screen(page, "saving", "Saving")
    # The first /kiosk/entries answer is a 503: the page says so in plain words, keeps
    # the recording in IndexedDB and tries again.
    expect(page.locator("#saving-status")).to_have_text("The server is busy. We will try again.")
    (kept,) = idb_records(page)
    assert kept["state"] == "kept" and kept["kind"] == "audio" and kept["blob"] > 0
    assert kept["uploadUrl"].startswith(live_server("/kiosk/uploads/"))
    check(page, "08-saving")
    server.entries_down = False

    expect_screen(page, "receipt", "Saved safely")
    expect(page.locator("#receipt-code")).to_have_text(server.receipt)
    assert idb_records(page) == []  # removed only after the 201

    # What was sent: one tus upload (resumed after the dropped PATCH), then the entry.
    assert [m for m, _ in server.requests].count("POST") == 1
    assert server.patches >= 3
    upload_id = next(iter(server.uploads))
    stored = server.stored()
    assert server.entries[-1] == {
        "upload_id": upload_id, "kind": "audio", "prompt_id": question_id(page),
        "consent": {"audience": "public", "voice": "natural", "panel_quotes": True},
        "sha256": hashlib.sha256(stored).hexdigest()}  # the server checks the bytes it holds
    assert len(server.entries) >= 2  # 503s, then the 201
    assert page.evaluate("document.body.dataset.lastSha256") == hashlib.sha256(stored).hexdigest()
    assert stored[:4] == b"\x1a\x45\xdf\xa3"  # a WebM file
    check(page, "09-receipt")

    # Print shows the code and nothing else.
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    page.get_by_role("button", name="Print my code").click()
    expect(page.locator("body")).to_have_attribute("data-printed", "yes")
    page.emulate_media(media="print")
    visibility = "e => getComputedStyle(e).visibility"
    assert page.locator("#receipt-code").evaluate(visibility) == "visible"
    assert page.locator("#receipt-title").evaluate(visibility) == "hidden"
    page.emulate_media(media="screen")
    page.get_by_role("button", name="Read my code aloud").click()  # sound is not checked

    # Finish asks first: the code cannot be shown again afterwards.
    page.get_by_role("button", name="Finish").click()
    expect_screen(page, "finish-confirm", "Have you got your code?")
    check(page, "09b-finish-confirm")
    page.get_by_role("button", name="No, show it again").click()
    expect_screen(page, "receipt", "Saved safely")
    expect(page.locator("#receipt-code")).to_have_text(server.receipt)
    page.get_by_role("button", name="Finish").click()
    page.get_by_role("button", name="Yes, finish").click()
    expect_screen(page, "welcome", "Diary Room")
    expect(page.locator("#receipt-code")).to_have_text("")
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tus::'))") == []


def question_id(page) -> int:
    return int(page.locator("#screen-cards [data-card-id]:not([data-card-id=''])").first
               .get_attribute("data-card-id"))


PLANT = """async ([bytes, record]) => {
    const blob = new Blob([new Uint8Array(bytes)], {type: 'audio/webm'});
    const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open('diaryroom-kiosk', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('entries', {keyPath: 'id'});
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
    });
    await new Promise((resolve, reject) => {
        const tx = db.transaction('entries', 'readwrite');
        const now = Date.now();
        tx.objectStore('entries').put({...record, blob, touchedAt: now, created: now});
        tx.oncomplete = resolve; tx.onerror = () => reject(tx.error);
    });
    db.close();
}"""


def test_a_reload_resumes_a_kept_recording(kiosk, live_server):
    """Kept, half uploaded, then the page reloads (a crash, a power cut): it carries on
    from where the upload stopped and the person still gets their receipt."""
    page = kiosk
    server = FakeServer(live_server.url).install(page)
    server.csrf = ""  # a reload renders a new token
    data = bytes(range(256)) * 400  # 100 KiB
    upload_id = uuid.uuid4().hex
    server.uploads[upload_id] = bytearray(data[:40_000])
    server.lengths[upload_id] = len(data)
    page.evaluate(PLANT, [list(data), {
        "id": "resume-me", "state": "kept", "kind": "audio", "type": "audio/webm",
        "filename": "recording.webm", "promptId": None, "uploadId": None,
        "uploadUrl": live_server(f"/kiosk/uploads/{upload_id}"),
        "sha256": hashlib.sha256(data).hexdigest(),
        "consent": {"audience": "team", "voice": "disguise", "panel_quotes": False}}])
    server.patch_stall = 0  # the server is down at first

    page.reload()
    expect_screen(page, "saving", "Saving")
    expect(page.locator("#saving-resumed")).to_have_text(
        "We are still saving your last recording.")
    check(page, "10-saving-resumed")
    server.patch_stall = None  # back up: the retries get through
    expect_screen(page, "receipt", "Saved safely")
    expect(page.locator("#receipt-code")).to_have_text(server.receipt)
    assert bytes(server.uploads[upload_id]) == data
    assert "POST" not in [m for m, _ in server.requests]  # resumed, not started again
    assert server.entries[-1]["upload_id"] == upload_id
    assert idb_records(page) == []


# --- writing --------------------------------------------------------------------------------

def test_write_instead(kiosk, live_server):
    page = kiosk
    # The first answer says the CSRF token has expired: the page fetches a fresh one.
    server = FakeServer(live_server.url, csrf_fail_once=True).install(page)
    server.csrf = ""
    page.get_by_role("button", name="Write instead").click()
    expect_screen(page, "cards")
    expect(page.locator("#screen-cards .card-list button").first).to_have_accessible_name(
        "Just write")
    page.get_by_role("button", name="Just write").click()
    expect_screen(page, "write", "Write your message")
    expect(page.locator("#screen-write [data-step]")).to_have_text("Step 2 of 4")
    box = page.get_by_role("textbox", name="Your message")
    expect(box).to_have_attribute("maxlength", "10000")
    expect(page.locator("#write-count")).to_have_text("You can write a lot more.")
    page.get_by_role("button", name="Next: choose who may read it").click()
    expect(page.get_by_role("alert")).to_have_text("Please write something first, or go back.")
    check(page, "11-write-empty")
    box.fill("Today was a good day. The staff listened.")
    expect(page.locator("#write-count")).to_have_text("You can write a lot more.")
    check(page, "12-write")
    page.get_by_role("button", name="Next: choose who may read it").click()

    expect_screen(page, "consent", "Who may read what you wrote?")
    expect(page.get_by_role("checkbox", name="Change how my voice sounds")).to_be_hidden()
    check(page, "13-consent-write")
    page.get_by_role("button", name="Send it").click()
    expect_screen(page, "receipt", "Saved safely")
    assert server.entries == 2 * [{"kind": "text",
                                   "text": "Today was a good day. The staff listened.",
                                   "prompt_id": None,
                                   "consent": {"audience": "team", "voice": "disguise",
                                               "panel_quotes": False}}]
    # The retry carries the token the kiosk fetched afresh (Flask-WTF signs the same
    # session token with a timestamp, so within one second the two can be equal).
    first, second = server.tokens
    assert second == page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert idb_records(page) == []


# --- changing your mind ---------------------------------------------------------------------

def test_change_my_mind(kiosk, live_server):
    page = kiosk
    server = FakeServer(live_server.url).install(page)
    page.get_by_role("button", name="Change my mind about something I made before").click()
    expect_screen(page, "change", "Change your mind")
    check(page, "14-change")
    code = page.get_by_role("textbox", name="Your code")

    page.get_by_role("button", name="Find it").click()
    expect(page.get_by_role("alert")).to_have_text("Please type your code first.")
    code.fill("amber otter")
    page.get_by_role("button", name="Find it").click()
    expect(page.get_by_role("alert")).to_contain_text("That does not look like your code")
    assert server.lookups == []
    code.fill("Amber Otter Fish 27")
    page.get_by_role("button", name="Find it").click()
    expect(page.get_by_role("alert")).to_have_text(
        "We could not find a recording with that code.")
    check(page, "15-change-not-found")
    code.fill("too many tries 10")
    page.get_by_role("button", name="Find it").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Too many tries. Please wait an hour, then try again.")

    # Forgiving: any case, spaces or hyphens.
    code.fill("  AMBER-otter lake  27 ")
    page.get_by_role("button", name="Find it").click()
    expect_screen(page, "change-found", "We found it")
    assert server.lookups[-1] == {"code": "amber-otter-lake-27"}
    facts = page.locator(".facts")
    expect(facts).to_contain_text("14 March 2025")
    expect(facts).to_contain_text("Anyone on the internet")
    expect(facts).to_contain_text("Not changed")
    expect(facts).to_contain_text("Yes, a few words may be shared")
    expect(page.get_by_role("radio", name="Anyone on the internet")).to_be_checked()
    check(page, "16-change-found")

    page.get_by_role("radio", name="Only the diary room staff").check()
    page.get_by_role("checkbox", name="Yes, you may share a few of my words").uncheck()
    page.get_by_role("button", name="Save my new choices").click()
    expect_screen(page, "change-done", "Your choices have been changed")
    assert server.consent_changes == [{"code": "amber-otter-lake-27", "consent": {
        "audience": "team", "voice": "disguise", "panel_quotes": False}}]

    page.get_by_role("button", name="Finish").click()
    expect_screen(page, "welcome")
    page.get_by_role("button", name="Change my mind about something I made before").click()
    # Nothing is left over from before.
    expect(page.get_by_role("textbox", name="Your code")).to_have_value("")
    page.get_by_role("textbox", name="Your code").fill("amber otter lake 27")
    page.get_by_role("button", name="Find it").click()
    page.get_by_role("button", name="Take it back").click()
    expect_screen(page, "withdraw", "Take it back?")
    check(page, "17-withdraw")
    page.get_by_role("button", name="No, keep it").click()
    expect_screen(page, "change-found")
    assert server.withdrawals == []
    page.get_by_role("button", name="Take it back").click()
    page.get_by_role("button", name="Yes, take it back").click()
    expect_screen(page, "change-done", "It has been taken back")
    assert server.withdrawals == [{"code": "amber-otter-lake-27"}]


# --- idle ---------------------------------------------------------------------------------

def test_idle_warning_then_back_to_the_start_with_nothing_left(kiosk, live_server):
    page = kiosk
    page.get_by_role("button", name="Write instead").click()
    page.get_by_role("button", name="Just write").click()
    page.get_by_role("textbox", name="Your message").fill("Something private")
    # Leftovers of an unkept entry, and one kept entry still waiting to be sent.
    page.evaluate("""() => {
        sessionStorage.setItem('draft', 'something private');
        localStorage.setItem('tus::tus-br-stale::1',
                             JSON.stringify({uploadUrl: '/kiosk/uploads/x'}));
    }""")
    page.evaluate(PLANT, [[1, 2, 3], {"id": "not-kept", "state": "draft", "kind": "audio"}])
    page.evaluate(PLANT, [[4, 5, 6], {"id": "kept-one", "state": "kept", "kind": "audio",
                                      "uploadUrl": None}])
    page.evaluate("Object.assign(document.body.dataset,"
                  " {idleSeconds: '2', idleWarningSeconds: '4'})")
    # Any activity restarts the (now shorter) timer.
    page.get_by_role("textbox", name="Your message").press("End")

    dialog = page.get_by_role("dialog", name="Are you still there?")
    expect(dialog).to_be_visible(timeout=5000)
    expect(dialog.get_by_role("button", name="I'm still here")).to_be_focused()
    check(page, "18-idle-warning")
    dialog.get_by_role("button", name="I'm still here").click()
    expect(dialog).to_be_hidden()
    expect_screen(page, "write")
    expect(page.get_by_role("textbox", name="Your message")).to_have_value("Something private")

    expect(dialog).to_be_visible(timeout=5000)
    expect(dialog).to_contain_text("Going back to the start in")
    expect_screen(page, "welcome", "Diary Room")
    expect(dialog).to_be_hidden()
    page.wait_for_function("() => sessionStorage.length === 0")
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tus::'))") == []
    assert [r["id"] for r in idb_records(page)] == ["kept-one"]  # never a kept one
    page.get_by_role("button", name="Write instead").click()
    page.get_by_role("button", name="Just write").click()
    expect(page.get_by_role("textbox", name="Your message")).to_have_value("")


# --- layout ---------------------------------------------------------------------------------

LAYOUTS = {"portrait": ({"width": 768, "height": 1024}, 1),
           "zoom-200": ({"width": 512, "height": 384}, 2)}


def test_every_screen_fits_portrait_and_200_percent_zoom(open_kiosk):
    """768 x 1024 (portrait) and a 1024 x 768 window at 200% zoom (512 x 384 CSS px): no
    screen scrolls sideways, and the main buttons stay large enough to touch."""
    page = open_kiosk(LAYOUTS["zoom-200"][0], device_scale_factor=2)

    def fits(where: str) -> None:
        for name, (viewport, _) in LAYOUTS.items():
            page.set_viewport_size(viewport)
            no_sideways_scroll(page, f"{where} ({name})")
            small = page.evaluate("""() => [...document.querySelectorAll(
                'section.screen:not([hidden]) button, dialog[open] button')]
                .filter(b => b.offsetParent !== null)
                .map(b => b.getBoundingClientRect())
                .filter(r => r.height < 48 || r.width < 48).length""")
            assert small == 0, f"buttons smaller than 48 px on {where} ({name})"

    fits("welcome")
    page.get_by_role("button", name="Record with sound").click()
    fits("cards")
    page.get_by_role("button", name="Just talk").click()
    fits("consent")
    page.get_by_role("button", name="Next: start recording").click()
    expect(page.get_by_role("button", name="Start recording")).to_be_enabled()
    fits("record")
    record_for(page, 1.2)
    fits("review")
    page.get_by_role("button", name="Throw it away").click()
    fits("discard")
    page.get_by_role("button", name="Yes, throw it away").click()
    page.get_by_role("button", name="Write instead").click()
    page.get_by_role("button", name="Just write").click()
    fits("write")
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Change my mind about something I made before").click()
    fits("change")
    page.set_viewport_size({"width": 768, "height": 1024})
    check(page, "19-change-portrait")


def test_keyboard_only(kiosk):
    """Everything can be reached and pressed with Tab, Enter, Space and the arrow keys;
    each screen starts at its heading, so the next Tab is that screen's first control."""
    page = kiosk

    def focused() -> str:
        return page.evaluate("document.activeElement.innerText.trim()"
                             " || document.activeElement.value || document.activeElement.id")

    page.keyboard.press("Tab")
    assert focused() == "Read aloud"
    page.keyboard.press("Tab")
    assert focused() == "Record with sound"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused() == "Write instead"
    page.keyboard.press("Enter")
    expect_screen(page, "cards")
    page.keyboard.press("Tab")
    assert focused() == "Just write"
    page.keyboard.press("Space")
    expect_screen(page, "write")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "write-text"
    page.keyboard.type("Typed with a keyboard.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect_screen(page, "consent")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "team"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.value") == "organisation"
    expect(page.get_by_role("radio", name="People who work here")).to_be_checked()
    page.keyboard.press("Tab")  # (no voice question for writing)
    assert page.evaluate("document.activeElement.id") == "c-panel"
    page.keyboard.press("Space")
    expect(page.get_by_role("checkbox", name="Yes, you may share a few of my words")
           ).to_be_checked()
    page.keyboard.press("Tab")
    assert focused() == "Send it"


# --- with the real server ---------------------------------------------------------------------

def test_end_to_end_with_the_real_server(kiosk, live_server):
    """No fakes: record, keep, upload over tus to /kiosk/uploads, make the entry, then use
    the receipt code to change the consent and to withdraw it."""
    from diaryroom.models import Entry

    page = kiosk
    sent = bytearray()  # what the browser's PATCHes carried (passed on untouched)

    def sniff(route, request):
        if request.method == "PATCH":
            sent.extend(request.post_data_buffer or b"")
        route.continue_()

    page.context.route(re.compile(r".*/kiosk/uploads/[0-9a-f]+$"), sniff)
    page.get_by_role("button", name="Record with sound").click()
    page.get_by_role("button", name=CARD_TEXT).click()
    page.get_by_role("radio", name="People who work here").check()
    page.get_by_role("button", name="Next: start recording").click()
    record_for(page, 2.2)
    page.evaluate("document.body.dataset.chunkSize = '16384'")
    page.get_by_role("button", name="Keep it").click()
    expect_screen(page, "receipt", "Saved safely")
    code = page.locator("#receipt-code").inner_text()
    assert re.fullmatch(r"[a-z]+-[a-z]+-[a-z]+-\d+", code), code
    sha = page.evaluate("document.body.dataset.lastSha256")
    assert idb_records(page) == []
    with live_server.app.app_context(), tenancy.as_org(live_server.org_id):
        entry = db.session.query(Entry).order_by(Entry.id.desc()).first()
        assert entry.kind == "audio"
        assert entry.consent == {"audience": "organisation", "voice": "disguise",
                                 "panel_quotes": False}
        assert entry.question_card_id == question_id(page)
        assert entry.duration > 1.5
    # The bytes that went over tus are the recording the page hashed before sending.
    assert hashlib.sha256(bytes(sent)).hexdigest() == sha

    page.get_by_role("button", name="Finish").click()
    page.get_by_role("button", name="Yes, finish").click()
    page.get_by_role("button", name="Change my mind about something I made before").click()
    page.get_by_role("textbox", name="Your code").fill(code.upper().replace("-", " "))
    page.get_by_role("button", name="Find it").click()
    expect_screen(page, "change-found", "We found it")
    expect(page.locator(".facts")).to_contain_text(
        "People who work here")
    page.get_by_role("radio", name="Only the diary room staff").check()
    page.get_by_role("button", name="Save my new choices").click()
    expect_screen(page, "change-done", "Your choices have been changed")
    page.get_by_role("button", name="Finish").click()
    page.get_by_role("button", name="Change my mind about something I made before").click()
    page.get_by_role("textbox", name="Your code").fill(code)
    page.get_by_role("button", name="Find it").click()
    expect(page.locator(".facts")).to_contain_text("Only the diary room staff")
    page.get_by_role("button", name="Take it back").click()
    page.get_by_role("button", name="Yes, take it back").click()
    expect_screen(page, "change-done", "It has been taken back")
    with live_server.app.app_context(), tenancy.as_org(live_server.org_id):
        assert db.session.get(Entry, entry.id).status == "withdrawn"
