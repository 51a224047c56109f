"""A recording replaced under the same file name is reported, and `--replace` keeps its session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livecastpipe import workspace
from livecastpipe.editor.review import SESSION_SUMMARY_KEY, approve, read_review, write_review
from livecastpipe.package import store
from livecastpipe.settings import Settings
from livecastpipe.storage import sha256_file

from .conftest import SAMPLE, run_ffmpeg


@pytest.mark.slow
def test_a_replaced_recording_is_reported_and_replace_keeps_the_session(prefect_harness, tmp_path: Path) -> None:
    from livecastpipe.flows.pipeline import process_folder
    from livecastpipe.scheduling import published_unchanged

    media = tmp_path / "media"
    media.mkdir()
    talk = media / "lezing.mp4"
    run_ffmpeg("-i", str(SAMPLE), "-t", "8", "-c", "copy", str(talk))
    settings = Settings(output_dir=tmp_path / "out")
    (first,) = process_folder([str(media)], settings)
    assert first.status == "done", first.error
    private = workspace.session_private_dir(settings.output_dir, first.slug)
    review = read_review(private)
    write_review(private, approve(review, SESSION_SUMMARY_KEY, "Redactie", "Een goedgekeurde samenvatting."))

    assert published_unchanged([media], settings.output_dir)  # a rerun loads no model ahead

    run_ffmpeg("-ss", "8", "-i", str(SAMPLE), "-t", "8", "-c:v", "libx264", "-c:a", "aac", str(talk))  # other content
    assert not published_unchanged([media], settings.output_dir)
    (refused,) = process_folder([str(media)], settings)
    assert refused.status == "failed"
    assert "lezing.mp4" in refused.error and first.slug in refused.error and "--replace" in refused.error
    assert store.session_slugs(settings.output_dir) == [first.slug]  # no second session

    (replaced,) = process_folder([str(media)], settings.model_copy(update={"replace_recordings": True}))
    assert replaced.status == "done", replaced.error
    assert replaced.slug == first.slug and any("replaces the recording" in w for w in replaced.warnings)
    assert store.session_slugs(settings.output_dir) == [first.slug]
    item = read_review(private).item(SESSION_SUMMARY_KEY)
    assert item.decision is not None and item.decision.text == "Een goedgekeurde samenvatting."  # kept
    assert item.stale  # made from the old recording: to be looked at again
    manifest = json.loads((workspace.session_site_dir(settings.output_dir, first.slug) / "session.json").read_text())
    assert manifest["recording"]["sha256"] == sha256_file(talk)
    feed = (workspace.site_dir(settings.output_dir) / "feed.xml").read_text()
    assert feed.count("<item>") == 1


@pytest.mark.slow
def test_a_recording_under_a_published_name_from_another_folder_is_reported(prefect_harness, tmp_path: Path) -> None:
    """Same file name (so the same session name) in another folder, other content: in one batch the second
    fails naming the first; later it fails naming the published one, the batch's others still finish,
    and `--replace` replaces it in that session."""
    from livecastpipe.flows.pipeline import process_folder

    first, second = tmp_path / "dag1", tmp_path / "dag2"
    first.mkdir()
    second.mkdir()
    run_ffmpeg("-i", str(SAMPLE), "-t", "6", "-c", "copy", str(first / "lezing.mp4"))
    run_ffmpeg("-ss", "8", "-i", str(SAMPLE), "-t", "6", "-c:v", "libx264", "-c:a", "aac", str(second / "lezing.mp4"))
    settings = Settings(output_dir=tmp_path / "out")
    done, refused = process_folder([str(first), str(second)], settings)
    assert done.status == "done" and done.slug == "lezing", done.error
    assert refused.status == "failed" and refused.error is not None
    assert refused.error.startswith(f"{second / 'lezing.mp4'}: ") and str(first / "lezing.mp4") in refused.error
    assert "\n" not in refused.error
    private = workspace.session_private_dir(settings.output_dir, "lezing")
    write_review(private, approve(read_review(private), SESSION_SUMMARY_KEY, "Redactie", "Goedgekeurd."))
    site_before = {
        p: p.read_bytes() for p in workspace.session_site_dir(settings.output_dir, "lezing").rglob("*") if p.is_file()
    }

    # Another recording (a copy of the published one would be that session, under a new name).
    run_ffmpeg("-ss", "20", "-i", str(SAMPLE), "-t", "6", "-c", "copy", str(second / "andere-lezing.mp4"))
    results = {Path(r.source).name: r for r in process_folder([str(second)], settings)}
    refused, other = results["lezing.mp4"], results["andere-lezing.mp4"]
    assert other.status == "done" and other.slug == "andere-lezing", other.error  # the batch's others finish
    assert refused.status == "failed" and refused.error is not None
    assert refused.error.startswith(f"{second / 'lezing.mp4'}: ") and str(first / "lezing.mp4") in refused.error
    assert "--replace" in refused.error and "\n" not in refused.error
    assert store.session_slugs(settings.output_dir) == ["andere-lezing", "lezing"]  # no third session
    site_after = {
        p: p.read_bytes() for p in workspace.session_site_dir(settings.output_dir, "lezing").rglob("*") if p.is_file()
    }
    assert site_after == site_before  # the published session untouched
    assert read_review(private).item(SESSION_SUMMARY_KEY).decision is not None

    (second / "andere-lezing.mp4").unlink()
    (replaced,) = process_folder([str(second)], settings.model_copy(update={"replace_recordings": True}))
    assert replaced.status == "done" and replaced.slug == "lezing", replaced.error
    assert any("replaces the recording" in w and str(first / "lezing.mp4") in w for w in replaced.warnings)
    item = read_review(private).item(SESSION_SUMMARY_KEY)
    assert item.decision is not None and item.decision.text == "Goedgekeurd." and item.stale
    manifest = json.loads((workspace.session_site_dir(settings.output_dir, "lezing") / "session.json").read_text())
    assert manifest["recording"]["file"] == "lezing.mp4"  # its path, on this machine, only in the private data
    stored = json.loads((workspace.session_private_dir(settings.output_dir, "lezing") / "package.json").read_text())
    assert stored["recording"]["source"] == str(second / "lezing.mp4")
