"""Prefect flows: `process_session` for one recording, `process_folder` for many.

Thin wrappers over the `livecastpipe` library. Every expensive stage is a task whose cache key is the
recording's SHA-256 plus the stage's settings, so a rerun of an unchanged session skips it.
Transcripts and other large values are passed `quote`d: Prefect then does not walk their thousands of
words at every task call, looking for futures among them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import ObjectAlreadyExists
from prefect.filesystems import LocalFileSystem
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run, task_run
from prefect.transactions import CommitMode, transaction
from prefect.utilities.annotations import quote

from livecastpipe import workspace
from livecastpipe.flows.caching import stage_cache_key
from livecastpipe.flows.editorial import summarize_and_review
from livecastpipe.flows.progress import TranscriptionProgress
from livecastpipe.flows.runners import block_task_runner, session_task_runner, stage_options, timed_out_stage
from livecastpipe.flows.speakers import diarize_task, remember_voices_task, speakers_and_chapters, speech_task
from livecastpipe.models import (
    Diarization,
    Recording,
    SessionResult,
    Transcript,
    is_url,
    title_slug,
    url_file_name,
)
from livecastpipe.package import outputs
from livecastpipe.package.catalogue import SiteNotRebuilt, publish_catalogue
from livecastpipe.package.publish import publish_session
from livecastpipe.package.store import SessionPackage, existing_slugs, place_recording
from livecastpipe.scheduling import output_name, output_name_groups, published_unchanged, same_content
from livecastpipe.settings import (
    PublishSettings,
    Settings,
    SubtitleSettings,
    TranscribeSettings,
    load_settings,
)
from livecastpipe.stages.diarization import engine_for, one_speaker
from livecastpipe.stages.download import DownloadError, ingest_source
from livecastpipe.stages.ingest import (
    IngestError,
    find_recordings,
    forget_decoded_audio,
    read_metadata,
)
from livecastpipe.stages.languages import dictionary
from livecastpipe.stages.media import prepare_media_ahead
from livecastpipe.stages.repair import TranscriptReport, check_transcript, report_json
from livecastpipe.stages.repair import report_markdown as transcript_report_markdown
from livecastpipe.stages.subtitle_report import report_markdown
from livecastpipe.stages.subtitles import subtitle_files
from livecastpipe.stages.terms import decoding_terms
from livecastpipe.stages.transcribe import (
    BlockTranscript,
    TranscriptionPlan,
    call_when_a_stream_frees,
    load_model,
    model_fingerprint,
    stream_count,
    transcribe_block,
    transcribe_file,
)
from livecastpipe.stages.translate import TRANSLATION_LANGUAGE, translate_file, translated_subtitle_files
from livecastpipe.storage import error_line

_STORAGE_SAVE_ATTEMPTS = 3
"""How often a session saves its result-storage block before it fails: a save loses a race only to
another session registering the same type, which a second save finds."""


def load_models_in_background(settings: Settings, paths: Sequence[str]) -> None:
    """Load the Whisper model, the diarization engine and the configured language's word list in a thread,
    while this process waits for Prefect's server to start, on a core that would otherwise wait too. Not a
    daemon: a run that ends early (an unreachable Prefect API) waits for it, as the interpreter crashed
    (SIGSEGV) when it was torn down under a model's native loading.

    A stage that needs one before it is loaded waits for it (the loaders hold locks); one that fails to
    load here fails again in its stage, with its error there. Sessions on Dask workers load their own.
    Nothing is loaded for a rerun of sessions published unchanged: their stages come from the cache (a URL
    among them is not known to be unchanged before it is downloaded).
    """
    if settings.task_runner != "threads":
        return
    if not any(is_url(p) for p in paths) and published_unchanged([Path(p) for p in paths], settings.output_dir):
        return

    def load() -> None:
        try:
            load_model(settings.transcribe)
            if settings.speakers.diarize:
                engine_for(settings.speakers)
            if settings.transcribe.language:
                dictionary(settings.transcribe.language)  # the repair stage's word list
        except Exception:  # reported by the stage that needs the model
            logging.getLogger(__name__).debug("loading the models ahead failed", exc_info=True)

    threading.Thread(target=load, name="livecast-load-models").start()


def _not_bad_input(task: Any, task_run: Any, state: Any) -> bool:
    """Retry transient failures only: bad input fails the same way every time."""
    try:
        state.result()
    except SiteNotRebuilt as exc:  # a fault of the file system may pass; content that cannot be published won't
        return not isinstance(exc.__cause__, ValueError)
    except DownloadError as exc:  # a dropped connection may pass; a 404 won't
        return exc.transient
    except (IngestError, ValueError):
        return False
    except Exception:
        return True
    return False


def _session_run_name() -> str:
    """`process-session/<slug>`: a session's runs are found in the UI by its slug (its title's, as ingest
    names its folder)."""
    return "process-session/" + _source_slug(flow_run.parameters["source"])


def _ingest_run_name() -> str:
    """`ingest/<slug>`, as the session's flow run."""
    return "ingest/" + _source_slug(task_run.parameters["source"])


def _source_slug(source: str) -> str:
    """The slug of a recording's title (its file name, or its URL's, without a title), before ingest reads it."""
    if is_url(source):
        return title_slug(Path(url_file_name(source)).stem)
    path = Path(source)
    try:
        title = read_metadata(path).title
    except IngestError:
        title = None
    return title_slug(title or path.stem)


@task(name="ingest", task_run_name=_ingest_run_name, retries=1, retry_condition_fn=_not_bad_input)
def ingest_task(source: str, cache_dir: str, taken_slugs: dict[str, str]) -> Recording:
    """Probe, hash and decode one recording, downloaded first when it is named by a URL (decoded audio and
    downloads are reused when already in the cache)."""
    return ingest_source(source, Path(cache_dir), taken_slugs)


@task(
    name="transcribe-block",
    task_run_name="transcribe-block/{recording.slug}/{index}",
    retries=1,
    retry_condition_fn=_not_bad_input,
    cache_key_fn=stage_cache_key(
        "transcribe-block",
        lambda p: (
            p["index"],
            p["plan"].blocks[p["index"]],
            model_fingerprint(p["settings"]),
            decoding_terms(p["recording"].metadata),
        ),
    ),
    persist_result=True,
)
def transcribe_block_task(
    recording: Recording,
    settings: TranscribeSettings,
    plan: TranscriptionPlan,
    index: int,
    progress: TranscriptionProgress,
) -> BlockTranscript:
    """Transcribe one block of a recording, reporting the recording's seconds transcribed by all its blocks
    (`progress`); a rerun after a killed run redoes only the unfinished blocks."""

    def block_progress(seconds: float) -> None:
        progress.block_progress(recording, index, seconds)

    return transcribe_block(
        Path(recording.audio_path), plan, index, settings, decoding_terms(recording.metadata), block_progress
    )


@task(
    name="transcribe",  # no retries of its own: each block retries a transient failure
    task_run_name="transcribe/{recording.slug}",
    # Only the transcription settings count: where the blocks run does not change the transcript.
    cache_key_fn=stage_cache_key(
        "transcribe",
        lambda p: (model_fingerprint(p["settings"].transcribe), decoding_terms(p["recording"].metadata)),
        settings_of=lambda parameters: parameters["settings"].transcribe,
    ),
    persist_result=True,
)
def transcribe_task(
    recording: Recording,
    settings: Settings,
    storage: str,
    progress: TranscriptionProgress,
    stream_free: threading.Event | None = None,
) -> Transcript:
    """Transcribe the recording with its blocks as tasks of their own: in threads of this process, or
    spread over the Dask cluster (`block_task_runner`). Progress is reported in audio seconds (`progress`);
    `stream_free` is set once a transcription stream has no block left, for the diarization waiting on it."""
    block_task = transcribe_block_task.with_options(
        result_storage=storage, **stage_options(settings, "transcribe-block")
    )

    def run_blocks(plan: TranscriptionPlan) -> list[BlockTranscript]:
        try:
            # Eager commits keep each block's result as soon as it is done, even when another block then
            # fails (inside this task's transaction they would wait for its end, and be lost with it).
            with transaction(commit_mode=CommitMode.EAGER), block_task_runner(settings) as runner:
                futures = [
                    runner.submit(
                        block_task,
                        {
                            "recording": recording,
                            "settings": settings.transcribe,
                            "plan": plan,
                            "index": index,
                            "progress": progress,
                        },
                    )
                    for index in range(len(plan.blocks))
                ]
                if stream_free is not None:
                    call_when_a_stream_frees(futures, stream_count(settings.transcribe), stream_free.set)
                return [future.result() for future in futures]
        finally:
            progress.blocks_ended(recording)

    transcript = transcribe_file(
        Path(recording.audio_path), settings.transcribe, decoding_terms(recording.metadata), run_blocks=run_blocks
    )
    progress.transcribed(recording)
    for warning in transcript.warnings:
        get_run_logger().warning("%s: %s", recording.source, warning)
    return transcript


@task(
    name="translate",
    task_run_name="translate/{recording.slug}",
    retries=1,
    retry_condition_fn=_not_bad_input,
    cache_key_fn=stage_cache_key(
        "translate",
        lambda p: (model_fingerprint(p["settings"].transcribe), p["settings"].subtitles.fingerprint()),
        settings_of=lambda parameters: parameters["settings"].transcribe,
    ),
    persist_result=True,
)
def translate_task(recording: Recording, settings: Settings) -> dict[str, str]:
    """English subtitles (file name → content) from Whisper's translate task over the decoded audio, with the
    model that transcribed it; cached on the recording, the model and the subtitle profile."""
    translation = translate_file(Path(recording.audio_path), settings.transcribe)
    return translated_subtitle_files(translation, settings.subtitles)


def submit_translation(
    recording: Recording, transcript: Transcript, settings: Settings, storage: str
) -> PrefectFuture[dict[str, str]] | None:
    """Start the English translation beside the later stages, when asked for (`[transcribe] translate`) and
    the speech is not English already (None otherwise)."""
    if settings.transcribe.translate is None:
        return None
    if transcript.language == TRANSLATION_LANGUAGE:
        get_run_logger().info("%s: the speech is English: no translation into English", recording.source)
        return None
    return translate_task.with_options(result_storage=storage, **stage_options(settings, "translate")).submit(
        recording, settings
    )


@task(
    name="repair",
    cache_key_fn=stage_cache_key(
        "repair", lambda p: (p["transcript"], p["speech"], p["recording"].metadata, model_fingerprint(p["settings"]))
    ),
    persist_result=True,
)
def repair_task(
    recording: Recording,
    transcript: Transcript,
    speech: tuple[tuple[float, float], ...],
    settings: TranscribeSettings,
) -> tuple[Transcript, TranscriptReport]:
    """Repair loops, text without speech and speech without text, spell the session's names and terms
    right and flag the words to check; only the stretches that need it are decoded again."""
    return check_transcript(transcript, Path(recording.audio_path), speech, settings, recording.metadata)


def repaired(
    recording: Recording,
    transcript: Transcript,
    speech: tuple[tuple[float, float], ...],
    settings: Settings,
    storage: str,
) -> tuple[Transcript, dict[str, str]]:
    """The repaired transcript and its report file; the report is also the run's markdown artifact."""
    fixed, report = repair_task.with_options(result_storage=storage)(
        recording, quote(transcript), speech, settings.transcribe
    )
    create_markdown_artifact(
        key=f"transcript-report-{recording.slug}",
        markdown=transcript_report_markdown(report),
        description=f"Transcript repairs of {recording.title}",
    )
    return fixed, {outputs.TRANSCRIPT_REPORT.name(): report_json(report)}


@task(
    name="subtitles",
    task_run_name="subtitles/{recording.slug}",
    cache_key_fn=stage_cache_key("subtitles", lambda p: (p["transcript"], p["speaker_names"])),
    persist_result=True,
)
def subtitles_task(
    recording: Recording, transcript: Transcript, speaker_names: dict[str, str], settings: SubtitleSettings
) -> dict[str, str]:
    """Captions, subtitles and their quality report (file name → content) from the word timestamps."""
    return subtitle_files(transcript, speaker_names, settings)


def submit_subtitles(
    recording: Recording,
    transcript: Transcript,
    speaker_names: dict[str, str],
    settings: Settings,
    result_storage: str,
) -> PrefectFuture[dict[str, str]]:
    """Start the cached subtitles task in a thread of its own: it runs beside the summaries."""
    return subtitles_task.with_options(result_storage=result_storage, **stage_options(settings, "subtitles")).submit(
        recording, quote(transcript), speaker_names, settings.subtitles
    )


def subtitle_outputs(recording: Recording, subtitles: PrefectFuture[dict[str, str]]) -> dict[str, str]:
    """Wait for the subtitles, then publish their quality report as a markdown artifact."""
    files = subtitles.result()
    create_markdown_artifact(
        key=f"subtitle-report-{recording.slug}",
        markdown=report_markdown(json.loads(files["subtitle-report.json"])),
        description=f"Subtitle quality report of {recording.title}",
    )
    return files


@task(name="media", task_run_name="media/{recording.slug}", retries=1, retry_condition_fn=_not_bad_input)
def media_task(recording: Recording, output_dir: Path, settings: PublishSettings) -> str | None:
    """Make the replay's media (web video, audio copy, poster) at low CPU priority while transcription runs;
    None when the published package's media can be reused."""
    folder = prepare_media_ahead(recording, output_dir, settings)
    return str(folder) if folder else None


@task(name="publish", task_run_name="publish/{package.recording.slug}", retries=1, retry_condition_fn=_not_bad_input)
def publish_task(package: SessionPackage, settings: Settings, prepared_media: str | None = None) -> str:
    """Render the session's replay package into a temporary folder and swap it in atomically."""
    package = replace(package, provenance={**package.provenance, "settings": settings.model_dump(mode="json")})
    folder = publish_session(
        package,
        settings.output_dir,
        settings.publish,
        settings.review.publish_unreviewed,
        Path(prepared_media) if prepared_media else None,
    )
    return str(folder)


@task(name="catalogue", retries=1, retry_condition_fn=_not_bad_input)
def catalogue_task(settings: Settings) -> str:
    """Rebuild the catalogue page, its Pagefind search index and the podcast feed."""
    return str(publish_catalogue(settings.output_dir, settings.publish))


def _result_storage(settings: Settings) -> str:
    """A saved LocalFileSystem block under the cache folder, where cached stage results are kept.
    Sessions starting at once in other processes (Dask workers) register the block's type together:
    Prefect reads, then creates, so the one that loses is told it exists and saves again, finding it."""
    basepath = (settings.resolved_cache_dir / "results").resolve()
    name = "livecast-results-" + hashlib.sha256(str(basepath).encode()).hexdigest()[:12]
    for attempt in range(_STORAGE_SAVE_ATTEMPTS):
        try:
            LocalFileSystem(basepath=str(basepath)).save(name, overwrite=True)
            break
        except ObjectAlreadyExists:
            if attempt == _STORAGE_SAVE_ATTEMPTS - 1:
                raise
    return f"local-file-system/{name}"


def _transcribe_and_diarize(
    recording: Recording,
    settings: Settings,
    storage: str,
    speech: PrefectFuture[tuple[tuple[float, float], ...]],
    progress: TranscriptionProgress,
) -> tuple[Transcript, Diarization]:
    """Transcription, and the diarization, which needs only the audio: it starts when a transcription
    stream has no block left, on the core that stream leaves free, or with transcription when
    `diarize_beside_transcription` (more memory). With the blocks on Dask, it waits for transcription:
    a transcription submitted to a thread could not send its blocks there. Told not to diarize
    (`speakers.diarize` off), no diarization runs: the recording is one speaker's."""
    transcribe = transcribe_task.with_options(result_storage=storage, **stage_options(settings, "transcribe"))
    if not settings.speakers.diarize:
        return transcribe(recording, settings, storage, progress), one_speaker(recording.media.duration)
    diarize = diarize_task.with_options(result_storage=storage, **stage_options(settings, "diarize"))
    if settings.diarize_beside_transcription:
        beside = diarize.submit(recording, settings.speakers, speech)
        return transcribe(recording, settings, storage, progress), beside.result()
    if settings.task_runner == "dask":
        transcript = transcribe(recording, settings, storage, progress)
        return transcript, diarize(recording, settings.speakers, speech.result())
    stream_free = threading.Event()
    transcribing = transcribe.submit(recording, settings, storage, progress, stream_free)
    transcribing.add_done_callback(lambda _: stream_free.set())  # also when cached, or failed
    stream_free.wait()
    diarization = diarize(recording, settings.speakers, speech.result())
    return transcribing.result(), diarization


@flow(name="process-session", flow_run_name=_session_run_name, log_prints=True)
def process_session(
    source: str,
    settings: Settings | None = None,
    taken_slugs: dict[str, str] | None = None,
    progress: TranscriptionProgress | None = None,
) -> SessionResult:
    """Ingest, transcribe and write one recording's outputs; transcription progress goes to `progress`
    (the run's: `process_folder` passes its own)."""
    settings = settings or load_settings()
    if taken_slugs is None:  # run on its own (a deployment): never take another session's folder
        workspace.migrate_workspace(settings.output_dir)
        taken_slugs = existing_slugs(settings.output_dir)
    recording = ingest_task.with_options(**stage_options(settings, "ingest"))(
        source, str(settings.resolved_cache_dir), taken_slugs
    )
    placement = place_recording(settings.output_dir, recording, settings.replace_recordings)
    if placement.refusal is not None:
        forget_decoded_audio(recording)
        raise IngestError(source, placement.refusal)
    if placement.update is not None:
        get_run_logger().info("%s: %s", source, placement.update)
    if placement.copies is not None:
        get_run_logger().warning("%s: %s", source, placement.copies)
    return _process_recording(
        source, placement.recording, settings, placement.notes, progress or TranscriptionProgress()
    )


def _process_recording(
    source: str, recording: Recording, settings: Settings, notes: tuple[str, ...], progress: TranscriptionProgress
) -> SessionResult:
    """Everything after ingest: the stages, publishing, then the voice library."""
    storage = _result_storage(settings)
    media = media_task.with_options(**stage_options(settings, "media")).submit(
        recording, settings.output_dir, settings.publish
    )
    speech = speech_task.with_options(result_storage=storage, **stage_options(settings, "speech")).submit(
        recording, settings.speakers
    )
    transcript, diarization = _transcribe_and_diarize(recording, settings, storage, speech, progress)
    translation = submit_translation(recording, transcript, settings, storage)
    transcript, report_files = repaired(recording, transcript, speech.result(), settings, storage)
    spoken = speakers_and_chapters(recording, transcript, diarization, settings, storage)
    transcript = spoken.transcript
    subtitles = submit_subtitles(recording, transcript, spoken.names, settings, storage)
    editorial = summarize_and_review(recording, transcript, spoken.chapters, spoken.speakers, settings, storage)
    package = SessionPackage(
        recording,
        transcript,
        spoken.speakers,
        spoken.chapters,
        stage_files={
            **report_files,
            **spoken.files,
            **subtitle_outputs(recording, subtitles),
            **editorial.files,
            **(translation.result() if translation is not None else {}),
        },
        provenance={"diarization": {"engine": diarization.engine, "speaker_count": diarization.speaker_count_source}},
    )
    prepared = media.result(raise_on_failure=False)  # when it failed, publishing makes the media and says why
    folder = publish_task.with_options(**stage_options(settings, "publish"))(
        quote(package), settings, prepared if isinstance(prepared, str) else None
    )
    remember_voices_task(recording, spoken.speakers, quote(diarization), settings)
    return SessionResult(
        source=source,
        status="done",
        slug=recording.slug,
        title=recording.title,
        duration=recording.media.duration,
        output_dir=folder,
        language=transcript.language,
        warnings=notes + transcript.warnings + spoken.notes + editorial.warnings,
    )


def results_table(results: Sequence[SessionResult]) -> str:
    """The end-of-run table as Markdown: session, duration, status, output folder or error."""
    rows = ["| session | duration | status | output |", "|---|---|---|---|"]
    for r in results:
        duration = f"{int(r.duration // 60)}:{int(r.duration % 60):02d}" if r.duration else "–"
        where = r.output_dir if r.status == "done" else r.error
        cell = (where or "").replace("|", "\\|")
        rows.append(f"| {r.title or Path(r.source).name} | {duration} | {r.status} | {cell} |")
    return "\n".join(rows)


def same_session_in_run(source: str, done: Sequence[SessionResult]) -> str | None:
    """Why `source` is not processed after the sessions this run made (one of its name, or one from the same
    recording under another name), in one line; None when it makes a session of its own."""
    for result in done:
        if output_name(result.source) == output_name(source):
            return (
                f"{source}: same session name '{result.slug}' as {result.source}, processed in this run: give one "
                "of them another file name or title (a run makes one session per name)"
            )
        if same_content(result.source, source):
            return (
                f"{source}: the same recording as {result.source} (same content), processed in this run as session "
                f"'{result.slug}': a run makes one session per recording, so remove one of the copies"
            )
    return None


@task(name="process-sessions", cache_policy=NO_CACHE)
def process_sessions_task(
    sources: list[str], settings: Settings, taken_slugs: dict[str, str], progress: TranscriptionProgress
) -> list[SessionResult]:
    """Run `process_session` for recordings that could make one session (`output_name_groups`), one after
    another, reporting their transcription to the run's `progress`; failures become results.

    Once one of them is done, a later one of its name or its content fails, naming it: one run makes one
    session per name and per recording."""
    # Imported, not captured: a Dask worker then runs the installed flow, whose type hints resolve,
    # instead of a pickled copy of it.
    from livecastpipe.flows.pipeline import process_session as installed_process_session

    logger = get_run_logger()
    taken = dict(taken_slugs)
    results: list[SessionResult] = []
    for source in sources:
        if (message := same_session_in_run(source, [r for r in results if r.status == "done"])) is not None:
            logger.error(message)
            results.append(SessionResult(source=source, status="failed", error=message))
            continue
        # Eager commits store each stage's result as soon as it is done: inside this task's transaction
        # they would wait for its end, and a killed run would lose them all (its rerun redoing every stage).
        with transaction(commit_mode=CommitMode.EAGER):
            state = installed_process_session(source, settings, dict(taken), progress, return_state=True)
        outcome = state.result(raise_on_failure=False)
        if isinstance(outcome, SessionResult):
            results.append(outcome)
            taken.update(existing_slugs(settings.output_dir))
        else:
            if timed_out := timed_out_stage(outcome):
                stage, seconds = timed_out
                message = (
                    f"{source}: the {stage} stage ran past its time limit of {seconds:g} s "
                    f"([stages] timeout_s.{stage} in the settings)"
                )
            elif isinstance(outcome, IngestError):
                message = str(outcome)
            else:
                message = f"{source}: {error_line(outcome)}"
            logger.error(message)
            results.append(SessionResult(source=source, status="failed", error=message))
    return results


@flow(name="process-folder")
def process_folder(
    paths: list[str], settings: Settings | None = None, progress: TranscriptionProgress | None = None
) -> list[SessionResult]:
    """Process every recording under the given files and folders; one failure never stops the others.

    Up to `max_concurrent_sessions` sessions run at once, in threads or on Dask (`task_runner`). The
    transcription of sessions in this process is reported to `progress` (the CLI's progress bars): an
    object, not the reporter itself, as Prefect sends a flow's parameters with its tasks to Dask workers.
    """
    settings = settings or load_settings()
    transcription = progress or TranscriptionProgress()
    logger = get_run_logger()
    for moved in workspace.migrate_workspace(settings.output_dir):
        logger.info("moved to the site/private layout: %s", moved)
    with workspace.run_lock(settings.output_dir, settings.resolved_cache_dir) as removed:
        for leftover in removed:
            logger.info("removed a leftover of a run that died: %s", leftover)
        results: list[SessionResult] = []
        sources: list[str] = []
        for path in paths:
            if is_url(path):
                sources.append(path)
                continue
            try:
                sources.extend(str(p) for p in find_recordings([Path(path)]))
            except IngestError as exc:
                logger.error(str(exc))
                results.append(SessionResult(source=path, status="failed", error=str(exc)))
        taken = existing_slugs(settings.output_dir)
        groups = output_name_groups(sources)
        session_results: list[SessionResult] = []
        with session_task_runner(settings, len(groups)) as runner:
            futures = [
                runner.submit(
                    process_sessions_task,
                    {"sources": group, "settings": settings, "taken_slugs": taken, "progress": transcription},
                )
                for group in groups
            ]
            for group, future in zip(groups, futures):
                try:
                    outcome = future.result(raise_on_failure=False)
                except Exception as exc:  # Dask raises when the worker running the group died
                    outcome = exc
                if isinstance(outcome, list):
                    session_results.extend(outcome)
                else:
                    logger.error("%s: %s", ", ".join(group), outcome)
                    session_results.extend(
                        SessionResult(source=s, status="failed", error=f"{s}: {outcome}") for s in group
                    )
        results.extend(sorted(session_results, key=lambda r: sources.index(r.source)))
        site_error = None
        if any(r.status == "done" for r in results):
            catalogue = catalogue_task.with_options(**stage_options(settings, "catalogue"))(settings, return_state=True)
            if catalogue.is_failed():
                site_error = site_not_rebuilt(catalogue.result(raise_on_failure=False))
                logger.error(str(site_error))
        create_markdown_artifact(
            key="livecast-run-summary",
            markdown="# livecast run\n\n" + results_table(results) + (f"\n\n**{site_error}**" if site_error else ""),
            description="Sessions processed in this run",
        )
    if site_error is not None:
        raise SiteNotPublished(site_error, results)
    return results


class SiteNotPublished(Exception):
    """The run's sessions ended (see `results`), but the site around them was not rebuilt: the run failed,
    with the one line of `SiteNotRebuilt`."""

    def __init__(self, error: SiteNotRebuilt, results: list[SessionResult]) -> None:
        super().__init__(str(error))
        self.error = error
        self.results = results

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its error and results (Prefect keeps a failed run's exception)."""
        return (type(self), (self.error, self.results))


def site_not_rebuilt(outcome: object) -> SiteNotRebuilt:
    """The failed catalogue stage's outcome as one line naming the part of the site and the problem."""
    if isinstance(outcome, SiteNotRebuilt):
        return outcome
    return SiteNotRebuilt("catalogue", error_line(outcome) if isinstance(outcome, BaseException) else str(outcome))
