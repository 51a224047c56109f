"""Review: the state machine, review.json across reruns, stale approvals, what may be published, the
`livecast review` round trip with a real $EDITOR, and waiting for an editor in a real Prefect flow run."""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from prefect import flow
from typer.testing import CliRunner

from livecastpipe import workspace
from livecastpipe.cli.main import app
from livecastpipe.editor.review import (
    CAPTIONS_KEY,
    KEYWORDS_KEY,
    SESSION_SUMMARY_KEY,
    UNREVIEWED_LABEL,
    ReviewError,
    SessionReview,
    approve,
    chapter_summary_key,
    chapter_title_key,
    merge_review,
    publishable_items,
    publishable_text,
    read_review,
    reject,
    reopen,
    review_items,
    speaker_name_key,
    update_review,
    write_review,
)
from livecastpipe.models import Recording, Transcript
from livecastpipe.settings import Settings, SummariesSettings
from livecastpipe.stages.summaries import SessionSummary, split_sentences, summarize_session

from .panel_text import PANEL, SPEAKERS, panel_chapters, panel_transcript

SLUG = "cooperaties-in-de-stad"
TITLE = "Coöperaties in de stad"


def _summary(transcript: Transcript, settings: SummariesSettings | None = None) -> SessionSummary:
    return summarize_session(transcript, panel_chapters(transcript), settings or SummariesSettings())


@pytest.fixture(scope="module")
def panel() -> tuple[Transcript, SessionSummary]:
    transcript = panel_transcript()
    return transcript, _summary(transcript)


def _fresh(panel: tuple[Transcript, SessionSummary]) -> SessionReview:
    transcript, summary = panel
    return merge_review(None, review_items(summary, split_sentences(transcript), SPEAKERS), SLUG, TITLE)


def _changed_transcript() -> Transcript:
    """The panel with one housing sentence corrected, as after a retranscription."""
    edited = [
        (who, text.replace("vierenveertig betaalbare huurwoningen", "zesenveertig betaalbare huurwoningen"))
        for who, text in PANEL
    ]
    assert edited != PANEL
    return panel_transcript(edited)


# --- state machine --------------------------------------------------------------------------------


def test_every_generated_text_starts_as_draft(panel) -> None:
    review = _fresh(panel)
    keys = [i.key for i in review.items]
    assert keys[:2] == [SESSION_SUMMARY_KEY, KEYWORDS_KEY]
    for number in (1, 2, 3):
        assert chapter_title_key(number) in keys and chapter_summary_key(number) in keys
    assert [speaker_name_key(s.id) for s in SPEAKERS] == keys[-4:-1] and keys[-1] == CAPTIONS_KEY
    assert {i.state for i in review.items} == {"draft"}
    assert review.item(SESSION_SUMMARY_KEY).generated_text == panel[1].text
    sources = review.item(SESSION_SUMMARY_KEY).sources
    assert [(s.start, s.speaker, s.text) for s in sources] == [(s.start, s.speaker, s.text) for s in panel[1].sentences]
    assert review.item(speaker_name_key("SPEAKER_02")).sources[0].text.startswith("Klopt.")


def test_approve_reject_edit_and_reopen(panel) -> None:
    review = _fresh(panel)
    generated = review.item(SESSION_SUMMARY_KEY).generated_text

    review = approve(review, SESSION_SUMMARY_KEY, "Marleen")
    item = review.item(SESSION_SUMMARY_KEY)
    assert item.state == "approved" and item.decision.reviewer == "Marleen"
    assert item.decision.text == generated and item.decision.replaced_text == generated
    assert not item.stale and not item.awaits_review

    review = approve(review, SESSION_SUMMARY_KEY, "Joost", "Een korte, bewerkte samenvatting.")
    item = review.item(SESSION_SUMMARY_KEY)
    assert item.decision.text == "Een korte, bewerkte samenvatting." and item.decision.reviewer == "Joost"
    assert item.decision.replaced_text == generated
    assert [d.reviewer for d in item.history] == ["Marleen"]

    review = reject(review, chapter_title_key(2), "Marleen")
    assert review.item(chapter_title_key(2)).state == "rejected"
    assert review.item(chapter_title_key(2)).decision.text is None

    review = reopen(review, chapter_title_key(2))
    assert review.item(chapter_title_key(2)).state == "draft"
    assert review.item(chapter_title_key(2)).history[-1].state == "rejected"


def test_impossible_actions_are_refused(panel) -> None:
    review = _fresh(panel)
    with pytest.raises(ReviewError, match="empty text"):
        approve(review, SESSION_SUMMARY_KEY, "Marleen", "   ")
    with pytest.raises(ReviewError, match="reviewer"):
        reject(review, SESSION_SUMMARY_KEY, " ")
    with pytest.raises(ReviewError, match="no review item 'chapter/09/title'"):
        approve(review, chapter_title_key(9), "Marleen")
    with pytest.raises(ReviewError, match="already a draft"):
        reopen(review, SESSION_SUMMARY_KEY)


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        (chapter_title_key(1), "Titel " * 200_000, r"de titel is te lang: 1\u202f200\u202f000 tekens, hooguit 200"),
        (chapter_title_key(1), "Bel\x07 Esc\x1b Nul\x00", r"de titel bevat onzichtbare stuurtekens: .*U\+0007"),
        (SESSION_SUMMARY_KEY, "Zin. " * 1_001, r"de tekst is te lang: 5\u202f005 tekens, hooguit 5\u202f000"),
        (KEYWORDS_KEY, "wonen, \u202ekrow", r"de tekst bevat onzichtbare stuurtekens: .*U\+202E"),
        (chapter_summary_key(2), "zero\u200bwidth", r"U\+200B"),
        (SESSION_SUMMARY_KEY, "los \udc00", r"U\+DC00"),
    ],
    ids=["1 MB title", "controls in a title", "long summary", "bidi override", "zero width", "lone surrogate"],
)
def test_an_editors_text_that_no_reader_could_see_or_read_is_refused(panel, key: str, text: str, message: str) -> None:
    with pytest.raises(ReviewError, match=message):
        approve(_fresh(panel), key, "Marleen", text)


def test_an_editors_text_is_kept_normalised(panel) -> None:
    review = approve(_fresh(panel), chapter_title_key(1), "Marleen", "Coo\u0308peratie\n en  stad")
    assert review.item(chapter_title_key(1)).decision.text == "Coöperatie en stad"  # NFC, one line
    review = approve(review, SESSION_SUMMARY_KEY, "Marleen", "Eerste alinea.\r\n \r\n\r\nTweede  alinea.\nEn verder.\n")
    assert review.item(SESSION_SUMMARY_KEY).decision.text == "Eerste alinea.\n\nTweede alinea.\nEn verder."


def test_confirmed_speaker_names_arrive_approved(panel) -> None:
    transcript, summary = panel
    speakers = (replace(SPEAKERS[1], name="Pieter Bakker", name_source="editor", confirmed=True),)
    (item,) = [i for i in review_items(summary, split_sentences(transcript), speakers) if i.kind == "speaker_name"]
    assert item.state == "approved" and item.decision.reviewer == "speakers.yaml"


# --- publishing -----------------------------------------------------------------------------------


def test_publishing_uses_approved_text_only_unless_told_otherwise(panel) -> None:
    review = _fresh(panel)
    review = approve(review, SESSION_SUMMARY_KEY, "Marleen", "Goedgekeurde samenvatting.")
    review = reject(review, KEYWORDS_KEY, "Marleen")

    approved = publishable_text(review, SESSION_SUMMARY_KEY)
    assert approved.text == "Goedgekeurde samenvatting." and approved.reviewed and approved.label is None
    assert publishable_text(review, chapter_summary_key(1)) is None  # draft: withheld
    assert publishable_text(review, KEYWORDS_KEY) is None  # rejected
    assert publishable_text(None, SESSION_SUMMARY_KEY) is None  # no review yet

    draft = publishable_text(review, chapter_summary_key(1), publish_unreviewed=True)
    assert draft.text == review.item(chapter_summary_key(1)).generated_text
    assert not draft.reviewed and draft.label == UNREVIEWED_LABEL
    assert publishable_text(review, KEYWORDS_KEY, publish_unreviewed=True) is None

    assert set(publishable_items(review)) == {SESSION_SUMMARY_KEY}
    everything = publishable_items(review, publish_unreviewed=True)
    assert KEYWORDS_KEY not in everything and len(everything) == len(review.items) - 1


# --- review.json across reruns --------------------------------------------------------------------


def test_a_rerun_keeps_every_decision_and_the_file(tmp_path: Path, panel) -> None:
    transcript, summary = panel
    folder = tmp_path / SLUG
    sentences = split_sentences(transcript)
    review = update_review(folder, SLUG, TITLE, summary, sentences, SPEAKERS)
    review = approve(review, SESSION_SUMMARY_KEY, "Marleen", "Redactietekst.")
    review = reject(review, chapter_title_key(1), "Joost")
    write_review(folder, review)
    before = (folder / "review.json").read_bytes()

    again = update_review(folder, SLUG, TITLE, _summary(transcript), split_sentences(transcript), SPEAKERS)
    assert (folder / "review.json").read_bytes() == before
    assert again.item(SESSION_SUMMARY_KEY).decision.text == "Redactietekst."
    assert again.item(chapter_title_key(1)).state == "rejected"
    assert not any(i.stale for i in again.items)


def test_changed_transcript_marks_approvals_stale_but_keeps_them(tmp_path: Path, panel) -> None:
    transcript, summary = panel
    folder = tmp_path / SLUG
    review = update_review(folder, SLUG, TITLE, summary, split_sentences(transcript), SPEAKERS)
    for key in (SESSION_SUMMARY_KEY, chapter_summary_key(1), chapter_summary_key(2), speaker_name_key("SPEAKER_01")):
        review = approve(review, key, "Marleen")
    write_review(folder, review)

    changed = _changed_transcript()
    rerun = update_review(folder, SLUG, TITLE, _summary(changed), split_sentences(changed), SPEAKERS)
    assert read_review(folder) == rerun
    # the housing chapter and the whole session changed; the energy chapter and Pieter's words did not
    assert rerun.item(SESSION_SUMMARY_KEY).stale
    assert rerun.item(chapter_summary_key(2)).stale
    assert not rerun.item(chapter_summary_key(1)).stale
    assert not rerun.item(speaker_name_key("SPEAKER_01")).stale
    assert rerun.item(chapter_summary_key(2)).state == "approved"
    stale = publishable_text(rerun, chapter_summary_key(2))
    assert stale.reviewed and stale.stale
    assert {i.key for i in rerun.awaiting} >= {SESSION_SUMMARY_KEY, chapter_summary_key(2)}


def test_changed_generated_text_marks_the_approval_stale(tmp_path: Path, panel) -> None:
    transcript, summary = panel
    folder = tmp_path / SLUG
    review = update_review(folder, SLUG, TITLE, summary, split_sentences(transcript), SPEAKERS)
    write_review(folder, approve(review, SESSION_SUMMARY_KEY, "Marleen"))
    longer = _summary(transcript, SummariesSettings(session_sentences_min=7, session_sentences_max=8))
    rerun = update_review(folder, SLUG, TITLE, longer, split_sentences(transcript), SPEAKERS)
    item = rerun.item(SESSION_SUMMARY_KEY)
    assert item.stale and item.decision.replaced_text == summary.text != item.generated_text


def test_items_no_longer_generated_keep_their_decision_but_are_not_published(tmp_path: Path, panel) -> None:
    transcript, summary = panel
    folder = tmp_path / SLUG
    review = update_review(folder, SLUG, TITLE, summary, split_sentences(transcript), SPEAKERS)
    write_review(folder, approve(review, chapter_title_key(3), "Marleen", "Wat de gemeente kan doen"))
    two_chapters = summarize_session(transcript, panel_chapters(transcript)[:2], SummariesSettings())
    rerun = update_review(folder, SLUG, TITLE, two_chapters, split_sentences(transcript), SPEAKERS)
    old = rerun.item(chapter_title_key(3))
    assert not old.current and old.decision.text == "Wat de gemeente kan doen"
    assert publishable_text(rerun, chapter_title_key(3)) is None
    with pytest.raises(ReviewError, match="no longer generated"):
        approve(rerun, chapter_title_key(3), "Marleen")


def test_an_unreadable_review_file_is_named_and_never_overwritten(tmp_path: Path, panel) -> None:
    transcript, summary = panel
    folder = tmp_path / SLUG
    folder.mkdir()
    (folder / "review.json").write_text('{"slug": "x", "items": [{"key": 3}]}')
    with pytest.raises(ReviewError, match=r"review\.json: not a valid review file"):
        update_review(folder, SLUG, TITLE, summary, split_sentences(transcript), SPEAKERS)
    assert (folder / "review.json").read_text() == '{"slug": "x", "items": [{"key": 3}]}'


# --- the command line -----------------------------------------------------------------------------


EDITOR_SCRIPT = """import sys
from pathlib import Path
path = Path(sys.argv[1])
kept = [line for line in path.read_text().splitlines() if line.startswith("#")]
path.write_text("\\n".join(kept) + "\\nDe redactie schreef deze samenvatting zelf.\\n")
"""


def test_cli_round_trip_with_editor(tmp_path: Path, panel) -> None:
    transcript, summary = panel
    output = tmp_path / "output"
    update_review(
        workspace.session_private_dir(output, SLUG), SLUG, TITLE, summary, split_sentences(transcript), SPEAKERS
    )
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR_SCRIPT)
    runner = CliRunner()
    env = {"EDITOR": f"{sys.executable} {editor}", "VISUAL": ""}

    listed = runner.invoke(app, ["review", "--list", "--output", str(output)], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert SLUG in listed.output and SESSION_SUMMARY_KEY in listed.output
    as_json = runner.invoke(app, ["review", "--list", "--json", "--output", str(output)], env={"COLUMNS": "40"})
    (record,) = json.loads(as_json.stdout)
    assert record["session"] == SLUG and SESSION_SUMMARY_KEY in record["awaiting_review"] and record["draft"] > 0

    # session summary: edit; keywords: approve; chapter 1 title: reject; then quit
    result = runner.invoke(
        app,
        ["review", SLUG, "--output", str(output), "--reviewer", "Marleen"],
        input="e\na\nr\nq\n",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "[0:" in result.output and "Pieter Bakker" in result.output  # sources with time and speaker
    review = read_review(workspace.session_private_dir(output, SLUG))
    edited = review.item(SESSION_SUMMARY_KEY)
    assert edited.state == "approved" and edited.decision.reviewer == "Marleen"
    assert edited.decision.text == "De redactie schreef deze samenvatting zelf."
    assert edited.decision.replaced_text == summary.text
    assert review.item(KEYWORDS_KEY).decision.text == ", ".join(summary.keywords)
    assert review.item(chapter_title_key(1)).state == "rejected"
    assert review.item(chapter_summary_key(1)).state == "draft"

    listed = runner.invoke(app, ["review", "--list", "--output", str(output)], env={"COLUMNS": "200"})
    assert SESSION_SUMMARY_KEY not in listed.output and chapter_summary_key(1) in listed.output

    missing = runner.invoke(app, ["review", "no-such-session", "--output", str(output)])
    assert missing.exit_code == 1 and "no-such-session" in missing.output


# --- waiting for an editor in a real Prefect flow run ---------------------------------------------


def _recording(slug: str) -> Recording:
    from livecastpipe.models import AudioStream, MediaInfo, SessionMetadata

    media = MediaInfo(format_name="wav", duration=180.0, size_bytes=1, audio=AudioStream("pcm_s16le", 16000, 1))
    return Recording(
        source=f"{slug}.wav",
        sha256="0" * 64,
        slug=slug,
        media=media,
        metadata=SessionMetadata(title=TITLE),
        audio_path="",
    )


@flow(name="editorial-test")
def _editorial_flow(output_dir: str, wait_s: int) -> tuple[SessionReview, tuple[str, ...]]:
    from livecastpipe.flows.editorial import summarize_and_review

    transcript = panel_transcript()
    settings = Settings(
        output_dir=Path(output_dir),
        review={"wait_for_editor": True, "wait_timeout_s": wait_s, "wait_poll_s": 1},
    )
    result = summarize_and_review(_recording(SLUG), transcript, panel_chapters(transcript), SPEAKERS, settings)
    return result.review, result.warnings


def _paused_run_id(started_after: float) -> str:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            for run in client.read_flow_runs():
                if run.state and run.state.is_paused() and run.created.timestamp() >= started_after:
                    return str(run.id)
            time.sleep(0.5)
    raise AssertionError("the flow run never paused for the editor")


@pytest.mark.slow
def test_flow_waits_for_an_editor_and_applies_the_prefect_ui_form(prefect_harness, tmp_path: Path) -> None:
    from prefect.flow_runs import resume_flow_run

    started = time.time() - 1
    outcome: dict[str, object] = {}
    runner = threading.Thread(
        target=lambda: outcome.setdefault("state", _editorial_flow(str(tmp_path), 120, return_state=True))
    )
    runner.start()
    run_id = _paused_run_id(started)
    waiting = read_review(workspace.session_private_dir(tmp_path, SLUG))
    assert waiting.item(SESSION_SUMMARY_KEY).state == "draft"  # written before waiting
    resume_flow_run(
        run_id,
        run_input={"summary": "Goedgekeurd in de Prefect UI.", "decision": "goedkeuren", "reviewer": "Marleen"},
    )
    runner.join(60)
    state = outcome["state"]
    assert state.is_completed(), state
    item = read_review(workspace.session_private_dir(tmp_path, SLUG)).item(SESSION_SUMMARY_KEY)
    assert item.state == "approved" and item.decision.text == "Goedgekeurd in de Prefect UI."
    assert item.decision.reviewer == "Marleen"
    review, warnings = state.result()
    assert review.item(SESSION_SUMMARY_KEY).decision.text == "Goedgekeurd in de Prefect UI." and not warnings

    # approved and unchanged: a rerun does not wait again
    began = time.monotonic()
    again, _ = _editorial_flow(str(tmp_path), 120)
    assert time.monotonic() - began < 60
    assert again.item(SESSION_SUMMARY_KEY).decision.text == "Goedgekeurd in de Prefect UI."


@pytest.mark.slow
def test_no_editor_in_time_leaves_a_draft_and_the_flow_completes(prefect_harness, tmp_path: Path) -> None:
    state = _editorial_flow(str(tmp_path), 2, return_state=True)
    assert state.is_completed(), state
    assert read_review(workspace.session_private_dir(tmp_path, SLUG)).item(SESSION_SUMMARY_KEY).state == "draft"
    _, warnings = state.result()
    assert warnings == ("no editor decision within 2 s; the summary stays draft",)


@flow(name="editorial-generative-test")
def _generative_flow(output_dir: str, url: str) -> tuple[SessionReview, tuple[str, ...]]:
    from livecastpipe.flows.editorial import summarize_and_review

    transcript = panel_transcript()
    settings = Settings(
        output_dir=Path(output_dir),
        summaries={"backend": "generative", "generative_url": url, "generative_model": "m", "generative_timeout_s": 2},
    )
    result = summarize_and_review(_recording(SLUG), transcript, panel_chapters(transcript), SPEAKERS, settings)
    return result.review, result.warnings


@pytest.mark.slow
def test_session_completes_with_extractive_text_when_the_endpoint_is_down(prefect_harness, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = _generative_flow(str(tmp_path), f"http://127.0.0.1:{port}/v1", return_state=True)
    assert state.is_completed(), state
    review, warnings = state.result()
    assert len(warnings) == 1 and "unreachable" in warnings[0] and "kept the extractive one" in warnings[0]
    expected = summarize_session(panel_transcript(), panel_chapters(panel_transcript()), SummariesSettings())
    assert review.item(SESSION_SUMMARY_KEY).generated_text == expected.text
    assert not workspace.session_private_dir(tmp_path, SLUG).exists()  # a new session's file: written by publishing
