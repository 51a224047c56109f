"""The store of published sessions: the one listing, the typed manifest and stored data, their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livecastpipe import workspace
from livecastpipe.package import outputs, store
from livecastpipe.package.catalogue import publish_catalogue
from livecastpipe.package.package_format import PublishError
from livecastpipe.package.publish import republish

from .publish_fixtures import SETTINGS
from .workbench_fixtures import SLUG


def test_the_listing_and_the_typed_manifest_and_stored_data_round_trip(output: Path, tmp_path: Path) -> None:
    site = workspace.site_dir(output)
    (site / ".staged-session").mkdir()
    (site / ".staged-session" / outputs.MANIFEST.name()).write_text("{}", encoding="utf-8")
    (site / "no-manifest").mkdir()
    folder = workspace.session_site_dir(output, SLUG)
    assert store.published_sessions(output) == [folder]  # hidden and manifest-less folders are no session

    written = (folder / outputs.MANIFEST.name()).read_bytes()
    manifest = store.read_manifest(folder)
    store.write_manifest(tmp_path, manifest)
    assert (tmp_path / outputs.MANIFEST.name()).read_bytes() == written  # read, then written: the same bytes
    page = next(f for f in manifest.files if f.path == outputs.SESSION_PAGE.name())
    assert page.bytes == (folder / page.path).stat().st_size
    assert manifest.title == json.loads(written)["catalogue"]["title"]

    stored = store.read_package_data(output, SLUG)
    assert stored is not None and [c.title for c in stored.chapters] == [
        "Anne de Vries: welkom",
        "Pieter Bakker: de leden",
    ]
    (published,) = store.published_recordings(output)
    assert (published.slug, published.source, published.sha256) == (
        SLUG,
        stored.recording.source,
        manifest.recording["sha256"],
    )


def test_a_malformed_session_json_is_an_error_naming_the_file(output: Path) -> None:
    path = workspace.session_site_dir(output, SLUG) / outputs.MANIFEST.name()
    path.write_text("{half a file", encoding="utf-8")
    with pytest.raises(PublishError) as failed:
        publish_catalogue(output, SETTINGS)
    assert f"{path}: cannot read manifest" in str(failed.value)
    with pytest.raises(PublishError, match="cannot read manifest") as unreadable:
        store.read_manifest(path.parent)
    assert unreadable.value.path == str(path)
    assert store.published_recordings(output) == []  # a run does not take it for a session it knows


def test_a_malformed_package_json_is_an_error_naming_the_file(output: Path) -> None:
    path = store.package_data_path(output, SLUG)
    path.write_text('{"recording": 3}', encoding="utf-8")
    with pytest.raises(PublishError, match="stored session data cannot be read") as failed:
        republish(output, SLUG, SETTINGS)
    assert failed.value.path == str(path)


def test_the_output_folder_of_a_private_session_folder_follows_the_layout(tmp_path: Path) -> None:
    output = tmp_path / "output"
    assert workspace.output_of_session(workspace.session_private_dir(output, SLUG)) == output
    with pytest.raises(ValueError, match="not a session's private folder"):
        workspace.output_of_session(tmp_path / "elders" / "sessies" / SLUG)
