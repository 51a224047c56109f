"""Settings come from defaults, livecast.toml, LIVECAST_* variables and flags, in that order."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from livecastpipe.ingest import ffmpeg_binary
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


def test_ffmpeg_falls_back_to_imageio_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without any ffmpeg, as on a fresh machine
    binary = ffmpeg_binary()
    assert "imageio_ffmpeg" in binary and os.access(binary, os.X_OK)
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert ffmpeg_binary() == shutil.which("ffmpeg") == str(fake)


def test_stage_timeouts_default_per_stage_and_reject_unknown_stages() -> None:
    from livecastpipe.settings import STAGE_TIMEOUTS_S, StageRunSettings

    stages = StageRunSettings(timeout_s={"publish": 60})
    assert stages.timeout("publish") == 60 and stages.timeout("transcribe") == STAGE_TIMEOUTS_S["transcribe"]
    with pytest.raises(ValueError, match="unknown stage"):
        StageRunSettings(timeout_s={"transcribtion": 60})
    with pytest.raises(ValueError, match="positive"):
        StageRunSettings(timeout_s={"ingest": 0})
