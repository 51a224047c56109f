"""Stage cache keys follow the stage's code: editing one stage's source reruns that stage, not the others."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from livecastpipe.flows.caching import LIBRARY, STAGE_CODE, code_fingerprint, module_sources


@pytest.fixture()
def library_copy(tmp_path: Path) -> Path:
    """The library's sources, copied so that a test can edit them (the flows link left out)."""
    target = tmp_path / "livecastpipe"
    shutil.copytree(LIBRARY, target, ignore=shutil.ignore_patterns("flows", "__pycache__"), symlinks=True)
    return target


def fingerprints(library: Path) -> dict[str, str]:
    return {stage: code_fingerprint(code, library) for stage, code in STAGE_CODE.items()}


@pytest.mark.parametrize(
    ("edited", "changed", "unchanged"),
    [
        ("stages/chapters.py", {"chapters"}, {"transcribe", "transcribe-block", "speech", "diarize", "subtitles"}),
        ("stages/subtitles.py", {"subtitles"}, {"transcribe", "transcribe-block", "speech", "diarize", "chapters"}),
        ("stages/transcribe.py", {"transcribe", "transcribe-block"}, {"speech", "diarize", "chapters", "subtitles"}),
        ("stages/summaries.py", {"summaries", "generative-summary"}, {"transcribe", "transcribe-block", "subtitles"}),
        ("stages/translate.py", {"translate"}, {"transcribe", "transcribe-block", "subtitles", "repair"}),
    ],
)
def test_editing_a_stage_source_changes_that_stage_key_only(
    library_copy: Path, edited: str, changed: set[str], unchanged: set[str]
) -> None:
    before = fingerprints(library_copy)
    with (library_copy / edited).open("a") as source:
        source.write("\n# an edit\n")
    after = fingerprints(library_copy)
    assert {stage for stage in STAGE_CODE if before[stage] != after[stage]} >= changed
    assert all(before[stage] == after[stage] for stage in unchanged)


def test_a_shared_model_module_changes_every_stage_that_uses_it(library_copy: Path) -> None:
    before = fingerprints(library_copy)
    with (library_copy / "models.py").open("a") as source:
        source.write("\n# an edit\n")
    after = fingerprints(library_copy)
    assert all(before[stage] != after[stage] for stage in STAGE_CODE)


def test_a_stage_sources_follow_its_imports_inside_the_library() -> None:
    names = {path.name for path in module_sources(["livecastpipe.stages.transcribe"])}
    assert {"transcribe.py", "models.py", "settings.py", "bundled_model.py", "ingest.py"} <= names
    assert "publish.py" not in names and "subtitles.py" not in names
