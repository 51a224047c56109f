"""The replay page's player on what deaf viewers notice (#28): Enter plays from a chapter, captions stay
readable on a phone, the search highlight keeps its contrast in dark mode. Debian's Chromium through
Playwright over the published sample site (`site_url`), axe-core in the page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pytest
from playwright.sync_api import Browser, Page

from .browser_fixtures import AXE, recorded_errors
from .test_publish_browser import open_session, wait_for_time

pytestmark = pytest.mark.slow


def new_page(browser: Browser, width: int, scheme: Literal["light", "dark"] = "light") -> Iterator[Page]:
    """A page with axe-core loaded in a context of its own (`width` CSS pixels wide, a colour scheme) that
    fails the test on console errors, uncaught exceptions and dialogs."""
    context = browser.new_context(
        locale="nl-NL", viewport={"width": width, "height": 900 if width > 320 else 640}, color_scheme=scheme
    )
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors = recorded_errors(page)
    yield page
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    yield from new_page(browser, 1280)


@pytest.fixture()
def phone(browser: Browser) -> Iterator[Page]:
    """A 320 CSS pixels wide screen: a small phone, or 1280 px at 400 % zoom."""
    yield from new_page(browser, 320)


@pytest.fixture()
def dark_page(browser: Browser) -> Iterator[Page]:
    yield from new_page(browser, 1280, "dark")


def test_enter_on_a_chapter_plays_from_its_start(page: Page, site_url: str) -> None:
    open_session(page, site_url)
    page.focus(".chapters a[tabindex='0']")
    page.keyboard.press("ArrowDown")
    start = float(page.evaluate("document.activeElement.dataset.start"))
    page.keyboard.press("Enter")
    wait_for_time(page, start)
    page.wait_for_function("() => !document.getElementById('player').paused")
    assert page.evaluate("document.getElementById('player').currentTime") >= start - 0.05


def first_caption(page: Page) -> tuple[float, str]:
    """The start and text of the captions track's first cue, once the track has loaded."""
    page.wait_for_function(
        "() => [...document.getElementById('player').textTracks].some(t => t.kind === 'captions' && t.cues && t.cues.length)"
    )
    start, text = page.evaluate(
        "(() => { const cue = [...document.getElementById('player').textTracks]"
        ".find(t => t.kind === 'captions').cues[0]; return [cue.startTime, cue.getCueAsHTML().textContent]; })()"
    )
    return float(start), str(text)


def test_captions_are_at_least_16_px_high_on_a_320_px_screen(phone: Page, site_url: str) -> None:
    open_session(phone, site_url)
    start, text = first_caption(phone)
    phone.evaluate("(t) => { document.getElementById('player').currentTime = t; }", start + 0.2)
    caption = phone.locator("#ondertitels-pagina .page-cue").first
    caption.wait_for()
    assert caption.text_content() == text
    size = float(caption.evaluate("c => parseFloat(getComputedStyle(c).fontSize)"))
    assert size >= 16, f"captions drawn at {size} px"
    showing = phone.evaluate(
        "[...document.getElementById('player').textTracks].filter(t => t.mode === 'showing').length"
    )
    assert showing == 0, "the browser's own captions (about 8 px here) are still drawn over the video"
    video = phone.locator("#player").bounding_box()
    box = phone.locator("#ondertitels-pagina").bounding_box()
    assert video and box and box["y"] >= video["y"] + video["height"] - 1, "the captions cover the video"
    phone.select_option("#ondertiteling", "off")
    assert phone.locator("#ondertitels-pagina").is_hidden()


def test_the_browser_draws_the_captions_where_they_are_large_enough(page: Page, site_url: str) -> None:
    open_session(page, site_url)
    start, _ = first_caption(page)
    page.evaluate("(t) => { document.getElementById('player').currentTime = t; }", start + 0.2)
    page.wait_for_function("() => [...document.getElementById('player').textTracks].some(t => t.mode === 'showing')")
    assert page.locator("#ondertitels-pagina").is_hidden()


def contrast_violations(page: Page) -> list[list[str]]:
    result = page.evaluate("async () => await axe.run(document, {runOnly: {type: 'rule', values: ['color-contrast']}})")
    return [node["target"] for violation in result["violations"] for node in violation["nodes"]]


def test_search_highlights_keep_their_contrast_in_dark_mode(dark_page: Page, site_url: str) -> None:
    open_session(dark_page, site_url)
    dark_page.fill("#transcript-zoek", "cooperatie")
    dark_page.wait_for_selector("#transcript mark")
    assert contrast_violations(dark_page) == []
    dark_page.goto(site_url + "index.html")
    dark_page.wait_for_selector("#zoeken:not([hidden])")
    dark_page.fill("#zoekterm", "coöperatie")
    dark_page.press("#zoekterm", "Enter")
    dark_page.wait_for_selector("#zoekresultaten mark")
    assert contrast_violations(dark_page) == []
