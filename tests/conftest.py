"""Shared fixtures: the committed sample session and media files made with the real ffmpeg."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from livecastpipe.stages.ingest import ffmpeg_binary  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "media" / "cooperatieven-sample.mp4"
SAMPLE_SIDECAR = REPO / "media" / "cooperatieven-sample.yaml"

# Fixtures shared by several test modules, registered once here so that each expensive one (the sample
# transcribed by the real model, the published site) is set up once per run, not once per importing module.
pytest_plugins = ["tests.publish_fixtures", "tests.workbench_fixtures", "tests.browser_fixtures", "tests.chat_fixtures"]


def run_ffmpeg(*args: str) -> None:
    """Run the same ffmpeg the pipeline uses, failing the test on error."""
    subprocess.run([ffmpeg_binary(), "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def sample() -> Path:
    return SAMPLE


@pytest.fixture()
def sample_copy(tmp_path: Path) -> Path:
    """The sample session and its sidecar, copied into a fresh folder of their own."""
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / SAMPLE.name).write_bytes(SAMPLE.read_bytes())
    (folder / SAMPLE_SIDECAR.name).write_bytes(SAMPLE_SIDECAR.read_bytes())
    return folder / SAMPLE.name


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server (SQLite) for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def transcribed_and_repaired(recording, settings):  # type: ignore[no-untyped-def]
    """The transcript the flow makes of a recording, by the library alone: transcription with the
    session's names and terms, then the repair stage over the diarization's speech regions."""
    from livecastpipe.stages.diarization import find_speech
    from livecastpipe.stages.repair import check_transcript
    from livecastpipe.stages.terms import decoding_terms
    from livecastpipe.stages.transcribe import transcribe_file

    wav = Path(recording.audio_path)
    local = transcribe_file(wav, settings.transcribe, decoding_terms(recording.metadata))
    speech = find_speech(wav, settings.speakers)
    return check_transcript(local, wav, speech, settings.transcribe, recording.metadata)[0]
