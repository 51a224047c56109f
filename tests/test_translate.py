"""English subtitles (#29): Whisper's translate task over a clip of the sample, published as a viewer and a
podcast app find it (player track, downloads, feed), and the models that cannot translate refused before
any work."""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
import webvtt
from playwright.sync_api import Browser
from pydantic import ValidationError
from starlette.testclient import TestClient
from typer.testing import CliRunner

from livecastpipe.cli import main, run
from livecastpipe.editor.edits.layout import start_edits
from livecastpipe.editor.edits.model import EditError
from livecastpipe.editor.edits.operations import set_translated_cue, undo
from livecastpipe.editor.workbench.guard import TOKEN_HEADER
from livecastpipe.editor.workbench.routes import workbench_app
from livecastpipe.editor.workbench.service import Workbench
from livecastpipe.models import Segment, SpeakerInfo, Transcript, Word
from livecastpipe.package import outputs
from livecastpipe.package.catalogue import publish_catalogue
from livecastpipe.package.publish import publish_session
from livecastpipe.package.server import preview_server
from livecastpipe.package.store import SessionPackage
from livecastpipe.settings import PublishSettings, Settings, SubtitleSettings, TranscribeSettings, load_settings
from livecastpipe.stages.ingest import ingest
from livecastpipe.stages.languages import dictionary
from livecastpipe.stages.subtitles import subtitle_files
from livecastpipe.stages.transcribe import transcribe_file
from livecastpipe.stages.translate import translate_file, translated_subtitle_files

from .test_scaling import cut_clips

CLIP_S = 7.0
NS = {"podcast": "https://podcastindex.org/namespace/1.0"}


@pytest.mark.usefixtures("environment_kept")
@pytest.mark.parametrize("model", ["large-v3-turbo", "turbo", "base.en", "distil-large-v3", "/modellen/large-v3-turbo"])
def test_a_model_that_cannot_translate_is_refused_in_one_line_before_any_work(
    model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    started: list[str] = []
    monkeypatch.setattr(run, "_process_with_progress", lambda *arguments: started.append("run"))
    result = CliRunner().invoke(main.app, ["run", "opname.mp4", "--model", model, "--translate", "en"])
    assert result.exit_code == 2 and not started
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "error:" in lines[0], result.output
    assert f"'{model}'" in result.output and "translate" in result.output


def test_only_english_is_a_translation_target_and_multilingual_models_translate(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="English only"):
        TranscribeSettings(translate="de")
    assert TranscribeSettings(model="large-v3", translate="en").translate == "en"
    (tmp_path / "livecast.toml").write_text('[transcribe]\ntranslate = "en"\n', encoding="utf-8")
    settings = load_settings(tmp_path / "livecast.toml")
    assert settings.transcribe.translate == "en"
    # the transcript's cache key and recorded settings are those of a run without translation
    assert settings.transcribe.fingerprint() == TranscribeSettings().fingerprint()
    assert "translate" not in settings.transcribe.transcription_settings()


def english_share(text: str) -> float:
    """The share of the text's words that English's word list knows."""
    words = [w.lower() for w in re.findall(r"[A-Za-z']+", text)]
    known = dictionary("en")
    assert known is not None and words
    return len(known.known(words)) / len(set(words))


def english_track_chosen_in_the_player(browser: Browser, output: Path, slug: str) -> list[str]:
    """Choose "English (machine translation)" in the published page's subtitle menu (Debian's Chromium,
    the page served by `livecast serve`'s server): the texts of the English cues then on at 0.5 s, once
    the English track alone is on."""
    server = preview_server(output, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page(locale="nl-NL")
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/{slug}/index.html")
        page.wait_for_function("() => document.getElementById('player').readyState >= 1")
        page.select_option("#ondertiteling", "translated")
        page.evaluate("document.getElementById('player').currentTime = 0.5")
        on = "[...document.getElementById('player').textTracks].filter(t => t.mode !== 'disabled')"
        page.wait_for_function(f"() => {on}.length === 1 && {on}[0].activeCues && {on}[0].activeCues.length > 0")
        assert page.evaluate(f"{on}[0].language") == "en"
        return page.evaluate(f"[...{on}[0].activeCues].map(c => c.text)")
    finally:
        page.close()
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_english_subtitles_of_a_clip_are_english_timed_in_it_and_published_as_machine_translation(
    tmp_path: Path, browser: Browser
) -> None:
    (clip,) = cut_clips(tmp_path / "media", 1, seconds=CLIP_S)
    recording = ingest(clip, tmp_path / "cache")
    settings = TranscribeSettings(translate="en")
    dutch = transcribe_file(Path(recording.audio_path), settings)
    translation = translate_file(Path(recording.audio_path), settings)

    assert translation.language == "en" and dutch.language == "nl"
    assert english_share(translation.text) >= 0.8, translation.text
    assert translation.text.lower() != dutch.text.lower()
    files = translated_subtitle_files(translation, SubtitleSettings())
    cues = list(webvtt.from_string(files["subtitles.en.vtt"]))
    duration = recording.media.duration
    assert all(0 <= w.start <= w.end <= duration for w in translation.words)
    linger = SubtitleSettings().resolved_profile.max_linger  # a cue stays up a moment after its last word
    assert cues and all(0 <= c.start_in_seconds < c.end_in_seconds <= duration + linger for c in cues)
    assert english_share(" ".join(c.text for c in cues)) >= 0.8

    # published with the Dutch subtitles: the player's track, the downloads and the feed name it
    output = tmp_path / "output"
    names = {"SPEAKER_00": "Anne de Vries"}
    package = SessionPackage(
        recording=recording,
        transcript=dutch,
        speakers=(SpeakerInfo("SPEAKER_00", "Anne de Vries", "speaker", 1.0, "editor", True),),
        chapters=(),
        stage_files={**subtitle_files(dutch, names, SubtitleSettings()), **files},
    )
    publish = PublishSettings(base_url="https://replays.example.org/", formats=("vtt",))
    folder = publish_session(package, output, publish)
    publish_catalogue(output, publish)
    page = (folder / "index.html").read_text(encoding="utf-8")
    track = re.search(r'<track id="track-translated"[^>]*>', page)
    assert track is not None
    assert 'kind="subtitles"' in track.group(0) and 'srclang="en"' in track.group(0)
    assert 'label="English (machine translation)"' in track.group(0)
    assert "Engelse ondertitels, machinevertaling (WebVTT)" in page
    assert (folder / "subtitles.en.vtt").read_text(encoding="utf-8").startswith("WEBVTT\n\nNOTE Machine translation")
    feed_xml = (output / "site" / outputs.FEED.name()).read_bytes()
    assert not feedparser.parse(feed_xml).bozo
    item = ET.fromstring(feed_xml).find("channel/item")
    assert item is not None
    languages = {t.get("url", "").rsplit("/", 1)[-1]: t.get("language") for t in item.findall("podcast:transcript", NS)}
    assert languages["subtitles.en.vtt"] == "en" and languages["captions.nl.vtt"] == "nl"
    downloads = re.search(r'<section class="downloads".*?</section>', page, re.S)
    assert downloads is not None and "subtitles.en.srt" not in downloads.group(0)  # formats: vtt only
    assert english_track_chosen_in_the_player(browser, output, recording.slug) == [cues[0].text]

    # an editor corrects an English cue in the workbench: kept in the edits file, applied when it publishes
    # the session again (and at every later publish)
    starts = [c.start for c in cues]
    bench = Workbench(Settings(output_dir=output, publish=publish), "token-0123456789abcdef", "Redactie")
    client = TestClient(
        workbench_app(bench, "127.0.0.1", 8642),
        base_url="http://127.0.0.1:8642",
        headers={TOKEN_HEADER: "token-0123456789abcdef"},
    )
    path = f"/api/sessions/{recording.slug}/translation/{starts[0]}"
    assert client.post(path, json={"text": "Welcome, friends & neighbours", "version": 0}).status_code == 200
    assert client.post(path.replace(starts[0], "00:09:00.000"), json={"text": "x", "version": 1}).status_code == 400
    assert client.post(f"/api/sessions/{recording.slug}/publish").status_code == 200
    publish_session(package, output, publish)  # as a rerun publishes it
    listed = client.get(f"/api/sessions/{recording.slug}").json()["translation"]
    assert listed[0] == {
        "start": starts[0],
        "end": cues[0].end,
        "text": "Welcome, friends & neighbours",
        "corrected": True,
    }
    assert [c["corrected"] for c in listed[1:]] == [False] * (len(cues) - 1)
    corrected = list(webvtt.from_string((folder / "subtitles.en.vtt").read_text(encoding="utf-8")))
    assert corrected[0].text == "Welcome, friends &amp; neighbours" and corrected[0].start == starts[0]
    assert [c.text for c in corrected[1:]] == [c.text for c in cues[1:]]
    assert (folder / "subtitles.nl.vtt").read_text(encoding="utf-8") == package.stage_files["subtitles.nl.vtt"]


def test_an_english_cue_correction_is_checked_recorded_and_undone() -> None:
    words = (Word(0.0, 0.5, "Welkom", 0.9), Word(0.6, 1.0, "allemaal.", 0.9))
    machine = Transcript("nl", 1.0, 2.0, (Segment(0.0, 1.0, "Welkom allemaal.", words),), "handmade-test-fixture")
    edits = start_edits("sessie", machine)
    starts = ["00:00:00.000", "00:00:01.500"]
    with pytest.raises(EditError, match="geen regel die op '00:00:09.000' begint"):
        set_translated_cue(edits, "00:00:09.000", "Hello", base_version=0, editor="redactie", cue_starts=starts)
    with pytest.raises(EditError):
        set_translated_cue(edits, starts[0], "   ", base_version=0, editor="redactie", cue_starts=starts)
    changed = set_translated_cue(edits, starts[0], "Welcome all.", base_version=0, editor="redactie", cue_starts=starts)
    assert changed.translated_cues == {starts[0]: "Welcome all."} and changed.history[-1].editor == "redactie"
    assert changed.segments == edits.segments  # the Dutch transcript is not touched
    assert undo(changed, base_version=changed.version, editor="redactie").translated_cues == {}
