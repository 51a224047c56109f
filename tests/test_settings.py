"""Settings come from defaults, livecast.toml, LIVECAST_* variables and flags, in that order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from livecastpipe.settings import SettingsError, load_settings


def test_defaults_are_offline_dutch_int8() -> None:
    settings = load_settings(environ={})
    t = settings.transcribe
    assert (t.model, t.language, t.compute_type, t.vad, t.allow_download) == ("bundled", "nl", "int8", True, False)


def test_file_then_env_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "livecast.toml"
    config.write_text('output_dir = "archief"\n[transcribe]\nmodel = "large-v3-turbo"\nbeam_size = 3\n')
    settings = load_settings(config, environ={})
    assert settings.output_dir == Path("archief") and settings.transcribe.model == "large-v3-turbo"
    settings = load_settings(config, environ={"LIVECAST_BEAM_SIZE": "1", "LIVECAST_LANGUAGE": "en"})
    assert settings.transcribe.beam_size == 1 and settings.transcribe.language == "en"
    settings = load_settings(config, {"transcribe": {"model": "/modellen/ct2"}}, environ={"LIVECAST_MODEL": "small"})
    assert settings.transcribe.model == "/modellen/ct2" and settings.transcribe.beam_size == 3


def test_bad_settings_name_file_and_field(tmp_path: Path) -> None:
    config = tmp_path / "livecast.toml"
    config.write_text("[transcribe]\nbeam_size = 'veel'\nmodle = 'x'\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config, environ={})
    message = str(caught.value)
    assert str(config) in message and "transcribe.beam_size" in message and "transcribe.modle" in message


def test_an_unknown_diarization_engine_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match=r"speakers\.engine"):
        load_settings(overrides={"speakers": {"engine": "nope"}}, environ={})


def test_settings_change_the_cache_fingerprint() -> None:
    a = load_settings(environ={}).transcribe
    b = load_settings(environ={"LIVECAST_BEAM_SIZE": "1"}).transcribe
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == load_settings(environ={}).transcribe.fingerprint()


def test_stage_timeouts_default_per_stage_and_reject_unknown_stages() -> None:
    from livecastpipe.settings import STAGE_TIMEOUTS_S, StageRunSettings

    stages = StageRunSettings(timeout_s={"publish": 60})
    assert stages.timeout("publish") == 60 and stages.timeout("transcribe") == STAGE_TIMEOUTS_S["transcribe"]
    with pytest.raises(ValueError, match="unknown stage"):
        StageRunSettings(timeout_s={"transcribtion": 60})
    with pytest.raises(ValueError, match="positive"):
        StageRunSettings(timeout_s={"ingest": 0})


def test_error_lines_are_never_wrapped(tmp_path: Path) -> None:
    missing = tmp_path / "a-folder-with-a-long-name" / "livecast-settings-that-do-not-exist.toml"
    done = subprocess.run(
        [sys.executable, "-m", "livecastpipe", "run", str(tmp_path / "x.mp4"), "--config", str(missing)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "40"},
        timeout=120,
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(missing) in errors[0], done.stderr
