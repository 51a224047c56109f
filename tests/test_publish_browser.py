"""The published pages in a real browser: Debian's Chromium driven by Playwright, axe-core in the page.

The site (sample session really transcribed, plus a hostile audio-only session) is served by
`livecast serve`'s server on 127.0.0.1. Screenshots of each page go to tests/artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
)

from livecastpipe.models import Recording
from livecastpipe.package.publish import publish_session
from livecastpipe.package.render import EMBED_HEIGHT, EMBED_WIDTH
from livecastpipe.package.server import preview_server
from livecastpipe.timefmt import parse_player_time

from .browser_fixtures import ARTIFACTS, AXE, axe_violations, recorded_errors, screenshot
from .publish_fixtures import DESCRIPTION_CUES, HOSTILE_IMG, HOSTILE_SCRIPT, SETTINGS, accessible_package, long_package

pytestmark = pytest.mark.slow

SAMPLE_SLUG = "cooperatieven-maken-de-stad-voorbeeldsessie"


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
    errors = recorded_errors(page)
    yield page
    assert errors == [], f"the page logged errors: {errors}"


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
        if focused["id"] in ("knop-afspelen", "ondertiteling", "snelheid"):
            seen[focused["id"]] = key
        if (
            focused["tag"] == "A"
            and "chapter" not in seen
            and page.evaluate("!!document.activeElement.closest('.chapters')")
        ):
            seen["chapter"] = key  # the chapters are one tab stop: the arrow key goes to the next one
            page.keyboard.press("ArrowDown")
            chapter_start = float(page.evaluate("document.activeElement.dataset.start"))
            page.keyboard.press("Enter")
            wait_for_time(page, chapter_start)
        if "turn-text" in focused["cls"] and "paragraph" not in seen:
            seen["paragraph"] = key  # the transcript is one tab stop: the arrow key goes to the next turn
            page.keyboard.press("ArrowDown")
            paragraph_start = float(page.evaluate("document.activeElement.closest('.turn').dataset.start"))
            page.evaluate("document.getElementById('player').currentTime = 0")
            page.keyboard.press("Enter")
            wait_for_time(page, paragraph_start)
    else:
        pytest.fail("Tab never came back to the first focusable element (keyboard trap?)")
    assert set(seen) == {"knop-afspelen", "ondertiteling", "snelheid", "chapter", "paragraph"}, seen
    assert chapter_start and paragraph_start

    page.evaluate("document.getElementById('player').pause()")  # Enter on the transcript line played it
    page.focus("#knop-afspelen")
    page.keyboard.press("Space")
    page.wait_for_function("() => !document.getElementById('player').paused")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('player').paused")

    page.focus("#ondertiteling")
    page.keyboard.press("End")
    assert page.evaluate(captions_showing) == 0
    page.keyboard.press("Home")
    assert page.evaluate(captions_showing) == 1

    page.focus("#snelheid")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.getElementById('player').playbackRate") == 1.25

    page.click("#knop-voorkeuren")
    page.focus("#ondertitelgrootte")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
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
    # the longest word said in one turn only (after the first), so the result can only link to that turn
    start, word = max(
        (
            (start, word)
            for start, text in turns[1:]
            for word in re.findall(r"[^\W\d_]{5,}", text)
            if sum(word.lower() in other.lower() for _, other in turns) == 1
        ),
        key=lambda found: len(found[1]),
    )
    page.goto(site_url + "index.html")
    page.wait_for_selector("#zoeken:not([hidden])")
    page.fill("#zoekterm", word)
    page.press("#zoekterm", "Enter")
    moment = page.locator("#zoekresultaten a[href*='#t=']").first
    moment.wait_for()
    href = moment.get_attribute("href")
    assert SAMPLE_SLUG in href
    assert word.lower() in page.text_content("#zoekresultaten").lower()
    assert "\u00ad" not in page.text_content("#zoekresultaten"), "soft hyphens of the page title reached the results"
    screenshot(page, "catalogue-search.png")
    moment.click()
    page.wait_for_url(re.compile(SAMPLE_SLUG))
    target = parse_player_time(href.split("#t=")[1])
    assert abs(target - start) < 0.001, "the search result's link is not the moment the turn begins"
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


# --- the player for every viewer: shortcuts, one tab stop per list, tracks, exact links, preferences ---

LONG_SLUG = "lange-paneldiscussie"
HOSTILE_SLUG = "wonen-werken-script-document-title-gehackt-script"


@pytest.fixture(scope="module")
def long_site_url(
    tmp_path_factory: pytest.TempPathFactory, hostile_audio_recording: Recording, accessible_recording: Recording
) -> Iterator[str]:
    """A two-hour session's package and an interview with sign language and audio descriptions
    (hand-made transcripts, published without the model), served locally."""
    output = tmp_path_factory.mktemp("long-site") / "output"
    publish_session(long_package(hostile_audio_recording), output, SETTINGS)
    publish_session(accessible_package(accessible_recording), output, SETTINGS)
    server = preview_server(output, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def media_state(page: Page, expression: str):
    return page.evaluate(f"(() => {{ const m = document.getElementById('player'); return {expression}; }})()")


def showing_track(page: Page) -> str | None:
    return page.evaluate(
        "[...document.getElementById('player').textTracks].filter(t => t.mode === 'showing').map(t => t.kind)[0] || null"
    )


def focus_path(page: Page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.className")


def test_shortcuts_work_wherever_focus_is_and_the_help_dialog_keeps_and_returns_focus(
    page: Page, site_url: str
) -> None:
    open_session(page, site_url)
    rows = page.eval_on_selector_all("#sneltoetsen tr[data-code]", "rs => rs.map(r => r.dataset.action)")
    assert set(rows) >= {"play", "back", "forward", "captions", "transcript", "slower", "faster", "volume-up",
                         "volume-down", "chapter-next", "chapter-previous", "help"}  # fmt: skip
    chapters = page.eval_on_selector_all(".chapters a", "as => as.map(a => parseFloat(a.dataset.start))")

    page.focus("#positie")  # focus on a player control
    page.keyboard.press("Alt+Shift+KeyP")
    page.wait_for_function("() => !document.getElementById('player').paused")
    page.keyboard.press("Alt+Shift+KeyP")
    page.wait_for_function("() => document.getElementById('player').paused")

    page.focus("#transcript-zoek")  # focus in a text field of the page
    page.evaluate("document.getElementById('player').currentTime = 30")
    page.keyboard.press("Alt+Shift+KeyR")
    wait_for_time(page, 20)
    page.keyboard.press("Alt+Shift+KeyF")
    wait_for_time(page, 30)
    assert page.input_value("#transcript-zoek") == "", "a shortcut typed into the search field"

    page.focus("#knop-afspelen")
    assert showing_track(page) == "captions"
    page.keyboard.press("Alt+Shift+KeyC")
    assert showing_track(page) is None
    page.keyboard.press("Alt+Shift+KeyC")
    assert showing_track(page) == "captions"
    page.keyboard.press("Alt+Shift+Period")
    assert media_state(page, "m.playbackRate") == 1.25
    page.keyboard.press("Alt+Shift+Comma")
    page.keyboard.press("Alt+Shift+Comma")
    assert media_state(page, "m.playbackRate") == 0.75
    page.keyboard.press("Alt+Shift+KeyD")
    assert media_state(page, "m.volume") == pytest.approx(0.9)
    page.keyboard.press("Alt+Shift+KeyU")
    assert media_state(page, "m.volume") == pytest.approx(1.0)
    page.keyboard.press("Alt+Shift+KeyM")
    assert media_state(page, "m.muted")
    page.wait_for_function("() => document.getElementById('speler-status').textContent === 'Geluid uit'")

    page.evaluate("document.getElementById('player').currentTime = 0")
    page.keyboard.press("Alt+Shift+KeyN")
    wait_for_time(page, chapters[1])
    page.keyboard.press("Alt+Shift+KeyB")  # at the chapter's start: to the previous one
    wait_for_time(page, chapters[0])

    page.evaluate("(t) => { document.getElementById('player').currentTime = t; }", chapters[1] + 1)
    page.wait_for_function("() => !document.getElementById('player').seeking")
    page.keyboard.press("Alt+Shift+KeyL")
    assert page.evaluate("document.activeElement.closest('.turn').classList.contains('is-current')")

    page.focus("#knop-sneltoetsen")
    page.keyboard.press("Alt+Shift+KeyH")
    assert page.evaluate("document.getElementById('sneltoetsen').open")
    assert axe_violations(page) == []
    screenshot(page, "shortcut-help.png")
    for _ in range(6):
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('sneltoetsen').contains(document.activeElement)")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.getElementById('sneltoetsen').contains(document.activeElement)")
    page.keyboard.press("Escape")
    assert not page.evaluate("document.getElementById('sneltoetsen').open")
    assert focus_path(page) == "knop-sneltoetsen", "focus did not return to the button that opened the help"

    # the viewer may choose Alt+Ctrl instead (as in Able Player), remembered
    page.keyboard.press("Enter")
    page.select_option("#sneltoets-combinatie", "ctrl")
    assert page.text_content("#sneltoetsen tbody kbd.second-modifier") == "Ctrl"
    page.keyboard.press("Escape")
    page.reload()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.keyboard.press("Alt+Shift+KeyM")
    assert not media_state(page, "m.muted"), "Alt+Shift still works after choosing Alt+Ctrl"
    page.keyboard.press("Alt+Control+KeyM")
    assert media_state(page, "m.muted")


def count_tab_stops(page: Page) -> tuple[int, list[str]]:
    """Tab from the top until focus comes round again: the page's tab stops, in order."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    stops: list[str] = []
    for _ in range(200):
        page.keyboard.press("Tab")
        key = page.evaluate(
            "() => { const el = document.activeElement; return el === document.body ? '' :"
            " el.tagName + '#' + el.id + '.' + el.className + ':' + el.textContent.trim().slice(0, 30); }"
        )
        if not key:
            continue
        if stops and key == stops[0]:
            return len(stops), stops
        stops.append(key)
    raise AssertionError("Tab never came round (a keyboard trap?)")


def test_a_two_hour_session_has_under_40_tab_stops_and_a_skip_link_past_the_transcript(
    page: Page, long_site_url: str
) -> None:
    page.goto(f"{long_site_url}{LONG_SLUG}/index.html")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    turns = page.eval_on_selector_all("#transcript .turn", "ts => ts.length")
    chapters = page.eval_on_selector_all(".chapters a", "as => as.length")
    assert turns >= 300 and chapters == 12
    count, stops = count_tab_stops(page)
    print(f"two-hour page: {turns} transcript paragraphs, {chapters} chapters, {count} tab stops: {stops}")
    assert count < 40, stops
    assert sum("turn-text" in s for s in stops) == 1 and sum("chapters" in s or "Deel" in s for s in stops) == 1

    page.focus(".skip-inline")
    assert page.is_visible(".skip-inline")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("!!document.activeElement.closest('.downloads')"), (
        "the skip link does not lead past the transcript"
    )
    assert axe_violations(page) == []


def test_transcript_arrow_keys_move_between_turns_and_enter_plays(page: Page, site_url: str) -> None:
    open_session(page, site_url)
    starts = page.eval_on_selector_all("#transcript .turn", "ts => ts.map(t => parseFloat(t.dataset.start))")
    page.focus("#transcript .turn-text[tabindex='0']")
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.closest('.turn').dataset.start") == f"{starts[-1]:.3f}"
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    wait_for_time(page, starts[-2])
    page.wait_for_function("() => !document.getElementById('player').paused")  # the README: "Enter plays"
    assert page.eval_on_selector_all("#transcript .turn-text[tabindex='0']", "ps => ps.length") == 1


def test_track_choice_captions_subtitles_or_off_is_remembered(page: Page, site_url: str) -> None:
    open_session(page, site_url)
    labels = page.eval_on_selector_all("#ondertiteling option", "os => os.map(o => o.value)")
    assert labels == ["captions", "subtitles", "off"]
    page.select_option("#ondertiteling", "subtitles")
    assert showing_track(page) == "subtitles"
    page.reload()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert showing_track(page) == "subtitles" and page.input_value("#ondertiteling") == "subtitles"
    page.select_option("#ondertiteling", "off")
    assert showing_track(page) is None
    page.keyboard.press("Alt+Shift+KeyC")  # back to the last choice
    assert showing_track(page) == "subtitles"


@pytest.mark.parametrize("slug", [SAMPLE_SLUG, HOSTILE_SLUG])
def test_every_transcript_and_chapter_link_lands_inside_its_turn(page: Page, site_url: str, slug: str) -> None:
    open_session(page, site_url, slug)
    turns = page.eval_on_selector_all(
        "#transcript .turn",
        "ts => ts.map(t => [t.querySelector('.turn-head a').getAttribute('href'), parseFloat(t.dataset.start), parseFloat(t.dataset.end)])",
    )
    chapters = page.eval_on_selector_all(
        ".chapters a", "as => as.map(a => [a.getAttribute('href'), parseFloat(a.dataset.start)])"
    )
    errors = []
    for index, (href, start, end) in enumerate(turns):
        for fragment in (href, href.replace("#t=", "#t=npt:")):
            page.goto("about:blank")
            open_session(page, site_url, slug, fragment=fragment)
            page.wait_for_function("() => !document.getElementById('player').seeking")
            now = current_time(page)
            assert start <= now < end, f"{fragment} landed at {now}, outside its turn {start}–{end}"
            current = page.eval_on_selector_all(
                "#transcript .turn", "ts => ts.findIndex(t => t.classList.contains('is-current'))"
            )
            assert current == index, f"{fragment} highlights turn {current}, not {index}"
            errors.append(abs(now - start))
    for href, start in chapters:
        page.click(f".chapters a[href='{href}']")
        page.wait_for_function("(t) => Math.abs(document.getElementById('player').currentTime - t) < 0.001", arg=start)
        errors.append(abs(current_time(page) - start))
    print(f"deep links: {len(errors)} checked, largest distance from the turn's start {max(errors) * 1000:.1f} ms")
    assert max(errors) < 0.001


def test_caption_display_preferences_apply_and_are_remembered(page: Page, site_url: str) -> None:
    open_session(page, site_url)
    page.click("#knop-voorkeuren")
    assert page.evaluate("document.getElementById('voorkeuren').open")
    assert page.evaluate("document.getElementById('voorkeuren').contains(document.activeElement)")
    page.select_option("#ondertitellettertype", "schreef")
    page.select_option("#ondertitelkleur", "geel")
    page.select_option("#ondertitelachtergrond", "blauw")
    page.select_option("#ondertiteldekking", "0.5")
    page.select_option("#ondertitelpositie", "boven")
    page.select_option("#ondertitelgrootte", "groot")
    page.uncheck("#markeren")
    assert axe_violations(page) == []
    page.click("#voorkeuren .dialog-close")
    assert focus_path(page) == "knop-voorkeuren"
    page.evaluate(
        "document.getElementById('volume').value = '0.4'; document.getElementById('volume').dispatchEvent(new Event('input'))"
    )
    page.select_option("#snelheid", "1.5")
    page.uncheck("#meescrollen")
    page.reload()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.wait_for_function(
        "() => [...document.getElementById('player').textTracks].some(t => t.kind === 'captions' && t.cues && t.cues.length)"
    )
    style = page.evaluate(
        "(() => { const s = getComputedStyle(document.getElementById('speler'));"
        " return [s.getPropertyValue('--cue-colour'), s.getPropertyValue('--cue-background'),"
        " s.getPropertyValue('--cue-font')]; })()"
    )
    assert style == ["#ffff00", "rgba(11, 31, 77, 0.5)", "serif"]
    assert page.evaluate("document.getElementById('speler').classList.contains('cue-groot')")
    lines = page.evaluate(
        "[...[...document.getElementById('player').textTracks].find(t => t.kind === 'captions').cues].map(c => c.line)"
    )
    assert lines and all(line == 0 for line in lines), "captions are not placed at the top"
    assert media_state(page, "m.volume") == pytest.approx(0.4) and media_state(page, "m.playbackRate") == 1.5
    assert not page.is_checked("#meescrollen") and not page.is_checked("#markeren")
    page.evaluate("document.getElementById('player').currentTime = 5")
    page.wait_for_selector("#transcript .is-current[aria-current='time']", state="attached")
    current = page.eval_on_selector("#transcript .is-current", "t => getComputedStyle(t).backgroundColor")
    assert current == "rgba(0, 0, 0, 0)", "the current turn is still highlighted"
    page.wait_for_function(
        "() => [...document.getElementById('player').textTracks].some(t => t.mode === 'showing' && t.activeCues.length)"
    )
    page.locator("#speler").screenshot(path=str(ARTIFACTS / "player-caption-preferences.png"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_both_colour_schemes_have_no_wcag_violations(browser: Browser, site_url: str, scheme: str) -> None:
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    for url in (f"{site_url}{SAMPLE_SLUG}/index.html", f"{site_url}index.html"):
        page.goto(url)
        page.wait_for_load_state("load")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (background == "rgb(255, 255, 255)") == (scheme == "light"), background
        assert axe_violations(page) == [], f"{scheme}: {url}"
    screenshot(page, f"catalogue-{scheme}.png")
    page.goto(f"{site_url}{SAMPLE_SLUG}/index.html")
    screenshot(page, f"session-{scheme}.png")
    context.close()


def test_forced_colours_keep_the_current_turn_and_controls_visible(browser: Browser, site_url: str) -> None:
    context = browser.new_context(forced_colors="active")
    page = context.new_page()
    open_session(page, site_url, fragment="#t=0")
    page.wait_for_selector("#transcript .is-current")
    assert page.eval_on_selector("#transcript .is-current", "t => getComputedStyle(t).outlineStyle") == "solid"
    screenshot(page, "session-forced-colours.png")
    context.close()


def accessible_name(page: Page, selector: str) -> str:
    """The name Chromium's accessibility tree gives the element (what a screen reader says)."""
    cdp = page.context.new_cdp_session(page)
    document = cdp.send("DOM.getDocument")
    node = cdp.send("DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": selector})
    tree = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node["nodeId"], "fetchRelatives": False})
    return tree["nodes"][0]["name"]["value"]


def test_dutch_spoken_values_and_names_without_decorative_characters(page: Page, site_url: str) -> None:
    open_session(page, site_url)
    page.evaluate("document.getElementById('player').currentTime = 61")
    page.wait_for_function(
        "() => document.getElementById('positie').getAttribute('aria-valuetext').startsWith('1 minuut 1 seconde van')"
    )
    page.evaluate("document.getElementById('player').currentTime = 2")
    page.wait_for_function(
        "() => document.getElementById('positie').getAttribute('aria-valuetext').startsWith('2 seconden van 1 minuut')"
    )
    assert page.get_attribute("#volume", "aria-valuetext") == "100 procent"
    page.click("#knop-geluid")
    # the button follows the player's state: it changes on the player's volumechange event, after the click
    page.wait_for_function("() => document.getElementById('knop-geluid').getAttribute('aria-pressed') === 'true'")
    assert accessible_name(page, "#knop-geluid") == "Geluid uit"
    assert page.get_attribute("#volume", "aria-valuetext") == "geluid uit"


def test_labels_stay_beside_their_controls_at_320_css_pixels(browser: Browser, site_url: str) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(f"{site_url}{SAMPLE_SLUG}/index.html")
    page.wait_for_load_state("load")
    player = page.locator("#bediening").bounding_box()
    assert player
    for control in ("ondertiteling", "snelheid", "volume"):
        label = page.locator(f"label[for='{control}']").bounding_box()
        box = page.locator(f"#{control}").bounding_box()
        assert label and box
        assert label["y"] < box["y"] + box["height"] and box["y"] < label["y"] + label["height"], control
        assert label["x"] < box["x"], f"the label of {control} is not beside it"
        assert box["x"] + box["width"] <= player["x"] + player["width"] + 1, f"{control} sticks out of the player"
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).hyphens") == "auto"
    # long words carry soft hyphens, so they break with a hyphen even where the browser has no dictionary
    title = page.text_content("h1")
    assert "voor\u00adbeeld" in title and title.replace("\u00ad", "") == page.get_attribute("h1", "data-title")
    assert page.evaluate("document.documentElement.lang") == "nl"
    context.close()


ACCESSIBLE_SLUG = "interview-met-tolk"
RECORD_SPEECH = """
window.spoken = [];
if (window.speechSynthesis) {
  const speak = window.speechSynthesis.speak.bind(window.speechSynthesis);
  window.speechSynthesis.speak = (u) => {
    window.spoken.push({text: u.text, lang: u.lang, at: document.getElementById('player').currentTime});
    speak(u);
  };
}
"""


def test_sign_language_window_follows_playback_and_moves(page: Page, long_site_url: str) -> None:
    page.goto(f"{long_site_url}{ACCESSIBLE_SLUG}/index.html")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert page.is_hidden("#gebarentaal-venster")
    page.click("#knop-gebarentaal")
    assert page.is_visible("#gebarentaal-venster")
    page.wait_for_function("() => document.getElementById('gebarentaal').readyState >= 2")
    page.evaluate("document.getElementById('player').play()")
    page.wait_for_function("() => document.getElementById('player').currentTime > 1")
    drift = []
    for _ in range(20):
        drift.append(
            page.evaluate(
                "Math.abs(document.getElementById('player').currentTime - document.getElementById('gebarentaal').currentTime)"
            )
        )
        page.wait_for_timeout(100)
    page.evaluate("document.getElementById('player').currentTime = 12")
    page.wait_for_function(
        "() => !document.getElementById('player').seeking && document.getElementById('player').currentTime > 12.5"
    )
    for _ in range(10):
        drift.append(
            page.evaluate(
                "Math.abs(document.getElementById('player').currentTime - document.getElementById('gebarentaal').currentTime)"
            )
        )
        page.wait_for_timeout(100)
    print(f"sign language: largest drift {max(drift):.3f} s over {len(drift)} samples")
    assert max(drift) < 0.3
    page.keyboard.press("Alt+Shift+KeyP")
    page.wait_for_function("() => document.getElementById('gebarentaal').paused")

    before = page.locator("#gebarentaal-venster").bounding_box()
    bar = page.locator(".sign-bar").bounding_box()
    page.mouse.move(bar["x"] + 20, bar["y"] + 10)
    page.mouse.down()
    page.mouse.move(bar["x"] - 200, bar["y"] - 150, steps=5)
    page.mouse.up()
    moved = page.locator("#gebarentaal-venster").bounding_box()
    assert moved["x"] == pytest.approx(before["x"] - 220, abs=2) and moved["y"] == pytest.approx(
        before["y"] - 160, abs=2
    )
    page.focus("#gebarentaal-verplaats")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    assert page.locator("#gebarentaal-venster").bounding_box()["width"] == pytest.approx(moved["width"] + 40, abs=2)
    page.keyboard.press("ArrowDown")
    assert page.locator("#gebarentaal-venster").bounding_box()["y"] == pytest.approx(moved["y"] + 20, abs=2)
    assert page.evaluate("getComputedStyle(document.getElementById('gebarentaal-venster')).resize") == "both"
    assert axe_violations(page) == []
    screenshot(page, "sign-language-window.png")
    page.keyboard.press("Alt+Shift+KeyG")
    assert page.is_hidden("#gebarentaal-venster")


@pytest.mark.parametrize("voice", ["spraak", "schermlezer", "spraak-pauze"])
def test_audio_descriptions_are_spoken_or_announced_at_their_cue_times(
    browser: Browser, long_site_url: str, voice: str
) -> None:
    context = browser.new_context()
    context.add_init_script(script=RECORD_SPEECH)
    page = context.new_page()
    page.goto(f"{long_site_url}{ACCESSIBLE_SLUG}/index.html")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.evaluate(
        "document.getElementById('player').addEventListener('pause', () => { window.pauses = (window.pauses || 0) + 1; })"
    )
    if voice != "spraak":
        page.click("#knop-voorkeuren")
        if voice == "schermlezer":
            page.select_option("#beschrijving-stem", voice)
        else:
            page.check("#beschrijving-pauze")
        page.keyboard.press("Escape")
    page.keyboard.press("Alt+Shift+KeyO")
    assert page.get_attribute("#knop-beschrijving", "aria-pressed") == "true"
    assert page.get_attribute("#beschrijving", "aria-live") == ("polite" if voice == "schermlezer" else "off")
    first, second = DESCRIPTION_CUES
    page.evaluate("(t) => { const m = document.getElementById('player'); m.currentTime = t; m.play(); }", first[0] - 1)
    page.wait_for_function("(text) => document.getElementById('beschrijving').textContent === text", arg=first[2])
    if voice == "spraak-pauze":  # paused for the description, playing again once it has been spoken
        assert page.evaluate("window.pauses") == 1
        page.wait_for_function("() => !document.getElementById('player').paused")
    shown_at = page.evaluate("document.getElementById('player').currentTime")
    assert first[0] - 0.3 <= shown_at <= first[1], f"the description appeared at {shown_at} s"
    page.evaluate("(t) => { document.getElementById('player').currentTime = t; }", second[0] - 0.5)
    page.wait_for_function("(text) => document.getElementById('beschrijving').textContent === text", arg=second[2])
    page.evaluate("document.getElementById('player').pause()")
    spoken = page.evaluate("window.spoken")
    if voice != "schermlezer":
        assert [s["text"] for s in spoken] == [first[2], second[2]] and all(s["lang"] == "nl-NL" for s in spoken)
        assert all(cue[0] - 0.3 <= s["at"] <= cue[1] for s, cue in zip(spoken, DESCRIPTION_CUES)), spoken
    else:
        assert spoken == [], "spoken by the browser as well as by the screen reader"
    context.close()


def test_embed_page_plays_in_an_iframe_on_another_origin(
    browser: Browser, site_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    host = tmp_path_factory.mktemp("other-website")
    embed_url = f"{site_url}{SAMPLE_SLUG}/embed.html"
    (host / "index.html").write_text(
        f'<!doctype html><html lang="nl"><link rel="icon" href="data:,"><title>Gemeente</title><h1>Raadsvergadering</h1>'
        f'<iframe src="{embed_url}#t=10" title="Speler" width="{EMBED_WIDTH}" height="{EMBED_HEIGHT}"></iframe></html>',
        encoding="utf-8",
    )
    # another website, with a plain static server of its own (our server's policy frames nothing)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(host))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(path=str(AXE))
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(f"http://localhost:{server.server_address[1]}/index.html")  # another origin: host and port differ
        frame = page.frame_locator("iframe")
        frame.locator("#knop-afspelen").wait_for()
        player = page.frames[1]
        assert player.url.startswith(site_url) and not page.url.startswith(site_url)
        player.wait_for_function("() => Math.abs(document.getElementById('player').currentTime - 10) < 0.01")
        # the embed code's 16:9 frame shows the title line and the whole video; the controls follow below
        video_bottom = player.evaluate("document.getElementById('player').getBoundingClientRect().bottom")
        assert 0.75 * EMBED_HEIGHT < video_bottom <= player.evaluate("innerHeight") == EMBED_HEIGHT
        frame.locator("#knop-afspelen").click()
        player.wait_for_function("() => !document.getElementById('player').paused")
        frame.locator("#knop-afspelen").click()
        assert frame.locator("#ondertiteling").is_visible()
        assert errors == []
        screenshot(page, "embedded-player.png")
        response = page.request.get(embed_url)
        assert "frame-ancestors *" in response.headers.get("content-security-policy", "")
        # the full page may be framed by the site itself only
        assert "frame-ancestors 'self'" in page.request.get(f"{site_url}{SAMPLE_SLUG}/index.html").headers.get(
            "content-security-policy", ""
        )
        page.goto(embed_url)
        page.wait_for_function("() => document.getElementById('player').readyState >= 1")
        assert axe_violations(page) == []
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def test_session_page_offers_a_copyable_embed_code_and_oembed(browser: Browser, site_url: str) -> None:
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    open_session(page, site_url)
    code = page.input_value("#insluitcode")
    assert code.startswith(f'<iframe src="https://replays.example.org/cooperatieven/{SAMPLE_SLUG}/embed.html"')
    assert 'title="Speler: Coöperatieven maken de stad' in code
    page.click("#knop-kopieer")
    page.wait_for_function("() => document.getElementById('kopieer-status').textContent === 'De code is gekopieerd.'")
    assert page.evaluate("navigator.clipboard.readText()") == code
    oembed_link = page.get_attribute("link[type='application/json+oembed']", "href")
    assert oembed_link == f"https://replays.example.org/cooperatieven/{SAMPLE_SLUG}/oembed.json"
    oembed = page.request.get(f"{site_url}{SAMPLE_SLUG}/oembed.json").json()
    assert oembed["version"] == "1.0" and oembed["type"] == "video" and oembed["html"] == code
    assert oembed["width"] > 0 and oembed["height"] > 0
    context.close()
