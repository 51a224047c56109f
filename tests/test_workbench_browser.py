"""The workbench in a real browser (Debian's Chromium through Playwright, axe-core in the page), over a copy
of the published sample session (transcribed once per test run by the shared fixtures): an editor
corrects a flagged word with the keyboard alone, gives a segment to another speaker, approves the
captions and publishes; the published files show the correction, the other words keep their times."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Literal

import pytest
import uvicorn
import webvtt
from playwright.sync_api import Browser, BrowserContext, Page

from livecastpipe import workspace
from livecastpipe.cli.edit import bind
from livecastpipe.editor.workbench.routes import workbench_app
from livecastpipe.editor.workbench.service import Workbench
from livecastpipe.models import Transcript, from_json, to_json
from livecastpipe.package import outputs
from livecastpipe.package.store import load_session_package
from livecastpipe.settings import Settings
from livecastpipe.stages.terms import flag_words

from .browser_fixtures import AXE, axe_violations, recorded_errors
from .publish_fixtures import SETTINGS
from .test_publish_browser import SAMPLE_SLUG
from .workbench_fixtures import ENGLISH_LINES, LINES, SLUG

pytestmark = pytest.mark.slow

TOKEN = "browser-test-token"
CORRECTION = "Wijkraadsvergadering"
SCREENSHOT = Path(__file__).parent / "artifacts" / "workbench.png"
"""Copied by hand to docs/workbench.png (the README's picture) when the workbench's look changes."""


WORKBENCHES = ("workbench", "small_workbench", "translated_workbench")


@pytest.fixture()
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page with axe-core loaded (as an init script, so the CSP stays on) that fails the test on console
    errors, uncaught exceptions and dialogs. The test's workbench is started first, so it is stopped only
    after the page is closed (the page still loads the preview track and levels after a test's last step)."""
    for name in set(WORKBENCHES) & set(request.fixturenames):
        request.getfixturevalue(name)
    context: BrowserContext = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL")
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors = recorded_errors(page)
    yield page
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


def machine_transcript_path(output: Path, slug: str = SAMPLE_SLUG) -> Path:
    """The file `edits.machine_transcript` reads: the private machine transcript, else the public one."""
    private = workspace.session_dir_for(output, slug, outputs.MACHINE_TRANSCRIPT)
    if (private / outputs.MACHINE_TRANSCRIPT.name()).is_file():
        return private / outputs.MACHINE_TRANSCRIPT.name()
    return workspace.session_site_dir(output, slug) / outputs.TRANSCRIPT_JSON.name()


@contextmanager
def serve(output: Path) -> Iterator[str]:
    """The workbench of an output folder served by uvicorn on 127.0.0.1 (a free port), as `livecast edit` does."""
    app = workbench_app(Workbench(Settings(output_dir=output, publish=SETTINGS), TOKEN, "Redactie"))
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture()
def workbench(published_site: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The workbench served by uvicorn on 127.0.0.1 over a copy of the published site, whose machine
    transcript has its words flagged by the repair stage's rule (`terms.flag_words`)."""
    output = tmp_path / "output"
    shutil.copytree(published_site, output, symlinks=True)
    path = machine_transcript_path(output)
    metadata = load_session_package(output, SAMPLE_SLUG).recording.metadata
    path.write_text(to_json(flag_words(from_json(Transcript, path.read_text(encoding="utf-8")), metadata)))
    with serve(output) as url:
        yield output, url


def open_workbench(page: Page, url: str) -> None:
    page.goto(f"{url}/sessions/{SAMPLE_SLUG}/?token={TOKEN}")
    assert "token=" not in page.url, "the token stayed in the address"
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")


def wait_for_status(page: Page, text: str) -> None:
    page.wait_for_function(
        "(text) => document.getElementById('status').textContent.includes(text) || "
        "document.getElementById('alert').textContent.length > 0",
        arg=text,
    )
    assert page.text_content("#alert") == "", page.text_content("#alert")


def api_session(page: Page, url: str, slug: str = SAMPLE_SLUG) -> dict:
    return page.evaluate(f"async () => (await fetch('{url}/api/sessions/{slug}')).json()")


def search_index_text(output: Path) -> str:
    """The text of every page Pagefind indexed (its fragments are gzipped JSON after a signature)."""
    fragments = (workspace.site_dir(output) / "pagefind" / "fragment").glob("*.pf_fragment")
    return " ".join(gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in fragments)


def test_workbench_has_no_wcag_violations(page: Page, workbench: tuple[Path, str]) -> None:
    _, url = workbench
    open_workbench(page, url)
    assert axe_violations(page) == []
    page.keyboard.press("Alt+KeyH")
    page.wait_for_selector("#help-dialog[open]")
    assert page.locator("#help-dialog tr[data-action]").count() >= 15, "the help panel lists the keys"
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    page.wait_for_selector("#help-dialog:not([open])", state="attached")
    for dialog in ("find-dialog", "speakers-dialog", "chapters-dialog", "review-dialog"):
        page.evaluate(f"document.getElementById('{dialog}').showModal()")
        assert axe_violations(page) == [], dialog
        page.evaluate(f"document.getElementById('{dialog}').close()")
    page.goto(f"{url}/")  # the list of sessions
    assert page.get_by_role("link", name=re.compile("Coöperatieven maken de stad")).count() == 1
    assert axe_violations(page) == []
    page.goto(f"{url}/sessions/{SAMPLE_SLUG}/preview")  # the page as it would be published, playing here
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert page.locator(".turn").count() > 0


def test_an_editor_corrects_publishes_and_the_site_follows(page: Page, workbench: tuple[Path, str]) -> None:
    output, url = workbench
    open_workbench(page, url)
    before = api_session(page, url)
    assert before["flagged"], "the sample has no flagged word to correct"

    # Keyboard only: jump to the first flagged word (it is selected), type over it, Enter saves.
    page.keyboard.press("Alt+KeyN")
    page.wait_for_function("() => getSelection().toString().length > 0")
    flagged = page.evaluate("getSelection().toString()")
    segment_id = page.evaluate("document.activeElement.closest('.segment').dataset.id")
    first = before["flagged"][0]
    assert segment_id == first["segment"]
    machine = next(s for s in before["segments"] if s["id"] == segment_id)
    assert machine["words"][first["word"]]["text"] == flagged
    page.keyboard.type(CORRECTION)
    page.keyboard.press("Enter")
    wait_for_status(page, "Opgeslagen")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    edited = next(s for s in api_session(page, url)["segments"] if s["id"] == segment_id)
    assert edited["words"][first["word"]]["text"] == CORRECTION
    others = [(w["text"], w["start"], w["end"]) for i, w in enumerate(machine["words"]) if i != first["word"]]
    assert [(w["text"], w["start"], w["end"]) for i, w in enumerate(edited["words"]) if i != first["word"]] == others

    # Give another segment to the other speaker, with its select.
    moved = next(s for s in before["segments"] if s["id"] != segment_id and s["speaker"])
    other = next(s["id"] for s in before["speakers"] if s["id"] != moved["speaker"])
    page.focus(f'[id="seg-{moved["id"]}"] select.speaker')
    page.select_option(f'[id="seg-{moved["id"]}"] select.speaker', other)
    wait_for_status(page, "Het segment is nu van")
    assert page.evaluate("document.activeElement.matches('select.speaker')"), "the speaker list lost the focus"

    page.click("#approve-captions")
    wait_for_status(page, "De ondertiteling is goedgekeurd")
    page.click("#publish")
    wait_for_status(page, "Gepubliceerd")

    site = workspace.session_site_dir(output, SAMPLE_SLUG)
    transcript = json.loads((site / outputs.TRANSCRIPT_JSON.name()).read_text(encoding="utf-8"))
    published = [w for s in transcript["segments"] for w in s["words"]]
    corrected = [w for w in published if w["text"].strip() == CORRECTION]
    assert len(corrected) == 1, "the correction is not in the published transcript"
    in_segment = [
        (w["text"].strip(), w["start"], w["end"])
        for w in published
        if machine["start"] - 0.01 <= w["start"] <= machine["end"] + 0.01 and w["text"].strip() != CORRECTION
    ]
    assert in_segment == others, "the words around the correction changed their times"
    moved_words = [w for w in published if moved["start"] - 0.01 <= w["start"] <= moved["end"] + 0.01]
    assert moved_words and {w.get("speaker") for w in moved_words} == {other}
    for name in (outputs.CAPTIONS_VTT.name("nl"), outputs.SUBTITLES_SRT.name("nl"), outputs.TRANSCRIPT_TXT.name()):
        assert CORRECTION in (site / name).read_text(encoding="utf-8"), name
    page_html = (site / outputs.SESSION_PAGE.name()).read_text(encoding="utf-8")
    assert CORRECTION in page_html
    assert "nog niet gecontroleerd" not in page_html.lower(), "the captions still say they are unchecked"
    assert json.loads((site / outputs.MANIFEST.name()).read_text(encoding="utf-8"))["captions"]["reviewed"] is True
    assert re.search(CORRECTION, search_index_text(output), re.IGNORECASE), "the search index lacks the correction"


@contextmanager
def workbench_over_copy(site: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The workbench serving a copy of a published output folder (the test changes it), and its address."""
    output = tmp_path / "output"
    shutil.copytree(site, output, symlinks=True)
    with serve(output) as url:
        yield output, url


@pytest.fixture()
def small_workbench(edit_site: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The workbench over a copy of the small hand-made session (no model)."""
    with workbench_over_copy(edit_site, tmp_path) as served:
        yield served


def segment_ids(page: Page) -> list[str]:
    return page.eval_on_selector_all(".segment", "nodes => nodes.map(n => n.dataset.id)")


def put_caret(page: Page, segment: str, offset: int) -> None:
    page.focus(f"#seg-{segment} .text")
    page.evaluate(
        """([segment, offset]) => { const text = document.querySelector(`#seg-${segment} .text`);
             const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT); let left = offset;
             for (let node = walker.nextNode(); node; node = walker.nextNode()) {
               if (left <= node.length) { getSelection().collapse(node, left); return; } left -= node.length; } }""",
        [segment, offset],
    )


def test_keys_work_while_typing(page: Page, small_workbench: tuple[Path, str]) -> None:
    output, url = small_workbench
    page.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")

    page.keyboard.press("Alt+KeyN")
    page.wait_for_function("() => getSelection().toString() === 'buurtcooperatie'")
    page.keyboard.type("buurtcoöperatie")
    page.keyboard.press("Enter")
    wait_for_status(page, "Opgeslagen")
    assert page.text_content("#flag-count") == "0"

    page.evaluate("document.getElementById('player').pause()")  # the jump to the flagged word played it
    page.keyboard.press("Escape")  # play
    page.wait_for_function("() => document.getElementById('player').currentTime > 3")
    page.keyboard.press("Escape")  # pause
    paused = page.evaluate("document.getElementById('player').currentTime")
    page.keyboard.press("Escape")  # play again, 1.5 s before the pause
    resumed = page.evaluate("document.getElementById('player').currentTime")
    assert paused - 1.5 - 0.3 < resumed < paused - 1.5 + 0.3
    page.keyboard.press("Escape")
    before = page.evaluate("document.getElementById('player').currentTime")
    page.keyboard.press("Alt+KeyJ")
    assert page.evaluate("document.getElementById('player').currentTime") == pytest.approx(max(0, before - 5), abs=0.3)
    page.keyboard.press("Alt+ArrowUp")
    assert page.evaluate("document.getElementById('player').playbackRate") == 1.25

    put_caret(page, "s4", len("Wij beginnen met de "))
    page.keyboard.press("Alt+KeyS")
    wait_for_status(page, "gesplitst")
    ids = segment_ids(page)
    assert len(ids) == 5 and page.text_content(f"#seg-{ids[4]} .text") == "leden van de cooperatie"
    put_caret(page, ids[4], 0)
    page.keyboard.press("Alt+KeyM")
    wait_for_status(page, "Samengevoegd")
    assert segment_ids(page) == ["s1", "s2", "s3", "s4"]
    page.keyboard.press("Alt+KeyZ")
    wait_for_status(page, "Ongedaan")
    assert len(segment_ids(page)) == 5

    page.keyboard.press("Alt+KeyV")
    page.wait_for_selector("#find-dialog[open]")
    page.keyboard.type("cooperatie")
    page.keyboard.press("Tab")
    page.keyboard.type("coöperatie")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#find-preview li').length === 1")
    assert "coöperatie" in page.text_content("#find-preview ins")
    page.click("#replace-all")
    wait_for_status(page, "Vervangen")
    page.keyboard.press("Escape")
    assert "leden van de coöperatie" in page.text_content("#transcript")

    put_caret(page, "s1", 3)
    page.keyboard.press("Alt+KeyB")
    wait_for_status(page, "machine")
    assert page.text_content("#seg-s1 .text") == LINES[0][2]


def test_a_second_tab_is_told_its_change_came_too_late(browser: Browser, small_workbench: tuple[Path, str]) -> None:
    _, url = small_workbench
    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    for tab in (first, second):
        tab.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
    first.fill("#seg-s2 .text", "Vandaag praten we over wonen")
    first.press("#seg-s2 .text", "Enter")
    wait_for_status(first, "Opgeslagen")
    second.fill("#seg-s2 .text", "Vandaag praten we over werken")
    second.press("#seg-s2 .text", "Enter")
    second.wait_for_function("() => document.getElementById('alert').textContent.length > 0")
    message = second.text_content("#alert")
    assert "Niet opgeslagen" in message and "Vandaag praten we over wonen" in message
    assert "Vandaag praten we over werken" in message, "the text typed in the second tab is lost"
    assert second.text_content("#seg-s2 .text") == "Vandaag praten we over wonen"
    context.close()


def test_a_second_tabs_decision_on_a_text_decided_meanwhile_is_refused(
    browser: Browser, small_workbench: tuple[Path, str]
) -> None:
    _, url = small_workbench
    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    for tab in (first, second):
        tab.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
        tab.click("[data-open=review-dialog]")
    first.locator(".review > li[data-key='session/keywords']").get_by_role("button", name="Afwijzen").click()
    wait_for_status(first, "afgewezen")
    keywords = second.locator(".review > li[data-key='session/keywords']")
    keywords.get_by_role("button", name="Goedkeuren").click()
    second.wait_for_function("() => document.getElementById('alert').textContent.length > 0")
    message = second.text_content("#alert")
    assert "Niet opgeslagen" in message and "is intussen gewijzigd" in message and "Nu: afgewezen" in message
    assert keywords.locator(".state").text_content() == "Afgewezen"
    assert next(i for i in api_session(second, url, SLUG)["review"] if i["key"] == "session/keywords")["state"] == (
        "rejected"
    )
    keywords.get_by_role("button", name="Goedkeuren").click()  # seen now: the editor decides again
    second.wait_for_function("() => document.getElementById('status').textContent.includes('goedgekeurd')")
    assert keywords.locator(".state").text_content() == "Goedgekeurd"
    context.close()


def test_the_transcript_follows_playback_until_the_editor_scrolls_away(
    page: Page, small_workbench: tuple[Path, str]
) -> None:
    _, url = small_workbench
    page.set_viewport_size({"width": 1280, "height": 360})
    page.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.evaluate("window.scrollTo(0, 0)")
    page.click("#seg-s4 .play")  # the last segment, below the fold
    page.wait_for_function("() => document.querySelector('#seg-s4 .w.current') !== null")
    page.wait_for_function("() => window.scrollY > 0")
    assert page.is_hidden("#follow")
    page.evaluate("window.scrollTo(0, 0)")  # the editor scrolls away
    page.wait_for_selector("#follow", state="visible")
    page.keyboard.press("Alt+KeyG")
    page.wait_for_selector("#follow", state="hidden")
    assert page.evaluate("document.activeElement.closest('.segment').dataset.id") == "s4"


def test_speakers_chapters_and_texts_through_the_panels(page: Page, small_workbench: tuple[Path, str]) -> None:
    output, url = small_workbench
    page.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")

    put_caret(page, "s2", len("Vandaag praten we "))  # the rest of the segment, from "over", to Pieter
    page.keyboard.press("Alt+KeyP")
    page.wait_for_selector("#speaker-dialog[open]")
    assert "“over”" in page.text_content("#part-from-label")
    page.select_option("#speaker-choice", "SPEAKER_01")
    page.click("#speaker-form button[type=submit]")
    wait_for_status(page, "De rest van het segment is nu van")
    tail = segment_ids(page)[2]
    assert page.text_content(f'[id="seg-{tail}"] .text') == "over wonen en werken"
    assert page.eval_on_selector(f'[id="seg-{tail}"] select.speaker', "s => s.value") == "SPEAKER_01"

    page.click("[data-open=speakers-dialog]")
    pieter = page.locator("[data-speaker=SPEAKER_01]")
    pieter.get_by_role("button", name="Voorstel overnemen: Pieter Bakker").click()
    pieter.get_by_label("Rol").select_option("speaker")
    pieter.get_by_role("button", name="Opslaan").click()
    wait_for_status(page, "Spreker opgeslagen: Pieter Bakker")
    assert "Pieter Bakker" in page.text_content("#seg-s3 select.speaker option[value=SPEAKER_01]")
    page.click("#add-speaker")
    page.wait_for_function("() => document.getElementById('status').textContent.includes('toegevoegd')")
    page.click("[data-open=speakers-dialog]")
    assert page.locator("[data-speaker=SPEAKER_E1]").count() == 1
    page.keyboard.press("Escape")

    page.click("[data-open=chapters-dialog]")
    page.fill("#chapter-title-2", "De leden beslissen")
    page.fill("#chapter-start-2", "0:08")
    page.click("form.chapter[data-number='2'] button[type=submit]")
    wait_for_status(page, "Hoofdstuk 2 opgeslagen")
    page.keyboard.press("Escape")

    page.click("[data-open=review-dialog]")
    keywords = page.locator(".review > li[data-key='session/keywords']")
    keywords.locator("textarea").fill("wonen, werken, coöperatie")
    keywords.get_by_role("button", name="Goedkeuren").click()
    page.wait_for_function("() => document.getElementById('status').textContent.includes('goedgekeurd')")
    assert keywords.locator(".state").text_content() == "Goedgekeurd"
    page.keyboard.press("Escape")

    data = api_session(page, url, SLUG)
    chapter = next(c for c in data["chapters"] if c["number"] == 2)
    assert chapter.pop("title_version")  # the page sent the version it showed, and was not refused
    assert chapter == {
        "number": 2, "start": 8.0, "end": 20.0, "title": "De leden beslissen", "state": "approved"
    }  # fmt: skip
    assert next(i for i in data["review"] if i["key"] == "session/keywords")["text"] == "wonen, werken, coöperatie"
    assert next(s for s in data["speakers"] if s["id"] == "SPEAKER_01")["name"] == "Pieter Bakker"


def test_enter_on_an_unchanged_segment_confirms_its_flagged_words(
    page: Page, small_workbench: tuple[Path, str]
) -> None:
    _, url = small_workbench
    page.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
    assert page.locator("#seg-s1 mark.flag").count() == 1
    put_caret(page, "s1", 0)
    page.keyboard.press("Enter")
    wait_for_status(page, "Opgeslagen")
    assert page.locator("#seg-s1 mark.flag").count() == 0 and page.text_content("#flag-count") == "0"
    assert page.text_content("#seg-s1 .badge") == "nagekeken"
    assert page.text_content("#seg-s1 .text") == LINES[0][2]


def test_a_flagged_words_alternative_is_taken_with_one_key(page: Page, small_workbench: tuple[Path, str]) -> None:
    """The machine heard "uitnodigin" (no Dutch word): flagged by the repair stage's rule, its likely
    spelling is shown beside it; Alt+N selects it, Alt+A takes the alternative and saves it as a text edit."""
    output, url = small_workbench
    path = machine_transcript_path(output, SLUG)
    heard = from_json(Transcript, path.read_text(encoding="utf-8"))
    third = heard.segments[2]
    words = tuple(replace(w, text="uitnodigin") if w.text == "uitnodiging" else w for w in third.words)
    misheard = replace(heard, segments=(*heard.segments[:2], replace(third, words=words), *heard.segments[3:]))
    metadata = load_session_package(output, SLUG).recording.metadata
    path.write_text(to_json(flag_words(misheard, metadata)))
    page.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
    machine = api_session(page, url, SLUG)["segments"][2]
    assert machine["words"][-1]["alternative"] == "uitnodiging"
    shown = page.evaluate(
        "getComputedStyle(document.querySelector('#seg-s3 mark.flag[data-alternative]'), '::after').content"
    )
    assert "uitnodiging" in shown, "the alternative is not shown beside the word"

    put_caret(page, "s3", len("Dank je wel Anne voor de") - 1)
    page.keyboard.press("Alt+KeyN")
    page.wait_for_function("() => getSelection().toString() === 'uitnodigin'")
    page.keyboard.press("Alt+KeyA")
    wait_for_status(page, "overgenomen")
    session = api_session(page, url, SLUG)
    assert session["segments"][2]["text"] == "Dank je wel Anne voor de uitnodiging"
    assert session["history"][-1]["action"] == "text"
    assert page.text_content("#seg-s3 .text") == "Dank je wel Anne voor de uitnodiging"


def test_a_long_message_never_covers_the_player(browser: Browser, small_workbench: tuple[Path, str]) -> None:
    _, url = small_workbench
    context = browser.new_context(viewport={"width": 900, "height": 320})
    first, second = context.new_page(), context.new_page()
    for tab in (first, second):
        tab.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
    first.fill("#seg-s2 .text", "Vandaag praten we over wonen")
    first.press("#seg-s2 .text", "Enter")
    wait_for_status(first, "Opgeslagen")
    second.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")  # the recording sticks at the top
    second.fill("#seg-s4 .text", "Wij beginnen met de leden van de coöperatie in Noord")
    second.press("#seg-s4 .text", "Enter")
    second.wait_for_function("() => document.getElementById('alert').textContent.length > 0")
    second.wait_for_timeout(200)  # the layout follows the message's height
    alert, player = (second.locator(selector).bounding_box() for selector in ("#alert", "#player"))
    assert alert and player and alert["height"] > 40, "the message is not the long one this test needs"
    assert 0 <= alert["y"] < 320, "the message is out of sight"
    assert alert["y"] + alert["height"] <= player["y"], f"the message {alert} covers the player {player}"
    context.close()


def test_text_typed_but_not_saved_survives_closing_the_tab(browser: Browser, small_workbench: tuple[Path, str]) -> None:
    _, url = small_workbench
    typed = LINES[1][2] + " en spelen"
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
    # The text is never saved from this tab: leaving the field while the tab closes would otherwise save
    # it, or not, as the timing falls.
    tab.route(f"{url}/api/**", lambda route: route.abort())
    tab.click("#seg-s2 .text")
    tab.keyboard.press("End")
    tab.keyboard.type(" en spelen")
    asked: list[str] = []
    tab.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    with tab.expect_event("close"):
        tab.close(run_before_unload=True)
    assert asked == ["beforeunload"], "closing the tab with unsaved text gave no warning"

    tab = context.new_page()
    tab.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
    assert tab.text_content("#seg-s2 .text") == typed, "the unsaved text is lost"
    assert "teruggezet" in tab.text_content("#status")
    assert api_session(tab, url, SLUG)["segments"][1]["text"] == LINES[1][2]  # kept in this browser, not saved
    tab.focus("#seg-s2 .text")
    tab.keyboard.press("Enter")
    wait_for_status(tab, "Opgeslagen")
    assert api_session(tab, url, SLUG)["segments"][1]["text"] == typed
    assert tab.evaluate("Object.keys(localStorage).filter(k => k.startsWith('livecast.draft.'))") == []
    tab.on("dialog", lambda dialog: asked.append(dialog.type))
    with tab.expect_event("close"):
        tab.close(run_before_unload=True)  # saved: no question
    assert asked == ["beforeunload"]
    context.close()


def tab_stops(page: Page) -> list[str]:
    """Every element Tab reaches, once round the page from the top."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    stops: list[str] = []
    for _ in range(300):
        page.keyboard.press("Tab")
        here = page.evaluate(
            "(() => { const e = document.activeElement; return e === document.body ? '' :"
            " e.tagName + '#' + e.id + '.' + e.className + ':' + e.textContent.trim().slice(0, 30); })()"
        )
        if stops and here == stops[0]:
            return stops
        if here and (not stops or here != stops[-1]):  # the video's own controls are inside it
            stops.append(here)
    pytest.fail(f"Tab did not come round in 300 presses: {stops[:5]}…")


def test_the_transcript_is_one_tab_stop_and_arrow_keys_move_between_segments(
    page: Page, workbench: tuple[Path, str]
) -> None:
    _, url = workbench
    open_workbench(page, url)
    segments = page.locator(".segment").count()
    stops = tab_stops(page)
    assert len(stops) <= 40, f"{len(stops)} tab stops for {segments} segments"
    assert sum(stop.startswith("DIV#.text:") for stop in stops) == 1, " | ".join(stops)
    first, second = page.eval_on_selector_all(".segment", "nodes => nodes.slice(0, 2).map(n => n.dataset.id)")
    page.focus(f"#seg-{first} .text")
    page.keyboard.press("Control+End")  # the last line of the segment's text
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.closest('.segment').dataset.id") == second
    page.keyboard.press("ArrowUp")  # at the start of its first line
    assert page.evaluate("document.activeElement.closest('.segment').dataset.id") == first
    assert page.eval_on_selector_all(
        ".text[tabindex='0']", "nodes => nodes.map(n => n.closest('.segment').dataset.id)"
    ) == [first]


SMALL_TARGETS = """() => [...document.querySelectorAll('button, select, input, a.button')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map(e => [e.id || e.className || e.tagName, e.getBoundingClientRect()])
  .filter(([, r]) => r.width < 24 || r.height < 24)
  .map(([name, r]) => `${name} ${r.width.toFixed(0)}×${r.height.toFixed(0)}`)"""


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (1280, "dark"), (320, "dark")])
def test_every_target_is_at_least_24_px_square(
    browser: Browser, workbench: tuple[Path, str], width: int, scheme: Literal["light", "dark"]
) -> None:
    _, url = workbench
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    open_workbench(page, url)
    assert page.evaluate(SMALL_TARGETS) == []
    result = page.evaluate("async () => await axe.run(document, {runOnly: {type: 'rule', values: ['target-size']}})")
    assert [node["target"] for v in result["violations"] for node in v["nodes"]] == []
    context.close()


def test_a_keyword_replaced_everywhere_is_marked_in_the_review(page: Page, small_workbench: tuple[Path, str]) -> None:
    _, url = small_workbench
    page.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
    page.click("[data-open=review-dialog]")
    keywords = page.locator(".review > li[data-key='session/keywords']")
    assert keywords.locator("textarea").input_value() == "coöperatie, wonen"
    assert keywords.locator(".vanished").is_hidden(), "a keyword the transcript says is marked"
    page.keyboard.press("Escape")
    page.keyboard.press("Alt+KeyV")
    page.wait_for_selector("#find-dialog[open]")
    page.fill("#find-text", "wonen")
    page.fill("#replace-text", "huren")
    page.press("#replace-text", "Enter")
    page.wait_for_function("() => document.querySelectorAll('#find-preview li').length === 1")
    page.click("#replace-all")
    wait_for_status(page, "Vervangen")
    page.keyboard.press("Escape")
    page.click("[data-open=review-dialog]")
    assert keywords.locator(".vanished").is_visible(), "the keyword nobody says any more is offered unmarked"
    assert keywords.locator(".vanished").text_content() == "Verouderd: “wonen” komt niet meer voor in het transcript."


@pytest.fixture()
def translated_workbench(translated_edit_site: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The workbench over a copy of the small session with English subtitles (a hand-made translation)."""
    with workbench_over_copy(translated_edit_site, tmp_path) as served:
        yield served


def test_an_english_cue_corrected_with_the_keyboard_is_published(
    page: Page, translated_workbench: tuple[Path, str]
) -> None:
    output, url = translated_workbench
    published = workspace.session_site_dir(output, SLUG) / outputs.TRANSLATED_SUBTITLES_VTT.name()
    machine = list(webvtt.read(str(published)))
    page.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert page.get_by_role("heading", name="Engelse ondertitels (machinevertaling)").count() == 1
    assert page.get_by_role("textbox", name=re.compile("Engelse tekst van de regel om")).count() == len(machine)
    assert axe_violations(page) == []
    stops = tab_stops(page)
    assert len(stops) <= 40 and sum(stop.startswith("DIV#.text:") for stop in stops) == 2, " | ".join(stops)

    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(2 * len(stops)):  # Tab to the English cues, the second text box of the page
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('.cue')"):
            break
    assert page.evaluate("document.activeElement.closest('.cue').dataset.start") == machine[0].start
    page.keyboard.press("ArrowDown")  # the second cue, caret at its start
    assert page.evaluate("document.activeElement.closest('.cue').dataset.start") == machine[1].start
    page.keyboard.press("End")
    page.keyboard.type(" together")
    drafts = "Object.keys(localStorage).filter(k => k.startsWith('livecast.draft.'))"
    assert page.evaluate(drafts) == [f"livecast.draft.{SLUG}.cue-{machine[1].start}"], "typed, not kept as a draft"
    page.keyboard.press("Enter")
    wait_for_status(page, "Engelse regel opgeslagen")
    assert page.evaluate(drafts) == [], "saved, its draft stays"
    page.focus("#publish")
    page.keyboard.press("Enter")
    wait_for_status(page, "Gepubliceerd")

    corrected = " ".join(machine[1].text.split()) + " together"
    cues = list(webvtt.read(str(published)))
    assert [(c.start, c.end) for c in cues] == [(c.start, c.end) for c in machine]
    assert [c.text for c in cues] == [machine[0].text, corrected, *(c.text for c in machine[2:])]
    assert ENGLISH_LINES[0][2].split()[0] in machine[0].text  # the hand-made translation, not Dutch
    page.reload()
    page.wait_for_selector(".cue.edited")
    assert page.locator(".cue.edited .text").text_content() == corrected


PREVIEW_STARTS = """() => { const track = document.getElementById('preview-track').track;
  return track.cues ? [...track.cues].map(c => c.startTime) : []; }"""


def test_a_cue_moved_with_the_keyboard_shows_in_the_preview_track_and_typing_warns_of_its_speed(
    page: Page, small_workbench: tuple[Path, str]
) -> None:
    _, url = small_workbench
    page.goto(f"{url}/sessions/{SLUG}/?token={TOKEN}")
    page.wait_for_function("() => document.querySelectorAll('#caption-cues .caption-cue').length >= 2")
    stops = tab_stops(page)
    assert len(stops) <= 40 and sum(stop.startswith("LI#caption-") for stop in stops) == 1, " | ".join(stops)
    listed = f"async () => (await fetch('{url}/api/sessions/{SLUG}/cues')).json()"
    before = page.evaluate(listed)["cues"][1]
    loaded = f"() => ({PREVIEW_STARTS})().some(s => Math.abs(s - {before['start']}) < 0.002)"
    page.wait_for_function(loaded)  # the preview track has the cues
    page.focus("#caption-cues .caption-cue[tabindex='0']")  # the cue list's one tab stop: the first cue
    page.keyboard.press("ArrowDown")
    key = page.evaluate("document.activeElement.dataset.key")
    assert key == before["key"]
    page.keyboard.press("ArrowRight")  # its start 100 ms later
    wait_for_status(page, "Regel verschoven")
    start = next(c["start"] for c in page.evaluate(listed)["cues"] if c["key"] == key)
    assert start == pytest.approx(before["start"] + 0.1, abs=0.0011)
    assert "verschoven" in page.evaluate("(key) => document.getElementById('caption-' + key).textContent", key)
    page.wait_for_function(f"() => ({PREVIEW_STARTS})().some(s => Math.abs(s - {start}) < 0.002)")

    page.focus("#seg-s1 .text")
    page.keyboard.press("End")
    page.keyboard.type(" en alle buurtcooperatievergaderingen van de gemeenteraad")
    page.wait_for_function("() => document.getElementById('cue-warnings').textContent.includes('te snel om te lezen')")
