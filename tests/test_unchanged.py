"""A rerun that would change nothing is told before Prefect starts; anything changed goes the normal way."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from livecastpipe import workspace
from livecastpipe.settings import Settings, SummariesSettings, flag_overrides, load_settings
from livecastpipe.unchanged import file_stamp, run_inputs, unchanged_results

from .conftest import livecast
from .publish_fixtures import SampleFlowRun

UNCHANGED = "unchanged since the last run"


def _modification_times(folder: Path) -> dict[str, int]:
    """Every file and folder under `folder` by path, with its modification time (ns)."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_a_file_rewritten_with_its_size_and_modification_time_put_back_is_seen(tmp_path: Path) -> None:
    sidecar = tmp_path / "talk.yaml"
    sidecar.write_text("title: Eerste titel\n")
    before = sidecar.stat()
    stamp = file_stamp(sidecar)
    sidecar.write_text("title: Andere titel\n")
    os.utime(sidecar, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert sidecar.stat().st_size == before.st_size
    assert file_stamp(sidecar) != stamp


@pytest.mark.slow
def test_an_unchanged_rerun_changes_no_file_and_a_changed_sidecar_setting_or_recording_is_run(
    sample_flow_run: SampleFlowRun, flow_output_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    recording = media / sample_flow_run.source.name
    shutil.copy(sample_flow_run.source, recording)
    sidecar = shutil.copy(sample_flow_run.source.with_suffix(".yaml"), media)
    command = ("run", str(recording), "-o", str(flow_output_copy), "--json")
    first = livecast(*command, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert UNCHANGED not in first.stderr
    before = _modification_times(flow_output_copy)

    again = livecast(*command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert UNCHANGED in again.stderr
    assert _modification_times(flow_output_copy) == before
    assert json.loads(again.stdout) == json.loads(first.stdout)

    monkeypatch.chdir(tmp_path)  # the settings as the command read them there
    settings = load_settings(None, flag_overrides(output_dir=flow_output_copy))
    inputs = run_inputs([str(recording)], settings)
    assert inputs is not None and unchanged_results(inputs, settings) is not None
    for changed in (
        settings.model_copy(update={"publish": settings.publish.model_copy(update={"site_title": "Anders"})}),
        settings.model_copy(update={"summaries": SummariesSettings(generative_api_key=SecretStr("een andere"))}),
    ):
        assert unchanged_results(run_inputs([str(recording)], changed), changed) is None  # type: ignore[arg-type]
    os.utime(recording)  # touched: its content may have changed
    assert unchanged_results(run_inputs([str(recording)], settings), settings) is None  # type: ignore[arg-type]

    data = yaml.safe_load(Path(sidecar).read_text(encoding="utf-8"))
    Path(sidecar).write_text(yaml.safe_dump({**data, "title": "Een nieuwe titel"}), encoding="utf-8")
    retitled = livecast(*command, cwd=tmp_path)
    assert retitled.returncode == 0, retitled.stderr
    assert UNCHANGED not in retitled.stderr
    assert "Een nieuwe titel" in (workspace.site_dir(flow_output_copy) / "index.html").read_text(encoding="utf-8")


def test_a_setting_is_part_of_the_inputs(tmp_path: Path) -> None:
    """Every setting, a secret's value too, changes what a run is compared on."""
    recording = tmp_path / "talk.mp4"
    recording.write_bytes(b"not read")
    settings = Settings(output_dir=tmp_path / "out")
    other = Settings(output_dir=tmp_path / "out", summaries=SummariesSettings(generative_api_key=SecretStr("k")))
    assert run_inputs([str(recording)], settings) == run_inputs([str(recording)], settings)
    assert run_inputs([str(recording)], settings) != run_inputs([str(recording)], other)
