"""Editors' renames always apply, the latest decision winning, and a name that would break a caption file
is refused with a message that says why."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from livecastpipe import workspace
from livecastpipe.cli.main import app
from livecastpipe.editor.review import (
    ReviewError,
    SessionReview,
    approve,
    approved_speaker_names,
    read_review,
    session_speaker_names,
    speaker_name_key,
    update_review,
    write_review,
)
from livecastpipe.models import Chapter, PanelSpeaker, Recording, SpeakerInfo
from livecastpipe.names import MAX_NAME_LENGTH, check_speaker_name
from livecastpipe.package.publish import publish_session
from livecastpipe.package.store import load_session_package
from livecastpipe.stages.speakers import read_speakers_yaml, rename_speaker, speakers_yaml
from livecastpipe.stages.summaries import SessionSummary

from .publish_fixtures import SETTINGS
from .workbench_fixtures import SLUG, small_package

SAMPLE_SLUG = "cooperatieven-maken-de-stad-voorbeeldsessie"
BAD_NAMES = {
    "Anne\nvan Dijk": "line break",
    "Anne\r\n-->": "line break",
    "Anne --> 00:00:01.000": "-->",
    "Anne\x07": "control character",
    "Anne\u200b": "control character",
    "A" * (MAX_NAME_LENGTH + 1): "characters long",
}
SPEAKERS = {
    "SPEAKER_00": SpeakerInfo("SPEAKER_00", "Anne de Vries", "moderator", 1.0, "editor", True),
    "SPEAKER_01": SpeakerInfo("SPEAKER_01", "Pieter Bakker", "speaker", 0.8, "introduction", False),
}


@pytest.mark.parametrize("name", list(BAD_NAMES))
def test_a_bad_name_is_refused_saying_why(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=BAD_NAMES[name]):
        rename_speaker(SPEAKERS, "SPEAKER_01", name=name)
    output = tmp_path / "out"
    folder = workspace.session_private_dir(output, "sessie")
    folder.mkdir(parents=True)
    (folder / "speakers.yaml").write_text(speakers_yaml(SPEAKERS))
    before = (folder / "speakers.yaml").read_bytes()
    result = CliRunner().invoke(app, ["speakers", "sessie", "--output", str(output), "--rename", f"SPEAKER_01={name}"])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and BAD_NAMES[name] in result.output and "Traceback" not in result.output
    assert (folder / "speakers.yaml").read_bytes() == before  # nothing saved


def test_a_good_name_is_kept_as_one_line() -> None:
    assert check_speaker_name("  Anne  van Dijk ") == "Anne van Dijk"
    assert check_speaker_name("Zoë <Bakker> & co") == "Zoë <Bakker> & co"  # escaped where written
    with pytest.raises(ValueError, match="empty"):
        check_speaker_name("   ")


def _review(folder: Path) -> SessionReview:
    summary = SessionSummary(sentences=(), chapters=(), keywords=(), source_hash="x", backend="extractive")
    return update_review(folder, "sessie", "Sessie", summary, [], list(SPEAKERS.values()))


def test_a_rename_updates_an_earlier_approval(tmp_path: Path) -> None:
    output = tmp_path / "out"
    folder = workspace.session_private_dir(output, "sessie")
    folder.mkdir(parents=True)
    (folder / "speakers.yaml").write_text(speakers_yaml(SPEAKERS))
    review = approve(_review(folder), speaker_name_key("SPEAKER_01"), "Redactie")
    write_review(folder, review)
    assert approved_speaker_names(review, SPEAKERS)["SPEAKER_01"] == "Pieter Bakker"
    with pytest.raises(ReviewError, match="line break"):
        approve(review, speaker_name_key("SPEAKER_01"), "Redactie", "Piet\n-->")

    result = CliRunner().invoke(
        app, ["speakers", "sessie", "--output", str(output), "--rename", "SPEAKER_01=Pieter van Dam"]
    )

    assert result.exit_code == 0, result.output
    assert read_speakers_yaml(folder / "speakers.yaml")["SPEAKER_01"].name == "Pieter van Dam"
    assert approved_speaker_names(read_review(folder), SPEAKERS)["SPEAKER_01"] == "Pieter van Dam"
    # The review stays the place for a later decision: approving there wins again.
    later = approve(read_review(folder), speaker_name_key("SPEAKER_01"), "Redactie", "P. van Dam")
    assert approved_speaker_names(later, SPEAKERS)["SPEAKER_01"] == "P. van Dam"


@pytest.mark.slow
def test_renaming_an_approved_speaker_changes_the_published_page(published_site: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    shutil.copytree(published_site, output)
    private = workspace.session_private_dir(output, SAMPLE_SLUG)
    speakers = {s.id: s for s in load_session_package(output, SAMPLE_SLUG).speakers}
    (private / "speakers.yaml").write_text(speakers_yaml(speakers))
    page = workspace.session_site_dir(output, SAMPLE_SLUG) / "index.html"
    before = page.read_text().count("Pieter Bakker")  # approved in the review (also in the summary)
    assert before >= 2
    runner = CliRunner()
    renamed = runner.invoke(
        app, ["speakers", SAMPLE_SLUG, "--output", str(output), "--rename", "SPEAKER_01=Pieter van Dam"]
    )
    assert renamed.exit_code == 0, renamed.output
    assert runner.invoke(app, ["publish", SAMPLE_SLUG, "--output", str(output)]).exit_code == 0
    after = page.read_text()
    assert after.count("Pieter van Dam") >= 1  # speakers list, transcript, chapters
    assert after.count("Pieter van Dam") + after.count("Pieter Bakker") == before  # only the summary keeps it


def test_chapter_titles_follow_a_rename_made_after_the_chapters_stage(
    edit_site: Path, hostile_audio_recording: Recording, tmp_path: Path
) -> None:
    """The chapters stage titles a chapter "Spreker 2 — keywords" while its speaker has no name; once the
    speaker is named and the session published, the page and chapters.vtt say the name, as the captions do."""
    output = tmp_path / "output"
    shutil.copytree(edit_site, output, symlinks=True)
    package = small_package(hostile_audio_recording)
    stage_titled = (
        package.chapters[0],
        Chapter(8.5, 20.0, "Spreker 2 — leden, coöperatie", "SPEAKER_01", ("leden", "coöperatie")),
    )
    publish_session(replace(package, chapters=stage_titled), output, SETTINGS)
    site = workspace.session_site_dir(output, SLUG)
    assert "Spreker 2 — leden, coöperatie" in (site / "chapters.vtt").read_text()
    private = workspace.session_private_dir(output, SLUG)
    (private / "speakers.yaml").write_text(speakers_yaml({s.id: s for s in package.speakers}))
    runner = CliRunner()
    renamed = runner.invoke(app, ["speakers", SLUG, "--output", str(output), "--rename", "SPEAKER_01=Pieter van Dam"])
    assert renamed.exit_code == 0, renamed.output
    assert runner.invoke(app, ["publish", SLUG, "--output", str(output)]).exit_code == 0
    for published in ("chapters.vtt", "index.html"):
        text = (site / published).read_text()
        assert "Pieter van Dam — leden, coöperatie" in text, published
        assert "Spreker 2" not in text, published
    assert "Anne de Vries: welkom" in (site / "chapters.vtt").read_text()  # a title in another form stays


def test_sidecar_names_nobody_confirmed_are_announced_not_stated(
    hostile_audio_recording: Recording, tmp_path: Path
) -> None:
    """Before an editor names the voices, the page lists the sidecar's panel as announced in the programme,
    not as the speakers whom the captions call Spreker 1 and 2; once named, as the speakers."""
    output = tmp_path / "output"
    package = small_package(hostile_audio_recording)
    panel = (PanelSpeaker("Anne de Vries", "moderator"), PanelSpeaker("Pieter Bakker"))
    unconfirmed = tuple(replace(s, confirmed=False) for s in package.speakers)
    recording = replace(package.recording, metadata=replace(package.recording.metadata, speakers=panel))
    publish_session(replace(package, speakers=unconfirmed, recording=recording), output, SETTINGS)
    page = (workspace.session_site_dir(output, SLUG) / "index.html").read_text()
    speakers = page.split('<section class="speakers"')[1].split("</section>")[0]
    assert "Aangekondigde sprekers" in speakers and "Anne de Vries" in speakers
    assert "Spreker 1" in page  # the transcript's name for the voice
    (workspace.session_private_dir(output, SLUG) / "speakers.yaml").write_text(
        speakers_yaml({s.id: s for s in unconfirmed})
    )
    renamed = CliRunner().invoke(
        app, ["speakers", SLUG, "--output", str(output), "--rename", "SPEAKER_00=Anne de Vries"]
    )
    assert renamed.exit_code == 0, renamed.output
    assert CliRunner().invoke(app, ["publish", SLUG, "--output", str(output)]).exit_code == 0
    page = (workspace.session_site_dir(output, SLUG) / "index.html").read_text()
    assert '<h2 id="sprekers-kop">Sprekers</h2>' in page and "Aangekondigde" not in page


def test_one_chain_names_speakers_from_the_review_for_flows_page_and_workbench(tmp_path: Path) -> None:
    """Approved in the review wins over confirmed in speakers.yaml; a proposed name stays out; a speaker
    only the transcript has (one an editor added) is named by its approval, numbered with the others."""
    folder = workspace.session_private_dir(tmp_path / "out", "sessie")
    folder.mkdir(parents=True)
    added = SpeakerInfo("SPEAKER_02", "Sanne Jansen")
    review = update_review(
        folder, "sessie", "Sessie", SessionSummary((), (), (), "x", "extractive"), [], [*SPEAKERS.values(), added]
    )
    review = approve(review, speaker_name_key("SPEAKER_00"), "Redactie", "Anne  de Vries-Bakker")
    review = approve(review, speaker_name_key("SPEAKER_02"), "Redactie")

    names = session_speaker_names(review, SPEAKERS.values(), ["SPEAKER_02", "SPEAKER_03"])

    assert names.given == {"SPEAKER_00": "Anne de Vries-Bakker", "SPEAKER_02": "Sanne Jansen"}
    assert names.public == {
        "SPEAKER_00": "Anne de Vries-Bakker",
        "SPEAKER_01": "Spreker 2",
        "SPEAKER_02": "Sanne Jansen",
        "SPEAKER_03": "Spreker 4",
    }
    unreviewed = session_speaker_names(None, SPEAKERS.values())
    assert unreviewed.public == {"SPEAKER_00": "Anne de Vries", "SPEAKER_01": "Spreker 2"}
