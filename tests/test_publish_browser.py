"""The published pages in a real browser: Debian's Chromium driven by Playwright, axe-core in the page.

The site (sample session really transcribed, plus a hostile audio-only session) is served by
`livecast serve`'s server on 127.0.0.1. Screenshots of each page go to tests/artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    sync_playwright,
)

from livecastpipe.timefmt import parse_player_time

from .publish_fixtures import (  # noqa: F401 (fixtures)
    HOSTILE_IMG,
    HOSTILE_SCRIPT,
    hostile_audio_recording,
    published_site,
    sample_session,
    site_url,
)

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SAMPLE_SLUG = "cooperatieven-maken-de-stad-voorbeeldsessie"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: run `make test` (installs SYSTEM_TEST_PACKAGES)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make test` (runs `npm ci` in tests/browser)")
    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh, temporary user-data-dir of its own.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh context with axe-core loaded into every page (as an init script, so the CSP stays on)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    context.add_init_script(path=str(AXE))
    yield context
    context.close()


@pytest.fixture()
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that records console errors (CSP violations included) and fails on uncaught exceptions."""
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("dialog", lambda dialog: errors.append(f"dialog opened: {dialog.message}"))
    yield page
    assert errors == [], f"the page logged errors: {errors}"


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def axe_violations(page: Page) -> list[dict]:
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    print(
        f"axe {page.url}: {len(result['violations'])} violations, {len(result['passes'])} rules passed, "
        f"{len(result['incomplete'])} to review by hand"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]
    ]


def open_session(page: Page, site_url: str, slug: str = SAMPLE_SLUG, fragment: str = "") -> None:
    page.goto(f"{site_url}{slug}/index.html{fragment}")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")


def current_time(page: Page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def wait_for_time(page: Page, seconds: float) -> None:
    page.wait_for_function("(t) => Math.abs(document.getElementById('player').currentTime - t) < 0.6", arg=seconds)


def test_session_page_has_no_wcag_violations(page: Page, site_url: str) -> None:
    open_session(page, site_url)
    assert axe_violations(page) == []
    screenshot(page, "session.png")


def test_catalogue_has_no_wcag_violations(page: Page, site_url: str) -> None:
    page.goto(site_url + "index.html")
    page.wait_for_selector("#zoeken:not([hidden])")
    assert axe_violations(page) == []
    screenshot(page, "catalogue.png")


def test_audio_only_session_page_has_no_wcag_violations(page: Page, site_url: str) -> None:
    page.goto(site_url + "index.html")
    page.get_by_role("link", name=re.compile("Wonen & werken")).click()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert axe_violations(page) == []
    screenshot(page, "session-audio-only.png")


def test_keyboard_alone_reaches_and_operates_every_control(page: Page, site_url: str) -> None:
    open_session(page, site_url)
    captions_showing = "[...document.getElementById('player').textTracks].filter(t => t.kind === 'captions' && t.mode === 'showing').length"
    assert page.evaluate(captions_showing) == 1, "the caption track is not showing by default"

    seen: dict[str, str] = {}
    chapter_start = paragraph_start = None
    first = None
    for _ in range(120):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const el = document.activeElement;
                 const style = getComputedStyle(el);
                 return {id: el.id, tag: el.tagName, cls: el.className, text: el.textContent.trim().slice(0, 40),
                         start: el.dataset.start || (el.closest('.turn') && el.closest('.turn').dataset.start) || null,
                         outline: style.outlineStyle, outlineWidth: style.outlineWidth}; }"""
        )
        if focused["tag"] == "BODY":
            continue  # focus left the page for the browser's own UI; the next Tab comes back
        key = focused["id"] or f"{focused['tag']}.{focused['cls']}:{focused['text']}"
        if first is None:
            first = key
        elif key == first:
            break  # focus went all the way round: no trap
        assert focused["outline"] != "none" and focused["outlineWidth"] != "0px", f"no visible focus on {key}"
        if focused["id"] in ("knop-afspelen", "knop-ondertiteling", "snelheid"):
            seen[focused["id"]] = key
        if focused["tag"] == "A" and focused["start"] and float(focused["start"]) > 0 and "chapter" not in seen:
            if page.evaluate("!!document.activeElement.closest('.chapters')"):
                seen["chapter"] = key
                chapter_start = float(focused["start"])
                page.keyboard.press("Enter")
                wait_for_time(page, chapter_start)
        if "turn-text" in focused["cls"] and float(focused["start"]) > 0 and "paragraph" not in seen:
            seen["paragraph"] = key
            paragraph_start = float(focused["start"])
            page.evaluate("document.getElementById('player').currentTime = 0")
            page.keyboard.press("Enter")
            wait_for_time(page, paragraph_start)
    else:
        pytest.fail("Tab never came back to the first focusable element (keyboard trap?)")
    assert set(seen) == {"knop-afspelen", "knop-ondertiteling", "snelheid", "chapter", "paragraph"}, seen
    assert chapter_start and paragraph_start

    page.focus("#knop-afspelen")
    page.keyboard.press("Space")
    page.wait_for_function("() => !document.getElementById('player').paused")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('player').paused")

    page.focus("#knop-ondertiteling")
    page.keyboard.press("Enter")
    assert page.evaluate(captions_showing) == 0
    assert page.get_attribute("#knop-ondertiteling", "aria-pressed") == "false"
    page.keyboard.press("Space")
    assert page.evaluate(captions_showing) == 1

    page.focus("#snelheid")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.getElementById('player').playbackRate") == 1.25

    page.focus("#ondertitelgrootte")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.getElementById('speler').classList.contains('cue-groot')")
    page.evaluate("document.getElementById('player').currentTime = 5")
    page.wait_for_function(
        "() => [...document.getElementById('player').textTracks].some(t => t.kind === 'captions' && t.activeCues && t.activeCues.length > 0)"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#speler").screenshot(path=str(ARTIFACTS / "player-captions-large.png"))


def test_transcript_search_filters_and_highlights(page: Page, site_url: str) -> None:
    open_session(page, site_url)
    texts = page.eval_on_selector_all("#transcript .turn-text", "ps => ps.map(p => p.textContent.toLowerCase())")
    words = sorted({w for t in texts for w in re.findall(r"[^\W\d_]{6,}", t)}, key=len, reverse=True)
    word = next(w for w in words if sum(w in t for t in texts) == 1)
    page.fill("#transcript-zoek", word.upper())
    page.wait_for_function("() => document.getElementById('zoek-status').textContent.length > 0")
    assert page.text_content("#zoek-status") == "1 alinea gevonden"
    visible = page.eval_on_selector_all("#transcript .turn", "ts => ts.filter(t => !t.hidden).length")
    assert visible == 1
    marks = page.eval_on_selector_all("#transcript mark", "ms => ms.map(m => m.textContent.toLowerCase())")
    assert marks and all(m == word for m in marks)
    page.fill("#transcript-zoek", "")
    page.wait_for_function("() => document.getElementById('zoek-status').textContent === ''")
    assert page.eval_on_selector_all("#transcript .turn", "ts => ts.filter(t => t.hidden).length") == 0
    assert page.eval_on_selector_all("#transcript mark", "ms => ms.length") == 0


def test_search_ignores_diacritics(page: Page, site_url: str) -> None:
    open_session(page, site_url)
    page.fill("#transcript-zoek", "cooperatie")
    page.wait_for_function("() => document.getElementById('zoek-status').textContent.length > 0")
    marks = page.eval_on_selector_all("#transcript mark", "ms => ms.map(m => m.textContent.toLowerCase())")
    assert "coöperatie" in marks


def test_current_paragraph_follows_playback_and_auto_scroll_can_be_turned_off(page: Page, site_url: str) -> None:
    open_session(page, site_url)
    starts = page.eval_on_selector_all("#transcript .turn", "ts => ts.map(t => parseFloat(t.dataset.start))")
    assert len(starts) >= 2
    page.evaluate("document.getElementById('transcript').style.maxHeight = '6rem'")  # force a scroll box
    page.evaluate("(t) => { document.getElementById('player').currentTime = t; }", starts[-1] + 0.2)
    page.wait_for_function(
        "() => document.querySelectorAll('#transcript .turn')[document.querySelectorAll('#transcript .turn').length - 1].classList.contains('is-current')"
    )
    page.wait_for_function("() => document.getElementById('transcript').scrollTop > 0")
    assert page.eval_on_selector_all("#transcript .is-current", "ts => ts.length") == 1
    assert page.get_attribute("#transcript .is-current", "aria-current") == "time"

    page.evaluate("document.getElementById('transcript').scrollTop = 0")
    page.check("#meescrollen")
    page.uncheck("#meescrollen")
    page.evaluate("document.getElementById('player').currentTime = 0")
    page.evaluate("(t) => { document.getElementById('player').currentTime = t; }", starts[-1] + 0.4)
    page.wait_for_function("() => !document.getElementById('player').seeking")
    page.wait_for_timeout(500)
    assert page.evaluate("document.getElementById('transcript').scrollTop") == 0


def test_deep_link_opens_the_player_at_that_moment(page: Page, site_url: str) -> None:
    open_session(page, site_url, fragment="#t=00:31")
    wait_for_time(page, 31.0)
    current = page.eval_on_selector("#transcript .is-current", "t => parseFloat(t.dataset.start)")
    assert current <= 31.0


def test_hostile_text_renders_as_text(page: Page, site_url: str) -> None:
    page.goto(site_url + "index.html")
    page.get_by_role("link", name=re.compile("Wonen & werken")).click()
    page.wait_for_load_state("load")
    assert page.title() != "gehackt"
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.evaluate("document.querySelectorAll('main script').length") == 0
    transcript = page.text_content("#transcript")
    assert HOSTILE_SCRIPT in transcript and HOSTILE_IMG in transcript
    assert HOSTILE_SCRIPT in page.text_content("h1")
    assert HOSTILE_IMG in page.text_content(".chapters")
    screenshot(page, "session-hostile.png")


def test_page_without_javascript_still_offers_everything(browser: Browser, site_url: str) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{site_url}{SAMPLE_SLUG}/index.html")
    assert page.get_attribute("#player", "controls") is not None
    kinds = page.eval_on_selector_all("#player track", "ts => ts.map(t => t.getAttribute('kind'))")
    assert kinds == ["captions", "subtitles", "chapters"]
    assert page.is_visible("#transcript .turn-text")
    assert page.is_hidden("#bediening")
    assert page.is_hidden("#transcript-zoek"), "a search box that cannot work without JavaScript is shown"
    stamps = page.eval_on_selector_all("#transcript .turn-head a", "as => as.map(a => a.textContent)")
    assert stamps and all(re.fullmatch(r"\d\d:\d\d", s) for s in stamps)
    assert page.is_visible(".chapters a")
    downloads = page.eval_on_selector_all(".downloads a", "as => as.map(a => a.getAttribute('href'))")
    assert {"subtitles.nl.srt", "captions.nl.vtt", "transcript.txt", "transcript.json", "chapters.json"} <= set(
        downloads
    )
    screenshot(page, "session-no-javascript.png")
    context.close()


def test_catalogue_search_finds_a_spoken_word_and_links_to_the_moment(page: Page, site_url: str) -> None:
    page.goto(f"{site_url}{SAMPLE_SLUG}/index.html")
    turns = page.eval_on_selector_all(
        "#transcript .turn",
        "ts => ts.map(t => [parseFloat(t.dataset.start), t.querySelector('.turn-text').textContent])",
    )
    start, text = turns[-1]
    word = max(re.findall(r"[^\W\d_]{5,}", text), key=len)
    page.goto(site_url + "index.html")
    page.wait_for_selector("#zoeken:not([hidden])")
    page.fill("#zoekterm", word)
    page.press("#zoekterm", "Enter")
    moment = page.locator("#zoekresultaten a[href*='#t=']").first
    moment.wait_for()
    href = moment.get_attribute("href")
    assert SAMPLE_SLUG in href
    assert word.lower() in page.text_content("#zoekresultaten").lower()
    screenshot(page, "catalogue-search.png")
    moment.click()
    page.wait_for_url(re.compile(SAMPLE_SLUG))
    target = parse_player_time(href.split("#t=")[1])
    assert abs(target - int(start)) < 1
    wait_for_time(page, target)


@pytest.mark.parametrize("slug", [SAMPLE_SLUG, ""])
def test_pages_reflow_at_320_css_pixels_without_horizontal_scrolling(
    browser: Browser, site_url: str, slug: str
) -> None:
    """WCAG 1.4.10: 1280 px at 400 % zoom is a 320 px wide viewport; nothing may need sideways scrolling."""
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(f"{site_url}{slug + '/' if slug else ''}index.html")
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    if slug:
        assert page.is_visible("#knop-afspelen") and page.is_visible("#transcript .turn-text")
        screenshot(page, "session-320px.png")
    context.close()


def test_reduced_motion_preference_turns_smooth_scrolling_off(browser: Browser, site_url: str) -> None:
    behaviours = {}
    for preference in ("reduce", "no-preference"):
        context = browser.new_context(reduced_motion=preference)
        page = context.new_page()
        page.goto(f"{site_url}{SAMPLE_SLUG}/index.html")
        behaviours[preference] = page.evaluate("getComputedStyle(document.documentElement).scrollBehavior")
        context.close()
    assert behaviours == {"reduce": "auto", "no-preference": "smooth"}
