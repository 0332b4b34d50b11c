"""Every kiosk screen's main button can be seen without scrolling (issue 9, finding 1).

The walk in kiosk_walk.py goes through every screen, and on each this checks:
- 1024 x 768 (landscape tablet) and 768 x 1024 (portrait): exactly one main button
  (``data-primary``) shows, wholly inside the window, with the page at the top (a new
  screen never keeps the last one's scroll position); axe-core finds nothing.
- 320 x 568 (the narrowest phone) and 200 % zoom: where the screen is taller than the
  window, the main button is in view anyway (a sticky action bar) or a "more below" cue
  (app.html's .more-below) is. 200 % zoom is a 1024 x 768 window zoomed in: Chromium
  lays it out as 512 x 384 CSS px, which the test gives it directly, with
  device_scale_factor 2 for the same pixels (as test_kiosk_pages.py's LAYOUTS).
- Recording starts within 4 taps of the welcome screen; the receipt code is in view at
  every size, and at 320 px it breaks, if at all, only between its words.

Screenshots: artifacts/screenshots/kiosk/screens-<layout>/<screen>.png. With
DIARYROOM_REFRESH_DOCS=1, a passing walk copies the main ones over the README's pictures
in docs/kiosk/.
"""
from __future__ import annotations

import os
import shutil

import pytest

from tests.browser.conftest import ROOT, SCREENSHOTS, _describe, run_axe, save_screenshot
from tests.browser.kiosk_walk import walk_kiosk
from tests.browser.test_kiosk_pages import (  # noqa: F401 (fixtures used by name)
    media_browser,
    open_kiosk,
    question_card,
    speech_wav,
)

AXE_LAYOUT = "1024x768"  # axe-core runs on every screen at this one (it is slow)
LAYOUTS = {  # name: (CSS viewport, device_scale_factor, every main button in view?)
    "1024x768": ({"width": 1024, "height": 768}, 1, True),
    "768x1024": ({"width": 768, "height": 1024}, 1, True),
    "320x568": ({"width": 320, "height": 568}, 1, False),
    "zoom-200": ({"width": 512, "height": 384}, 2, False),
}
MOST_TAPS = 4  # from the welcome screen until recording has started
# Screens without a main button: saving waits by itself, and a recording already taken
# back leaves only the way back to the start (which may or may not be marked).
PRIMARY_OPTIONAL = {"saving", "found-withdrawn"}
DOCS = ROOT / "docs" / "kiosk"
# docs/kiosk/<name>.png (the names README.md shows): (layout, screen) they are taken from.
# 20-cards-staff.png is the staff page (test_kiosk_pages.py), not a kiosk screen.
DOC_PICTURES = {
    "01-welcome": ("1024x768", "welcome"),
    "02-cards": ("1024x768", "cards"),
    "03-consent": ("1024x768", "consent"),
    "05-recording": ("1024x768", "recording"),
    "06-review": ("1024x768", "review"),
    "09-receipt": ("1024x768", "receipt"),
    "09b-finish-confirm": ("1024x768", "finish-confirm"),
    "12-write": ("1024x768", "write"),
    "14-change": ("1024x768", "change"),
    "16-change-found": ("1024x768", "change-found"),
    "18-idle-warning": ("1024x768", "idle-warning"),
    "19-change-portrait": ("768x1024", "change"),
}

# Where the page is, what is in front (an open dialog, else the screen) and its main
# buttons, and the "more below" cues that show (app.html's .more-below).
MEASURE = """() => {
    const front = document.querySelector('dialog[open]') || document.body;
    const shows = e => e.checkVisibility({opacityProperty: true, visibilityProperty: true});
    const box = e => {
        const r = e.getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
    };
    const primaries = [...front.querySelectorAll('[data-primary]')].filter(shows);
    const cues = [...document.querySelectorAll('.more-below')].filter(shows);
    return {
        scrollX: window.scrollX, scrollY: window.scrollY,
        width: window.innerWidth, height: window.innerHeight,
        contentHeight: document.documentElement.scrollHeight,
        dialog: front !== document.body,
        primaries: primaries.map(e => ({text: e.innerText.trim(), box: box(e)})),
        cues: cues.map(box),
    };
}"""

# Per word of the receipt code (letters and digits between separators): the distinct
# line tops of its characters, so a word broken over two lines has two.
WORD_LINES = """sel => {
    const code = document.querySelector(sel);
    const words = [];
    let word = [];
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.data.length; i++) {
            if (!/[a-z0-9]/i.test(node.data[i])) {
                if (word.length) words.push(word);
                word = [];
                continue;
            }
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const rect = range.getClientRects()[0];
            if (rect) word.push([node.data[i], Math.round(rect.top)]);
        }
    }
    if (word.length) words.push(word);
    return words.map(w => ({word: w.map(c => c[0]).join(''),
                            lines: [...new Set(w.map(c => c[1]))]}));
}"""


def inside(box: dict, width: int, height: int) -> bool:
    return (box["top"] >= 0 and box["left"] >= 0 and box["bottom"] <= height + 0.5
            and box["right"] <= width + 0.5)


class ScreenChecks:
    """What each screen of a walk at one layout got wrong, gathered so that one run says
    everything that is off (with the numbers), not only the first thing."""

    def __init__(self, page, layout: str) -> None:
        self.page, self.layout = page, layout
        _, _, self.must_show = LAYOUTS[layout]
        self.folder = SCREENSHOTS / "kiosk" / f"screens-{layout}"
        self.seen: list[str] = []
        self.last_screen: str | None = None
        self.problems: list[str] = []

    def __call__(self, name: str) -> None:
        self.seen.append(name)
        self.page.wait_for_load_state("load")
        m = self.page.evaluate(MEASURE)
        where = f"{name} at {self.layout}"
        # A screen opens at its top; the same screen in a new state (recording) may have
        # moved, as long as its main button is in view.
        shown = self.page.locator("body").get_attribute("data-screen")
        opened, self.last_screen = shown != self.last_screen, shown
        if opened and not m["dialog"] and (m["scrollY"] or m["scrollX"]):
            self.problems.append(f"{where}: opens scrolled to ({m['scrollX']}, "
                                 f"{m['scrollY']}), not at the top")
        count = len(m["primaries"])
        if count > 1 or (count == 0 and name not in PRIMARY_OPTIONAL):
            labels = [p["text"] for p in m["primaries"]]
            self.problems.append(f"{where}: {count} main buttons marked data-primary "
                                 f"show (one expected): {labels}")
        width, height = m["width"], m["height"]
        off = [p for p in m["primaries"] if not inside(p["box"], width, height)]
        scrolls = m["contentHeight"] > height + 1
        cue = any(inside(c, width, height) for c in m["cues"])
        for p in off:
            b = p["box"]
            where_box = (f"'{p['text']}' at top {b['top']:.0f}, bottom {b['bottom']:.0f}, "
                         f"left {b['left']:.0f}, right {b['right']:.0f} in a "
                         f"{width} x {height} window (content {m['contentHeight']} px tall)")
            if self.must_show:
                self.problems.append(f"{where}: main button not fully in view: {where_box}")
            elif scrolls and not cue:
                self.problems.append(f"{where}: main button out of view and no 'more "
                                     f"below' cue (.more-below) in view: {where_box}")
        if name == "receipt":
            self._code_in_view(where, width, height)
            if width <= 320:
                self._code_on_whole_words(where)
        self._picture_and_axe(name, where)

    def _code_in_view(self, where: str, width: int, height: int) -> None:
        box = self.page.locator("#receipt-code").bounding_box()
        edges = {"top": box["y"], "left": box["x"], "bottom": box["y"] + box["height"],
                 "right": box["x"] + box["width"]}
        if not inside(edges, width, height):
            self.problems.append(f"{where}: the code itself is not in view without "
                                 f"scrolling: {edges} in a {width} x {height} window")

    def _code_on_whole_words(self, where: str) -> None:
        broken = [w for w in self.page.evaluate(WORD_LINES, "#receipt-code")
                  if len(w["lines"]) > 1]
        if broken:
            self.problems.append(f"{where}: the receipt code breaks inside a word: "
                                 + ", ".join(f"'{w['word']}' over {len(w['lines'])} lines"
                                             for w in broken))

    def _picture_and_axe(self, name: str, where: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # The window, not the whole page: what the walk asserts is what is in view.
        save_screenshot(self.page, f"kiosk/screens-{self.layout}/{name}", full_page=False)
        if self.layout != AXE_LAYOUT:
            return
        violations = run_axe(self.page)
        if violations:
            self.problems.append(f"{where}: {len(violations)} axe-core violation(s):\n"
                                 + _describe(violations))


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_screen_shows_its_main_button(open_kiosk, live_server, question_card,  # noqa: F811
                                            layout):
    viewport, scale, _ = LAYOUTS[layout]
    page = open_kiosk(viewport, device_scale_factor=scale)
    checks = ScreenChecks(page, layout)
    walk = walk_kiosk(page, live_server.url, question_card, checks)

    problems = walk.problems + checks.problems
    assert walk.taps_to_record <= MOST_TAPS, (
        f"recording starts after {walk.taps_to_record} taps from the welcome screen "
        f"(at most {MOST_TAPS})")
    assert not problems, (f"{len(problems)} problem(s) over {len(checks.seen)} screens "
                          f"({', '.join(checks.seen)}):\n" + "\n".join(problems))
    assert {"welcome", "record", "recording", "receipt", "change-found", "withdraw",
            "idle-warning"} <= set(checks.seen)
    if os.environ.get("DIARYROOM_REFRESH_DOCS") == "1":
        refresh_docs(layout)


def refresh_docs(layout: str) -> None:
    """Copy this layout's screenshots over the README's pictures in docs/kiosk/."""
    for doc, (taken_at, name) in DOC_PICTURES.items():
        if taken_at == layout:
            shutil.copyfile(SCREENSHOTS / "kiosk" / f"screens-{layout}" / f"{name}.png",
                            DOCS / f"{doc}.png")


def test_the_refresh_covers_every_kiosk_picture_the_readme_shows():
    """Every kiosk picture README.md shows is refreshed (the staff page aside), and each
    refreshed picture is there."""
    readme = (ROOT / "README.md").read_text()
    shown = {line.split("docs/kiosk/", 1)[1].split(".png", 1)[0]
             for line in readme.split("](")[1:] if line.startswith("docs/kiosk/")}
    assert shown, "README.md shows no docs/kiosk/ pictures any more"
    assert shown - {"20-cards-staff"} <= set(DOC_PICTURES)
    assert all((DOCS / f"{name}.png").exists() for name in shown | set(DOC_PICTURES))


@pytest.mark.parametrize(("style", "broken"), [
    ("word-break: break-all", True),  # how a code that breaks mid-word is caught
    ("word-break: normal", False),
])
def test_the_word_break_check_sees_a_broken_word(page, style, broken):
    page.set_content(f'<p id="receipt-code" style="width: 4.5em; font: 24px monospace; '
                     f'{style}">swarm-mower-gummy-88</p>')
    words = page.evaluate(WORD_LINES, "#receipt-code")
    assert [w["word"] for w in words] == ["swarm", "mower", "gummy", "88"]
    assert any(len(w["lines"]) > 1 for w in words) is broken, words
