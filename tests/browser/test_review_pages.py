"""The staff review pages in a real browser, on entries the real pipeline processed: a
written entry (detection, safeguarding, rendering) and a short espeak-ng recording
(transcription and redacted audio too).

The test queue is in memory and nothing drains it but the test, so "re-rendering" lasts
exactly until a test runs the jobs: the page's polling and the Approve button can be
checked on both sides of that moment.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import bearer, run_jobs

WRITTEN = ("My name is Sandra Kowalski and my number is 07700 900123. "
           "I want to kill myself some days.")
SPOKEN = "my name is sandra kowalski and i live in leeds"
CATEGORY_LABELS = {"risk_to_life": "Risk to life", "self_harm": "Self-harm", "abuse": "Abuse",
                   "violence": "Violence", "exploitation": "Exploitation"}
POLL_TIMEOUT = 10_000  # ms: the page polls every second


# --- entries made through the API and processed by the pipeline ------------------------

def _api(live_server, method: str, path: str, **kwargs):
    client = live_server.app.test_client()
    token = live_server.world.account("staff").token
    response = client.open(f"/api/v1{path}", method=method, headers=bearer(token), **kwargs)
    assert response.status_code < 300, response.text
    return response.get_json()


def _processed(live_server, created: dict) -> int:
    run_jobs(live_server.app)
    entry = _api(live_server, "GET", f"/entries/{created['id']}")
    assert entry["status"] == "awaiting_review", entry
    return created["id"]


@pytest.fixture(scope="module")
def make_written(live_server) -> Callable[..., int]:
    """``make_written(text)``: a written entry, processed, awaiting review; its id."""
    def make_written(text: str = WRITTEN) -> int:
        return _processed(live_server, _api(live_server, "POST", "/entries",
                                            json={"kind": "text", "text": text}))
    return make_written


@pytest.fixture(scope="module")
def written(make_written) -> int:
    """One written entry that the tests only look at (they change fresh ones)."""
    return make_written()


@pytest.fixture(scope="module")
def recording(live_server, tmp_path_factory) -> int:
    """``SPOKEN`` said by espeak-ng, uploaded through the API and processed."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is required (make test installs it)")
    wav = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "140", "-w", str(wav), SPOKEN],
                   check=True, timeout=60)
    consent = {"audience": "organisation", "voice": "natural", "panel_quotes": False}
    created = _api(live_server, "POST", "/entries", content_type="multipart/form-data",
                   data={"media": (io.BytesIO(wav.read_bytes()), "speech.wav"),
                         "consent": json.dumps(consent)})
    return _processed(live_server, created)


def state(page, entry_id: int) -> dict:
    """GET /review/entries/<id>/state with the page's own cookies."""
    response = page.request.get(f"/review/entries/{entry_id}/state")
    assert response.ok, response.text()
    return response.json()


def spans(entry_state: dict) -> list[tuple[int, int, str, str]]:
    return [(r["first_word"], r["last_word"], r["type"], r["source"])
            for r in entry_state["redactions"]]


def word(page, text: str):
    """The transcript's button for the word ``text`` (matched on its visible text)."""
    return page.locator("#transcript .word").filter(
        has=page.locator(".word-text", has_text=re.compile(rf"^{re.escape(text)}\W*$", re.I)))


def index_of(page, text: str) -> int:
    return int(word(page, text).get_attribute("data-index"))


def run_renders(live_server) -> None:
    assert run_jobs(live_server.app) >= 1, "a change should have queued a re-render"


# --- signed in as staff ----------------------------------------------------------------

@pytest.fixture
def staff_page(page, live_server):
    sign_in(page, live_server.world.account("staff").email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome")
    return page


def open_entry(page, entry_id: int) -> None:
    page.goto(f"/review/entries/{entry_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Entry {entry_id}")


def test_review_page_shows_redactions_and_the_safeguarding_panel(staff_page, live_server,
                                                                written, axe_check):
    page = staff_page
    flags = _api(live_server, "GET", f"/entries/{written}")["flags"]
    assert flags, "the pipeline should flag 'I want to kill myself'"

    # The entries list puts it first with a visible (not colour-only) urgent marker.
    page.goto("/review/")
    row = page.get_by_role("row").filter(
        has=page.get_by_role("link", name=f"Entry {written}", exact=True))
    expect(row).to_contain_text("Urgent: safeguarding")
    expect(page.get_by_role("row").nth(1)).to_contain_text("Urgent: safeguarding")
    axe_check(page, "review-entries")

    open_entry(page, written)
    panel = page.get_by_role("region", name="Urgent: possible safeguarding concern")
    expect(panel).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("awaiting review")
    expect(page.locator("#render-state")).to_have_text("Redacted text up to date")

    # Each flag is named in plain words and links to its passage, which is labelled too.
    for number, flag in enumerate(flags, start=1):
        label = CATEGORY_LABELS[flag["category"]]
        panel.get_by_role("link", name=label).first.click()
        expect(page).to_have_url(re.compile(rf"#flag-{number}$"))
        passage = page.locator(f"#flag-{number}")
        expect(passage).to_be_focused()
        expect(passage).to_contain_text(f"Possible safeguarding concern: {label}")
        for i in range(flag["first_word"], flag["last_word"] + 1):
            expect(page.locator(f"#word-{i}")).to_have_class(re.compile(r"\bflagged\b"))

    # Every redaction the pipeline made is shown on the original words, with its label.
    entry_state = state(page, written)
    found = {(first, last): kind for first, last, kind, _ in spans(entry_state)}
    sandra, kowalski = index_of(page, "Sandra"), index_of(page, "Kowalski")
    assert found.get((sandra, kowalski)) == "NAME", found
    assert "PHONE" in found.values(), found
    for (first, last), kind in found.items():
        for i in range(first, last + 1):
            button = page.locator(f"#word-{i}")
            expect(button).to_have_class(re.compile(r"\bredacted\b"))
            expect(button).to_have_accessible_name(re.compile(rf"\(redacted as {kind}\)$"))
        expect(page.locator(f"#word-{last} + .placeholder")).to_be_visible()
    expect(page.locator("#transcript .placeholder").filter(has_text="[NAME]")).to_be_visible()
    expect(word(page, "some")).not_to_have_class(re.compile(r"\bredacted\b"))
    table = page.get_by_role("region", name="Redactions")
    expect(table.get_by_role("row").filter(has_text="Sandra Kowalski")).to_contain_text("[NAME]")
    # Not by colour alone: hidden words are crossed out (review.css is on the page).
    expect(word(page, "Sandra")).to_have_css("text-decoration-line", "line-through")
    expect(page.get_by_role("button", name="Approve")).to_be_enabled()
    axe_check(page, "review-entry-written")

    # At 400% zoom (320 CSS pixels) nothing needs the page scrolled sideways.
    page.set_viewport_size({"width": 320, "height": 256})
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    axe_check(page, "320px-review-entry-written")


def test_clicking_words_adds_and_removes_redactions(staff_page, live_server, make_written,
                                                    axe_check):
    entry_id = make_written()
    page = staff_page
    open_entry(page, entry_id)
    before = spans(state(page, entry_id))
    some = index_of(page, "some")
    approve = page.get_by_role("button", name="Approve")
    status = page.get_by_role("status").filter(has_text="Re-rendering")

    # A click hides one word, as the type chosen in "Redact as".
    page.get_by_label("Redact as").select_option("OTHER")
    word(page, "some").click()
    expect(status).to_have_text("Redaction added. Re-rendering the redacted text…")
    expect(word(page, "some")).to_have_class(re.compile(r"\bredacted\b"))
    expect(word(page, "some")).to_have_accessible_name("some (redacted as OTHER)")
    expect(page.locator(f"#word-{some} + .placeholder")).to_have_text("[REDACTED]")
    after = state(page, entry_id)
    assert (some, some, "OTHER", "staff") in spans(after)
    assert after["rendered"] is False
    # Until the new version is rendered, it cannot be approved.
    expect(page.locator("#render-state")).to_have_text("Re-rendering after your change…")
    expect(approve).to_be_disabled()
    expect(page.locator("#approve-help")).to_contain_text("once the redacted text has been")
    axe_check(page, "review-entry-rerendering")

    run_renders(live_server)
    expect(page.get_by_role("status")).to_have_text("Redacted text updated.",
                                                    timeout=POLL_TIMEOUT)
    expect(page.locator("#render-state")).to_have_text("Redacted text up to date")
    expect(approve).to_be_enabled()

    # A click on a hidden word shows it again (nothing asked, the change is announced).
    word(page, "some").click()
    expect(page.get_by_role("status")).to_have_text(
        "Redaction removed. Re-rendering the redacted text…")
    expect(word(page, "some")).not_to_have_class(re.compile(r"\bredacted\b"))
    assert spans(state(page, entry_id)) == before
    run_renders(live_server)
    expect(approve).to_be_enabled(timeout=POLL_TIMEOUT)


def test_dragging_or_shift_selecting_hides_a_run_of_words(staff_page, live_server,
                                                          make_written):
    entry_id = make_written("I sleep at the night shelter on Brook Street most weeks now.")
    page = staff_page
    open_entry(page, entry_id)
    night, street = index_of(page, "night"), index_of(page, "Street")

    # Drag from "the" to "shelter": one redaction over three words.
    the = night - 1
    page.locator(f"#word-{the}").drag_to(page.locator(f"#word-{night + 1}"))
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^Redaction added over words"))
    assert [s for s in spans(state(page, entry_id)) if s[3] == "staff"] == [
        (the, night + 1, "NAME", "staff")]
    for i in (the, night, night + 1):
        expect(page.locator(f"#word-{i}")).to_have_class(re.compile(r"\bredacted\b"))
    expect(page.locator(f"#word-{night + 1} + .placeholder")).to_have_text("[NAME]")
    run_renders(live_server)
    expect(page.locator("#render-state")).to_have_text("Redacted text up to date",
                                                       timeout=POLL_TIMEOUT)

    # From the keyboard: Shift+Enter on one word, then on another, hides the run between.
    page.get_by_label("Redact as").select_option("PLACE")
    page.locator(f"#word-{street - 1}").focus()
    page.keyboard.press("Shift+Enter")
    expect(page.get_by_role("status")).to_contain_text("Selection starts at word")
    expect(page.locator(f"#word-{street - 1}")).to_have_class(re.compile(r"\bselecting\b"))
    page.keyboard.press("ArrowRight")  # the arrow keys move between words
    expect(page.locator(f"#word-{street}")).to_be_focused()
    expect(page.locator(f"#word-{street}")).to_have_css("outline-style", "solid")
    page.keyboard.press("Shift+Enter")
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^Redaction added over words"))
    # (A detector's redaction of the street is swallowed into the new one, never doubled.)
    assert (street - 1, street, "PLACE", "staff") in spans(state(page, entry_id))
    run_renders(live_server)


def test_approve_waits_for_the_render_then_approves(staff_page, live_server, make_written):
    entry_id = make_written()
    page = staff_page
    open_entry(page, entry_id)
    approve = page.get_by_role("button", name="Approve")
    expect(approve).to_be_enabled()

    word(page, "days").click()
    expect(approve).to_be_disabled()
    # The server refuses too, whatever a page shows.
    refused = page.request.post(f"/review/entries/{entry_id}/approve", headers={
        "Accept": "application/json",
        "X-CSRFToken": page.locator("input[name=csrf_token]").first.input_value()})
    assert refused.status == 409, refused.text()

    run_renders(live_server)
    expect(approve).to_be_enabled(timeout=POLL_TIMEOUT)
    approve.click()
    expect(page.get_by_role("status").filter(has_text="Approved")).to_have_text(
        "Approved: the redacted entry is now available for podcast work.")
    expect(page.locator("#status-text")).to_have_text("approved")
    assert state(page, entry_id)["status"] == "approved"
    expect(approve).to_be_disabled()
    # Approved entries cannot be edited here: the words are no longer buttons.
    expect(page.locator("#transcript button")).to_have_count(0)
    history = page.get_by_role("region", name="Decisions and views")
    expect(history.get_by_role("row").filter(has_text="Approved")).to_have_count(1)
    expect(history.get_by_role("row").filter(has_text="Added a redaction")).to_contain_text(
        f"word {index_of(page, 'days')}, [NAME]")


def test_send_back_needs_a_reason_then_the_pipeline_can_run_again(staff_page, live_server,
                                                                  make_written, axe_check):
    entry_id = make_written()
    page = staff_page
    open_entry(page, entry_id)
    send_back = page.get_by_role("button", name="Send back")
    reason = page.get_by_label("Why are you sending it back? (required)")

    send_back.click()  # the browser refuses an empty reason
    assert reason.evaluate("el => el.validity.valueMissing")
    expect(page).to_have_url(re.compile(rf"/review/entries/{entry_id}$"))
    # And so does the server, for anything that skips the browser's check.
    token = page.locator("input[name=csrf_token]").first.input_value()
    refused = page.request.post(f"/review/entries/{entry_id}/send-back",
                                form={"csrf_token": token, "reason": "  "})
    assert refused.status == 422

    reason.fill("The detector missed the hostel's name.")
    send_back.click()
    expect(page.get_by_role("status").filter(has_text="Sent back")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text(
        "needs attention: sent back: The detector missed the hostel's name.")
    expect(page.get_by_role("button", name="Approve")).to_be_disabled()
    expect(page.locator("#transcript button")).to_have_count(0)
    history = page.get_by_role("region", name="Decisions and views")
    expect(history).to_contain_text("Sent back: “The detector missed the hostel's name.”")
    axe_check(page, "review-entry-sent-back")

    page.get_by_role("button", name="Run the pipeline again").click()
    expect(page.locator(".facts")).to_contain_text("processing")
    run_jobs(live_server.app)
    page.reload()
    expect(page.locator(".facts")).to_contain_text("awaiting review")
    expect(page.get_by_role("button", name="Approve")).to_be_enabled()


def test_local_names_are_added_and_deleted(staff_page, axe_check):
    page = staff_page
    page.goto("/review/")
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Local names", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Local names")
    expect(page.get_by_text("apply to entries processed from now on")).to_be_visible()

    def add(text: str, kind: str, listname: str) -> None:
        page.get_by_label("Name or phrase").fill(text)
        page.get_by_label("Type").select_option(kind)
        page.get_by_role("radio", name=listname).check()
        page.get_by_role("button", name="Add name").click()
        expect(page.get_by_role("status")).to_contain_text("Added.")

    add("Larkspur Lodge", "PLACE", "Always redact")
    add("Harbour Light Trust", "ORGANISATION", "Never redact (allow-list)")
    always = page.get_by_role("region", name="Always redact")
    never = page.get_by_role("region", name="Never redact (allow-list)")
    expect(always.get_by_role("row").filter(has_text="Larkspur Lodge")).to_contain_text("Place")
    expect(never.get_by_role("row").filter(has_text="Harbour Light Trust")).to_contain_text(
        "Organisation")
    expect(always.get_by_text("Harbour Light Trust")).to_have_count(0)
    axe_check(page, "review-local-names")

    # Deleted again, so the other tests' entries are processed as before.
    for text, listname in (("Larkspur Lodge", "Always redact"),
                           ("Harbour Light Trust", "Never redact (allow-list)")):
        page.get_by_role("button", name=f"Delete “{text}” from {listname}").click()
        expect(page.get_by_role("status")).to_have_text("Removed.")
    expect(page.get_by_text("Larkspur Lodge")).to_have_count(0)
    expect(page.get_by_text("Harbour Light Trust")).to_have_count(0)


def test_without_javascript_the_forms_still_work(new_page, live_server, make_written):
    entry_id = make_written()
    page = new_page(java_script_enabled=False)
    sign_in(page, live_server.world.account("staff").email)
    open_entry(page, entry_id)
    expect(page.get_by_label("Redact as")).to_be_hidden()  # the script's tool
    number = index_of(page, "number")
    my = number - 1

    page.get_by_label("From word").fill(str(my))
    page.get_by_label("to word").fill(str(number))
    page.get_by_label("Hide as").select_option("OTHER")
    page.get_by_role("button", name="Add redaction").click()
    expect(page.get_by_role("status").filter(has_text="Redaction added")).to_be_visible()
    region = page.get_by_role("region", name="Redactions")
    row = region.get_by_role("row").filter(has_text="my number")
    expect(row).to_contain_text(f"words {my}–{number}")
    expect(row).to_contain_text("[REDACTED]")
    expect(row).to_contain_text("Added by staff")
    expect(page.locator(f"#word-{my}")).to_have_class(re.compile(r"\bredacted\b"))
    expect(page.locator("#render-state")).to_have_text("Re-rendering after your change…")
    expect(page.get_by_role("button", name="Approve")).to_be_disabled()

    run_renders(live_server)
    page.reload()
    expect(page.get_by_role("button", name="Approve")).to_be_enabled()
    page.get_by_role("button", name=f"Remove the redaction of words {my}–{number}").click()
    expect(page.get_by_role("status").filter(has_text="Redaction removed")).to_be_visible()
    expect(row).to_have_count(0)
    assert all(source != "staff" for *_, source in spans(state(page, entry_id)))
    run_renders(live_server)


def test_recording_plays_and_the_transcript_follows(staff_page, live_server, recording,
                                                    axe_check):
    page = staff_page
    open_entry(page, recording)
    facts = page.locator(".facts")
    expect(facts).to_contain_text("People in our organisation")
    expect(facts).to_contain_text("Their own voice (natural)")
    expect(page.locator("#render-state")).to_have_text("Audio up to date")
    spoken = page.locator("#transcript .word")
    assert spoken.count() >= 6
    text = " ".join(spoken.locator(".word-text").all_inner_texts()).lower()
    assert "name" in text and "live" in text, text
    # The name is hidden, and the table says where in the audio.
    sandra = index_of(page, "Sandra")
    first, last, *_ = next(s for s in spans(state(page, recording)) if s[0] == sandra)
    row = page.get_by_role("region", name="Redactions").locator(f"tr[data-first='{first}']")
    expect(row).to_contain_text("[NAME]")
    expect(row).to_contain_text(re.compile(r"0:\d\d\.\d–0:\d\d\.\d"))

    audio = page.locator("audio#review-audio")
    expect(audio).to_have_attribute("src", re.compile(rf"/review/entries/{recording}/audio\.mp3"
                                                      r"\?r=\d+$"))
    fetched = page.request.get(audio.get_attribute("src"), headers={"Range": "bytes=0-99"})
    assert fetched.status == 206 and fetched.headers["content-type"] == "audio/mpeg"
    axe_check(page, "review-entry-recording")

    # Playing marks the word being said (and only that one) as it goes.
    # (Function-form predicates: the page's CSP refuses eval of a bare expression.)
    page.wait_for_function("() => document.getElementById('review-audio').readyState >= 1")
    starts = [float(s) for s in spoken.evaluate_all("els => els.map(e => e.dataset.start)")]
    page.locator("#transcript-heading").click()  # a user gesture, so play() is allowed
    page.evaluate("document.getElementById('review-audio').play()")
    current = page.locator("#transcript .word.current")
    expect(current).to_have_count(1, timeout=5_000)
    expect(current).to_have_attribute("aria-current", "true")
    first_marked = int(current.get_attribute("data-index"))
    page.wait_for_function(
        "first => Number(document.querySelector('#transcript .word.current')?.dataset.index)"
        " > first", arg=first_marked, timeout=10_000)
    page.evaluate("document.getElementById('review-audio').pause()")

    # Seeking moves the marker too.
    target = len(starts) - 2
    page.evaluate(f"document.getElementById('review-audio').currentTime = {starts[target] + 0.01}")
    expect(page.locator(f"#word-{target}")).to_have_attribute("aria-current", "true")
    expect(current).to_have_count(1)


@pytest.mark.parametrize("role", ["cohost", "panel"])
def test_other_roles_cannot_open_the_review_pages(page, live_server, written, role):
    sign_in(page, live_server.world.account(role).email)
    for path in (f"/review/entries/{written}", "/review/local-names"):
        response = page.goto(path)
        assert response.status == 403, path
        expect(page.get_by_text("Sandra")).to_have_count(0)
