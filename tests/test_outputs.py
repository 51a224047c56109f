"""The output registry decides every file's name, maker and audience; publishing holds to it."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from livecastpipe.package import outputs, store
from livecastpipe.package.catalogue import publish_catalogue
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.publish import publish_session, republish
from livecastpipe.settings import PublishSettings, SubtitleSettings
from livecastpipe.stages.subtitles import subtitle_files

from .publish_fixtures import hostile_package

SETTINGS = PublishSettings()


def test_every_entry_has_one_key_one_name_per_folder_and_an_audience() -> None:
    assert len({o.key for o in outputs.OUTPUTS}) == len(outputs.OUTPUTS)
    for scope in ("session", "site", "cache"):
        names = [o.name("nl") for o in outputs.OUTPUTS if o.scope == scope]
        assert len(names) == len(set(names)), scope
    assert {o.visibility for o in outputs.OUTPUTS} == {"public", "private"}
    assert all(o.visibility == "private" for o in outputs.EDITOR_FILES)
    assert outputs.VOICE_LIBRARY.visibility == outputs.DECODED_AUDIO.visibility == "private"


def test_a_language_named_file_needs_its_language_and_is_recognised_by_it() -> None:
    with pytest.raises(ValueError, match="language"):
        outputs.CAPTIONS_VTT.name()
    assert outputs.session_file("captions.fy.vtt") == (outputs.CAPTIONS_VTT, "fy")
    assert outputs.session_file("chapters.json") == (outputs.CHAPTERS_JSON, "")
    assert outputs.session_file("notes.md") is None


def test_a_file_nobody_registered_is_not_published(tmp_path: Path, hostile_audio_recording) -> None:
    package = hostile_package(hostile_audio_recording)
    package = replace(package, stage_files={**package.stage_files, "notes.md": "x"})
    with pytest.raises(PublishError, match="not in the output registry: notes.md"):
        publish_session(package, tmp_path / "output", SETTINGS)
    assert [p for p in (tmp_path / "output").rglob("*") if not p.is_dir()] == []


def test_files_tracks_and_downloads_follow_the_transcript_language(tmp_path: Path, hostile_audio_recording) -> None:
    """An English session is named `captions.en.vtt` by its writer, and the page and manifest follow."""
    package = hostile_package(hostile_audio_recording)
    english = replace(package.transcript, language="en")
    package = replace(package, transcript=english, stage_files=subtitle_files(english, {}, SubtitleSettings()))
    folder = publish_session(package, tmp_path / "output", SETTINGS)
    assert (folder / "captions.en.vtt").is_file() and not list(folder.glob("*.nl.*"))
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<track id="track-captions" kind="captions" src="captions.en.vtt" srclang="en"', page)
    assert 'href="captions.en.srt"' in page and 'href="subtitles.en.vtt"' in page
    catalogue = json.loads((folder / "session.json").read_text())["catalogue"]
    assert catalogue["tracks"] == ["captions.en.vtt", "subtitles.en.srt", "transcript.podcast.json"]
    assert catalogue["language"] == "en"
    # The interface is Dutch, what was said English: a screen reader reads each in its own language.
    assert '<html lang="nl">' in page and re.search(r'<div class="transcript" id="transcript" lang="en"', page)
    assert '"inLanguage": "en"' in page and 'property="og:locale" content="en_GB"' in page
    # The site speaks Dutch: the tracks are named by the session's language in Dutch.
    assert re.search(r'srclang="en" label="Engels, met sprekers \(automatisch, niet gecontroleerd\)"', page)
    assert re.search(r'srclang="en" label="Engels \(automatisch, niet gecontroleerd\)"', page)
    assert "Nederlands," not in page and 'label="Nederlands' not in page
    # The catalogue's search (in Dutch) finds it: one search index for the site, not one per language.
    publish_catalogue(tmp_path / "output", SETTINGS)
    entry = json.loads((folder.parent / "pagefind" / "pagefind-entry.json").read_text())
    assert list(entry["languages"]) == ["nl"] and entry["languages"]["nl"]["page_count"] == 1


def test_the_formats_chosen_are_written_and_only_what_is_written_is_offered(
    tmp_path: Path,
    hostile_audio_recording,
) -> None:
    """`--output-format srt --output-format tsv` (`publish.formats`): those formats, plus what the page needs
    (its WebVTT tracks, transcript.json); the downloads, the feed and the manifest list what was written, and
    a later publish with every format brings the others back from the stored stage data."""
    package = hostile_package(hostile_audio_recording)
    output = tmp_path / "output"
    chosen = PublishSettings(base_url="https://example.org/", formats=("srt", "tsv"))
    folder = publish_session(package, output, chosen)
    publish_catalogue(output, chosen)

    written = {p.name for p in folder.iterdir() if p.is_file()}
    assert {"captions.nl.srt", "subtitles.nl.srt", "transcript.tsv"} <= written
    assert {"captions.nl.vtt", "subtitles.nl.vtt", "transcript.json"} <= written  # always: the page needs them
    assert not {"transcript.txt", "transcript.whisperx.json", "transcript.podcast.json"} & written
    page = (folder / "index.html").read_text(encoding="utf-8")
    offered = set(re.findall(r'<a href="([^"]+)" download>', page))
    assert "transcript.tsv" in offered and "captions.nl.srt" in offered
    assert offered <= written and "transcript.txt" not in offered
    manifest = json.loads((folder / "session.json").read_text())
    assert {f["path"] for f in manifest["files"]} == {
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != "session.json"
    }
    assert manifest["catalogue"]["tracks"] == ["captions.nl.vtt", "subtitles.nl.srt"]  # no podcast JSON
    feed = ET.fromstring((folder.parent / "feed.xml").read_bytes())
    urls = [t.get("url") for t in feed.iter("{https://podcastindex.org/namespace/1.0}transcript")]
    assert [u.rsplit("/", 1)[1] for u in urls] == ["captions.nl.vtt", "subtitles.nl.srt"]

    again = republish(output, folder.name, PublishSettings())
    assert {"transcript.txt", "transcript.whisperx.json", "transcript.podcast.json"} <= {
        p.name for p in again.iterdir()
    }


def test_unknown_formats_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown format.*docx"):
        PublishSettings(formats=("srt", "docx"))


def test_a_new_sessions_review_comes_with_its_first_publish_and_an_editors_stays(
    tmp_path: Path,
    hostile_audio_recording,
) -> None:
    """The pipeline hands a new session's `review.json` to publishing (nothing is written before it); after
    the publish the private folder holds it and no `.unpublished` mark, and a later stage version never
    replaces what an editor decided."""
    from livecastpipe import workspace
    from livecastpipe.editor.review import (
        SESSION_SUMMARY_KEY,
        ReviewItem,
        approve,
        merge_review,
        read_review,
        write_review,
    )
    from livecastpipe.models import to_json

    package = hostile_package(hostile_audio_recording)
    slug = package.recording.slug
    item = ReviewItem(SESSION_SUMMARY_KEY, "session_summary", "Samenvatting", "Een samenvatting.", "bron")
    review = merge_review(None, [item], slug, package.recording.title)
    package = replace(package, stage_files={**package.stage_files, "review.json": to_json(review)})
    publish_session(package, tmp_path / "output", SETTINGS)
    private = workspace.session_private_dir(tmp_path / "output", slug)
    assert read_review(private) == review and not workspace.is_unpublished(private)
    assert store.session_slugs(tmp_path / "output") == [slug]

    write_review(private, approve(review, SESSION_SUMMARY_KEY, "Redactie", "Goedgekeurd."))
    publish_session(package, tmp_path / "output", SETTINGS)
    decision = read_review(private).item(SESSION_SUMMARY_KEY).decision
    assert decision is not None and decision.text == "Goedgekeurd."
