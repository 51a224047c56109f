"""Settings come from defaults, livecast.toml, LIVECAST_* variables and flags, in that order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from livecastpipe import workspace
from livecastpipe.editor.edits import operations as ed
from livecastpipe.editor.edits.edits_file import update_edits
from livecastpipe.models import Recording
from livecastpipe.package import outputs
from livecastpipe.package.editorial import render_preview
from livecastpipe.package.publish import publish_session, republish
from livecastpipe.settings import Settings, SettingsError, flag_overrides, load_settings

from .publish_fixtures import SETTINGS, hostile_package


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


def test_an_env_var_a_file_value_and_a_flag_resolve_through_the_one_model(tmp_path: Path) -> None:
    """Each section's value comes from the highest source that sets it: flags (built from the model's
    field names), then `LIVECAST_*`, then the file; the chat endpoint's variables only fill what the file
    and the flags leave unset, as the settings reference says."""
    config = tmp_path / "livecast.toml"
    config.write_text(
        '[transcribe]\nmodel = "large-v3-turbo"\nbeam_size = 3\nlanguage = "de"\n'
        '[speakers]\nnum_speakers = 3\nmax_speakers = 6\n[publish]\nformats = ["srt"]\n'
        '[summaries]\ngenerative_url = "http://127.0.0.1:8080/v1"\n',
        encoding="utf-8",
    )
    environ = {
        "LIVECAST_MODEL": "small",
        "LIVECAST_BEAM_SIZE": "2",
        "LIVECAST_MAX_CONCURRENT_SESSIONS": "2",
        "LIVECAST_SUMMARIES_URL": "http://elders:9/v1",
        "LIVECAST_SUMMARIES_MODEL": "qwen",
        "LIVECAST_SUMMARIES_API_KEY": "geheim",
    }
    flags = flag_overrides(model="/modellen/ct2", num_speakers=2, diarize=False, formats=["vtt"], language=None)
    assert flags == {"transcribe": {"model": "/modellen/ct2"}, "speakers": {"num_speakers": 2, "diarize": False},
                     "publish": {"formats": ["vtt"]}}  # fmt: skip
    settings = load_settings(config, flags, environ=environ)
    t, sp = settings.transcribe, settings.speakers
    assert (t.model, t.beam_size, t.language) == ("/modellen/ct2", 2, "de")  # flag, env, file
    assert (sp.num_speakers, sp.diarize, sp.max_speakers) == (2, False, 6)  # flags over the file, the file
    assert settings.publish.formats == ("vtt",) and settings.max_concurrent_sessions == 2
    summaries = settings.summaries
    assert summaries.generative_url == "http://127.0.0.1:8080/v1" and summaries.generative_model == "qwen"
    assert summaries.generative_api_key is not None and summaries.generative_api_key.get_secret_value() == "geheim"


def test_a_flag_names_one_setting_and_settings_made_in_code_read_no_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A flag's name must be one setting's (`keywords` is both a chapters and a summaries setting); only
    `load_settings` reads the `LIVECAST_*` settings and the working folder's file, never `Settings(...)`
    itself (tests, a deployment's `settings` parameter)."""
    with pytest.raises(KeyError, match="more than one"):
        flag_overrides(keywords=3)
    with pytest.raises(KeyError, match="no settings section"):
        flag_overrides(modle="small")
    monkeypatch.setenv("LIVECAST_MODEL", "small")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "livecast.toml").write_text('output_dir = "archief"\n', encoding="utf-8")
    assert Settings().transcribe.model == "bundled" and Settings().output_dir == Path("output")
    loaded = load_settings()
    assert loaded.transcribe.model == "small" and loaded.output_dir == Path("archief")


def test_a_deployment_worker_takes_the_chat_key_from_its_own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings a deployment passes as a flow parameter (validated on the worker, the key masked or left
    out) take the endpoint the parameter leaves unset from the worker's `LIVECAST_SUMMARIES_*`."""
    monkeypatch.setenv("LIVECAST_SUMMARIES_API_KEY", "geheim")
    monkeypatch.setenv("LIVECAST_SUMMARIES_MODEL", "qwen")
    parameter = {"output_dir": "/srv/output", "summaries": {"backend": "generative", "generative_model": "llama"}}
    summaries = Settings.model_validate(parameter).summaries
    assert summaries.generative_api_key is not None and summaries.generative_api_key.get_secret_value() == "geheim"
    assert summaries.generative_model == "llama"  # what the parameter says stays
    assert Settings().summaries.generative_model == "qwen"
    assert load_settings(environ={}).summaries.generative_api_key is None  # load_settings's environ only


def test_republishing_and_the_preview_follow_the_settings_stored_once_in_the_package(
    tmp_path: Path, hostile_audio_recording: Recording
) -> None:
    """The settings a run published with are kept once, in the package's private `package.json`; an edit
    republished (or previewed) lays out its captions by that copy (here a custom profile), whatever the
    republishing command's settings."""
    narrow = {"profile": "smal", "profiles": {"smal": {"max_line_chars": 24, "max_cps": 12.0}}}
    stored = load_settings(overrides={"subtitles": narrow}, environ={}).model_dump(mode="json")
    package = replace(hostile_package(hostile_audio_recording), provenance={"settings": stored})
    output, slug = tmp_path / "output", package.recording.slug
    publish_session(package, output, SETTINGS)
    private = workspace.session_private_dir(output, slug)
    kept = json.loads((private / outputs.PACKAGE_DATA.name()).read_text(encoding="utf-8"))
    assert kept["provenance"]["settings"]["subtitles"]["profile"] == "smal"
    text = "Dank u wel allemaal voor het komen, dan sluiten we deze middag nu echt af."
    update_edits(private, lambda e: ed.set_text(e, "s3", text, base_version=0, editor="Redactie"))
    preview = render_preview(output, slug, SETTINGS)
    folder = republish(output, slug, SETTINGS)
    assert (folder / outputs.SESSION_PAGE.name()).read_text(encoding="utf-8") == preview
    report = json.loads((private / outputs.SUBTITLE_REPORT.name()).read_text(encoding="utf-8"))
    assert (report["profile"]["name"], report["profile"]["max_line_chars"]) == ("smal", 24)
    edited = [
        line for line in (folder / "subtitles.nl.vtt").read_text(encoding="utf-8").splitlines() if "middag" in line
    ]
    assert edited and all(len(line) <= 24 for line in edited)
