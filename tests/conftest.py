"""Shared fixtures: the committed sample session and media files made with the real ffmpeg."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from filelock import FileLock

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The CLI's tables as a 120-column terminal shows them, in every test process: pytest-xdist's workers have no
# terminal, and Rich would otherwise size them to whatever terminal the first process was started from.
os.environ["COLUMNS"] = "120"

from livecastpipe.stages.ingest import ffmpeg_binary  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "media" / "cooperatieven-sample.mp4"
SAMPLE_SIDECAR = REPO / "media" / "cooperatieven-sample.yaml"

# Fixtures shared by several test modules, registered once here so that each expensive one (the sample
# transcribed by the real model, the published site) is set up once per run, not once per importing module.
pytest_plugins = ["tests.publish_fixtures", "tests.workbench_fixtures", "tests.browser_fixtures", "tests.chat_fixtures"]


Made = TypeVar("Made")


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], Made]) -> Made:
    """What `make` builds in a fresh folder, built once per test run even when the tests run in several
    processes (pytest-xdist): the first worker to ask builds it under a lock and leaves it pickled beside
    the workers' folders, the others wait and read it. Only for fixtures their tests treat as read-only."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return make(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent  # this run's folder, above each worker's own
    made = shared / f"{name}.pickle"
    with FileLock(str(shared / f"{name}.lock")):
        if not made.is_file():
            made.write_bytes(pickle.dumps(make(Path(tempfile.mkdtemp(prefix=f"{name}-", dir=shared)))))
        return pickle.loads(made.read_bytes())


def run_ffmpeg(*args: str) -> None:
    """Run the same ffmpeg the pipeline uses, failing the test on error."""
    subprocess.run([ffmpeg_binary(), "-v", "error", "-y", *args], check=True)


def livecast(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`livecast ARGUMENTS` as a user runs it in `cwd`: a Prefect home of its own there (so its own
    temporary server), stdout and stderr kept apart."""
    return subprocess.run(
        [sys.executable, "-m", "livecastpipe", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "PREFECT_HOME": str(cwd / "prefect-home")},
        cwd=cwd,
        timeout=600,
    )


@pytest.fixture()
def environment_kept() -> Iterator[None]:
    """For a test that runs `livecast run` in this process: what the command sets in its process's
    environment (Prefect's log level, when not verbose) is undone, or later tests' runs would inherit it."""
    saved = dict(os.environ)
    yield
    for name in set(os.environ) - set(saved):
        del os.environ[name]
    os.environ.update(saved)


@pytest.fixture(scope="session")
def sample() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server (SQLite) for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def short_sample_copy(tmp_path: Path) -> Path:
    """The sample's first 12 s under the sample's name, with its sidecar (title, speakers, glossary): the
    same session for a seventh of the work, for flow tests about what happens around a session."""
    folder = tmp_path / "media"
    folder.mkdir()
    run_ffmpeg("-i", str(SAMPLE), "-t", "12", "-c", "copy", str(folder / SAMPLE.name))
    shutil.copy(SAMPLE_SIDECAR, folder / SAMPLE_SIDECAR.name)
    return folder / SAMPLE.name


def timed_words(transcript: Any) -> list[tuple[str, float, float]]:
    """A transcript's words with their times (what the flow adds, speakers, left out)."""
    return [(w.text, w.start, w.end) for w in transcript.words]


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


def repeated_sample(media: Path, times: int) -> Path:
    """The sample session `times` over, as one recording with the sample's sidecar."""
    media.mkdir(parents=True, exist_ok=True)
    long_session = media / "lange-sessie.mp4"
    parts = media / "parts.txt"
    parts.write_text(f"file '{SAMPLE}'\n" * times)
    run_ffmpeg("-f", "concat", "-safe", "0", "-i", str(parts), "-c", "copy", str(long_session))
    parts.unlink()
    (media / "lange-sessie.yaml").write_bytes(SAMPLE_SIDECAR.read_bytes())
    return long_session


@dataclass(frozen=True)
class LongSample:
    """The sample twice over as one recording of about 3 minutes (two transcription blocks), and the
    transcript the library makes of it on its own: what a flow that spreads its blocks must give."""

    recording_file: Path
    settings: Any
    """The transcription settings (`TranscribeSettings`, two blocks at once) the reference was made with."""
    reference: Any
    """The `Transcript` by `transcribed_and_repaired`."""

    def copy_into(self, media: Path) -> Path:
        """The recording and its sidecar copied into a media folder of a test's own."""
        media.mkdir(parents=True, exist_ok=True)
        for source in (self.recording_file, self.recording_file.with_suffix(".yaml")):
            shutil.copy(source, media / source.name)
        return media / self.recording_file.name


@pytest.fixture(scope="session")
def long_sample(tmp_path_factory: pytest.TempPathFactory) -> LongSample:
    """The long sample and its reference transcript, made once per test run (the model's longest run) for
    the block-caching and Dask tests."""
    from livecastpipe.settings import Settings, TranscribeSettings
    from livecastpipe.stages.ingest import ingest

    def make(folder: Path) -> LongSample:
        long_session = repeated_sample(folder / "media", 2)
        settings = Settings(output_dir=folder / "out", transcribe=TranscribeSettings(parallel_blocks=2))
        recording = ingest(long_session, settings.resolved_cache_dir)
        return LongSample(long_session, settings.transcribe, transcribed_and_repaired(recording, settings))

    return made_once(tmp_path_factory, "long-sample", make)
