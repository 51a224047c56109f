"""Prefect flows: `process_session` for one recording, `process_folder` for many.

Thin wrappers over the `livecastpipe` library. Every expensive stage is a task whose cache key is the
recording's SHA-256 plus the stage's settings, so a rerun of an unchanged session skips it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.context import TaskRunContext
from prefect.filesystems import LocalFileSystem

from livecastpipe import __version__
from livecastpipe.ingest import IngestError, find_recordings, ingest, load_audio
from livecastpipe.models import Recording, Transcript, to_jsonable, to_json
from livecastpipe.settings import Settings, TranscribeSettings, load_settings
from livecastpipe.storage import atomic_write_text
from livecastpipe.transcribe import transcribe_audio, transcript_text

ProgressReporter = Callable[[str, float, float], None]
"""Called with (session source, seconds transcribed, total seconds)."""

_progress_reporters: list[ProgressReporter] = []


def add_progress_reporter(reporter: ProgressReporter) -> None:
    """Receive transcription progress of every session run in this process (the CLI's progress bars)."""
    _progress_reporters.append(reporter)


def remove_progress_reporter(reporter: ProgressReporter) -> None:
    _progress_reporters.remove(reporter)


def _report(source: str, done: float, total: float) -> None:
    for reporter in list(_progress_reporters):
        reporter(source, done, total)


@dataclass(frozen=True)
class SessionResult:
    """How one session ended: where its output is, or why it failed."""

    source: str
    status: str
    slug: str | None = None
    title: str | None = None
    duration: float | None = None
    output_dir: str | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()


def _stage_cache_key(stage: str) -> Callable[[TaskRunContext, dict[str, Any]], str]:
    def key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
        recording: Recording = parameters["recording"]
        settings: TranscribeSettings = parameters["settings"]
        return f"{stage}-{__version__}-{recording.sha256}-{settings.fingerprint()}"

    return key


def _not_bad_input(task: Any, task_run: Any, state: Any) -> bool:
    """Retry transient failures only: bad input fails the same way every time."""
    try:
        state.result()
    except (IngestError, ValueError):
        return False
    except Exception:
        return True
    return False


@task(name="ingest", retries=1, retry_condition_fn=_not_bad_input)
def ingest_task(source: str, cache_dir: str, taken_slugs: dict[str, str]) -> Recording:
    """Probe, hash and decode one recording (decoded audio is reused when already in the cache)."""
    return ingest(Path(source), Path(cache_dir), taken_slugs)


@task(
    name="transcribe",
    retries=1,
    retry_condition_fn=_not_bad_input,
    cache_key_fn=_stage_cache_key("transcribe"),
    persist_result=True,
)
def transcribe_task(recording: Recording, settings: TranscribeSettings) -> Transcript:
    """Transcribe the decoded audio with faster-whisper, reporting progress in audio seconds."""
    total = recording.media.duration

    def progress(done: float) -> None:
        _report(recording.source, min(done, total), total)

    transcript = transcribe_audio(
        load_audio(Path(recording.audio_path)), settings, recording.metadata.glossary, progress
    )
    for warning in transcript.warnings:
        get_run_logger().warning("%s: %s", recording.source, warning)
    return transcript


@task(name="write-outputs", retries=2)
def write_outputs_task(recording: Recording, transcript: Transcript, output_dir: str) -> str:
    """Write the session's files into its output folder, each one atomically."""
    folder = Path(output_dir) / recording.slug
    atomic_write_text(folder / "transcript.json", to_json(transcript))
    atomic_write_text(folder / "transcript.txt", transcript_text(transcript))
    manifest = {"recording": to_jsonable(recording), "livecastpipe": __version__}
    manifest["recording"].pop("audio_path")
    atomic_write_text(folder / "session.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return str(folder)


def _result_storage(settings: Settings) -> str:
    """A saved LocalFileSystem block under the cache folder, where cached stage results are kept."""
    basepath = (settings.resolved_cache_dir / "results").resolve()
    name = "livecast-results-" + hashlib.sha256(str(basepath).encode()).hexdigest()[:12]
    LocalFileSystem(basepath=str(basepath)).save(name, overwrite=True)
    return f"local-file-system/{name}"


@flow(name="process-session", log_prints=True)
def process_session(
    source: str,
    settings: Settings | None = None,
    taken_slugs: dict[str, str] | None = None,
) -> SessionResult:
    """Ingest, transcribe and write one recording's outputs."""
    settings = settings or load_settings()
    recording = ingest_task(source, str(settings.resolved_cache_dir), taken_slugs or {})
    transcript = transcribe_task.with_options(result_storage=_result_storage(settings))(
        recording, settings.transcribe
    )
    folder = write_outputs_task(recording, transcript, str(settings.output_dir))
    return SessionResult(
        source=source,
        status="done",
        slug=recording.slug,
        title=recording.title,
        duration=recording.media.duration,
        output_dir=folder,
        warnings=transcript.warnings,
    )


def existing_slugs(output_dir: Path) -> dict[str, str]:
    """Slugs already used in the output folder, mapped to the recording hash that owns each."""
    taken: dict[str, str] = {}
    for manifest in output_dir.glob("*/session.json"):
        try:
            taken[manifest.parent.name] = json.loads(manifest.read_text())["recording"]["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return taken


def results_table(results: Sequence[SessionResult]) -> str:
    """The end-of-run table as Markdown: session, duration, status, output folder or error."""
    rows = ["| session | duration | status | output |", "|---|---|---|---|"]
    for r in results:
        duration = f"{int(r.duration // 60)}:{int(r.duration % 60):02d}" if r.duration else "–"
        where = r.output_dir if r.status == "done" else r.error
        cell = (where or "").replace("|", "\\|")
        rows.append(f"| {r.title or Path(r.source).name} | {duration} | {r.status} | {cell} |")
    return "\n".join(rows)


@flow(name="process-folder")
def process_folder(paths: list[str], settings: Settings | None = None) -> list[SessionResult]:
    """Process every recording under the given files and folders; one failure never stops the others."""
    settings = settings or load_settings()
    logger = get_run_logger()
    results: list[SessionResult] = []
    sources: list[str] = []
    for path in paths:
        try:
            sources.extend(str(p) for p in find_recordings([Path(path)]))
        except IngestError as exc:
            logger.error(str(exc))
            results.append(SessionResult(source=path, status="failed", error=str(exc)))
    taken = existing_slugs(settings.output_dir)
    for source in sources:
        state = process_session(source, settings, dict(taken), return_state=True)
        outcome = state.result(raise_on_failure=False)
        if isinstance(outcome, SessionResult):
            results.append(outcome)
            taken.update(existing_slugs(settings.output_dir))
        else:
            message = str(outcome) if isinstance(outcome, IngestError) else f"{source}: {outcome}"
            logger.error(message)
            results.append(SessionResult(source=source, status="failed", error=message))
    create_markdown_artifact(
        key="livecast-run-summary",
        markdown="# livecast run\n\n" + results_table(results),
        description="Sessions processed in this run",
    )
    return results
