"""Limits on what a sidecar may hold: a too large file or too long field is refused, naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from livecastpipe.stages.ingest import MAX_DESCRIPTION, MAX_SIDECAR_BYTES, MAX_TITLE, IngestError, read_metadata


def _sidecar(tmp_path: Path, data: object) -> Path:
    recording = tmp_path / "sessie.mp4"
    recording.write_bytes(b"")
    (tmp_path / "sessie.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return recording


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "T" * (MAX_TITLE + 1)}, "title"),
        ({"programme": "P" * (MAX_TITLE + 1)}, "programme"),
        ({"description": "Lang. " * MAX_DESCRIPTION}, "description"),
        ({"speakers": ["Anne " * 30]}, "speakers.0.name"),
        ({"speakers": [f"Spreker {n}" for n in range(51)]}, "speakers"),
        ({"glossary": ["kort", "x" * 101]}, "glossary.1"),
        ({"glossary": [f"term{n}" for n in range(501)]}, "glossary"),
    ],
)
def test_too_long_fields_are_refused_by_file_and_field(tmp_path: Path, data: dict, field: str) -> None:
    with pytest.raises(IngestError) as error:
        read_metadata(_sidecar(tmp_path, data))
    message = str(error.value)
    assert "sessie.yaml" in message and f"{field}:" in message and "at most" in message, message


def test_a_huge_sidecar_is_not_read(tmp_path: Path) -> None:
    """A 5 MB description once made a 10.5 MB page and a 5 MB feed."""
    recording = _sidecar(tmp_path, {"title": "Sessie"})
    (tmp_path / "sessie.yaml").write_text("description: " + "x" * 5_000_000 + "\n", encoding="utf-8")
    with pytest.raises(
        IngestError, match=f"sessie.yaml: metadata file of 5000014 bytes, more than the {MAX_SIDECAR_BYTES}"
    ):
        read_metadata(recording)


def test_fields_within_the_limits_are_kept(tmp_path: Path) -> None:
    data = {"title": "T" * MAX_TITLE, "description": "D" * MAX_DESCRIPTION, "glossary": ["coöperatie"] * 500}
    metadata = read_metadata(_sidecar(tmp_path, data))
    assert metadata.title == data["title"] and len(metadata.glossary) == 500
