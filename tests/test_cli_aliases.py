"""Whisper's own flag spellings on `livecast run` (`--initial_prompt`, `--output_format`, `-o`/`--output_dir`,
`--beam_size`, `--batch_size`): parsed by the real command line into the settings the run would use.
The run itself is not started: the settings are taken where the command hands them to the flow."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from livecastpipe.cli import main
from livecastpipe.cli import run as run_command
from livecastpipe.settings import Settings


def settings_of_run(arguments: list[str], folder: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings `livecast run ARGUMENTS` would process its recordings with (no settings file)."""
    monkeypatch.chdir(folder)
    taken: list[Settings] = []

    def take_settings(paths: list[str], settings: Settings, quiet: bool, early_server: object) -> None:
        taken.append(settings)
        raise typer.Exit(0)

    monkeypatch.setattr(run_command, "_process_with_progress", take_settings)
    result = CliRunner().invoke(main.app, ["run", "opname.mp4", "--verbose", *arguments])
    assert result.exit_code == 0, result.output
    return taken[0]


@pytest.mark.parametrize(
    ("arguments", "setting", "expected"),
    [
        (
            ["--initial_prompt", "Coöperatie, woningcorporatie."],
            "transcribe.initial_prompt",
            "Coöperatie, woningcorporatie.",
        ),
        (["--beam_size", "2"], "transcribe.beam_size", 2),
        (["--beam-size", "3"], "transcribe.beam_size", 3),
        (["--batch_size", "4"], "transcribe.batch_size", 4),
        (["--batch-size", "2"], "transcribe.batch_size", 2),
        (["--output_format", "srt"], "publish.formats", ("srt",)),
        (["--output_format", "vtt", "--output_format", "txt"], "publish.formats", ("vtt", "txt")),
        (["-o", "archief"], "output_dir", Path("archief")),
        (["--output_dir", "archief"], "output_dir", Path("archief")),
    ],
)
def test_whisper_flag_spellings_set_the_same_settings(
    arguments: list[str], setting: str, expected: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value: object = settings_of_run(arguments, tmp_path, monkeypatch)
    for part in setting.split("."):
        value = getattr(value, part)
    assert value == expected


@pytest.mark.usefixtures("environment_kept")
@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        (["--beam_size", "0"], "Invalid value for '--beam-size'"),
        (["--output_format", "docx"], "--output-format: unknown docx"),
    ],
)
def test_whisper_flags_with_values_livecast_cannot_use_are_refused(
    arguments: list[str], refusal: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main.app, ["run", "opname.mp4", *arguments])
    assert result.exit_code == 2 and refusal in result.output
