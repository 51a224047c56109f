"""Editors' renames always apply, the latest decision winning, and a name that would break a caption file
is refused with a message that says why."""

from __future__ import annotations

import shutil
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
from livecastpipe.models import SpeakerInfo
from livecastpipe.names import MAX_NAME_LENGTH, check_speaker_name
from livecastpipe.package.publish import load_session_package
from livecastpipe.stages.speakers import read_speakers_yaml, rename_speaker, speakers_yaml
from livecastpipe.stages.summaries import SessionSummary

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
