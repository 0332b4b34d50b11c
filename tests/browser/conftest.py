"""Real-browser fixtures: the app served over HTTP on 127.0.0.1 by a real WSGI server,
Debian's headless Chromium driven by Playwright, and axe-core for accessibility.

Nothing is downloaded here: Chromium is the system package (``make test`` installs it)
and axe-core comes from ``node_modules`` (``npm ci`` from the committed lock file).
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from diaryroom import tenancy
from diaryroom.domain import status as st
from diaryroom.domain.consent import Consent
from diaryroom.extensions import db
from diaryroom.models import Entry
from tests.conftest import PASSWORD, ROOT, World, make_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The pages' Content-Security-Policy (script-src 'self') refuses inline scripts, and the
# tests keep it switched on (bypass_csp would hide a CSP break, e.g. in pair.js). So the
# browser is handed axe.min.js from node_modules at this same-origin path, answered by
# Playwright itself: the app never serves it and the server never sees the request.
AXE_PATH = "/__browser-tests__/axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
VIEWPORT = {"width": 1024, "height": 768}


@dataclass
class LiveServer:
    url: str
    app: object
    world: World
    org_id: int
    entry_id: int

    def __call__(self, path: str = "/") -> str:
        return self.url + path


def _seed_entry(app, org_id: int) -> int:
    """One entry waiting for review, made directly (no recording or transcription)."""
    with app.app_context(), tenancy.as_org(org_id):
        entry = Entry(org_id=org_id, kind="audio", status=st.AWAITING_REVIEW,
                      consent=Consent().to_dict(), duration=83.0, language="en")
        db.session.add(entry)
        db.session.commit()
        return entry.id


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, _postgres_schema) -> Iterator[LiveServer]:
    """The app on a real threaded WSGI server on 127.0.0.1 (a free port), for the session."""
    # The browser tests sign in more often than the production login limit allows.
    app = make_app(tmp_path_factory.mktemp("browser") / "data",
                   LOGIN_RATE_LIMIT="1000 per minute")
    world = World(app)
    org_id = world.add_org("A")
    entry_id = _seed_entry(app, org_id)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url  # the kiosk pairing link must point at this server
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url, app, world, org_id, entry_id)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium (never a downloaded build), headless, one per session."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is required (make test installs Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


class PageProblems:
    """JavaScript errors and Content-Security-Policy refusals seen by a page."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"CSP: {message.text}")


@contextmanager
def page_opener(browser, base_url: str) -> Iterator[Callable[..., object]]:
    """Open pages in fresh contexts (own cookies) of ``browser``, with axe served to them;
    on leaving, every context is closed and any page error or CSP refusal fails."""
    contexts = []
    problems = PageProblems()

    def open_page(viewport: dict | None = None, **options):
        context = browser.new_context(viewport=viewport or VIEWPORT, base_url=base_url,
                                      **options)
        context.set_default_timeout(10_000)
        context.route(f"**{AXE_PATH}", lambda route: route.fulfill(
            path=str(AXE), content_type="text/javascript"))
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems.errors, "\n".join(problems.errors)


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable[..., object]]:
    """``new_page()`` or ``new_page(viewport)``: a page in a fresh context, 1024 x 768."""
    with page_opener(browser, live_server.url) as open_page:
        yield open_page


@pytest.fixture
def page(new_page):
    """A page in a fresh browser context, 1024 x 768."""
    return new_page()


def save_screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """The whole page by default; ``full_page=False`` shows the window as a person sees
    it (a full-page picture draws a bar stuck to the window's bottom mid-page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']}\n  {v['helpUrl']}")
        for node in v["nodes"]:
            lines.append(f"    at {json.dumps(node['target'])}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def run_axe(page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_PATH)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", AXE_TAGS)
    return result["violations"]


def check_page(page, name: str | None = None) -> None:
    """Screenshot the page into artifacts/screenshots/<name>.png (by default named after its
    path), then assert that axe-core finds no WCAG 2.0/2.1/2.2 A or AA violation on it."""
    if name is None:
        path = page.url.split("://", 1)[-1].partition("/")[2].split("?")[0].split("#")[0]
        name = path.strip("/").replace("/", "-") or "root"
    page.wait_for_load_state("load")  # stylesheet applied, so contrast is measured right
    save_screenshot(page, name)
    violations = run_axe(page)
    if violations:
        report = _describe(violations)
        print(f"axe-core violations on {name} ({page.url}):\n{report}")
        pytest.fail(f"{len(violations)} accessibility violation(s) on {name} "
                    f"({page.url}):\n{report}", pytrace=False)


@pytest.fixture
def axe_check() -> Callable[..., None]:
    """``axe_check(page[, name])``: screenshot plus zero axe-core violations."""
    return check_page


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Sign in the way a person does: type into the real form and press the button."""
    page.goto("/auth/login")
    page.get_by_label("Email").press_sequentially(email)
    page.get_by_label("Password").press_sequentially(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
