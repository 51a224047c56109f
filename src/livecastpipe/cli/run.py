"""`livecast run`: the pipeline over recordings, with progress bars, the summary and the unchanged path.

Its own module, light to import: `python -m livecastpipe run` builds the command line from this module
alone (`run_only_app`), without the other commands' imports (the editors' review, speakers, workbench:
numpy, PyAV, faster-whisper), so that a rerun with nothing to do is done in about a second.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from livecastpipe.cli.support import ConfigOption, err_console, fail
from livecastpipe.package import outputs
from livecastpipe.settings import Settings, SettingsError, flag_overrides, load_settings
from livecastpipe.timefmt import minutes_and_seconds

if TYPE_CHECKING:
    from livecastpipe.flows.server import TemporaryServer
    from livecastpipe.models import SessionResult


def _quiet_prefect(verbose: bool) -> None:
    """Embedded Prefect, telemetry off; its logs only when asked, so progress bars stay readable."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
        os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")


ModelOption = Annotated[
    Optional[str], typer.Option(help="'bundled', a faster-whisper model name or a CTranslate2 folder.")
]
LanguageOption = Annotated[
    Optional[str], typer.Option(help="Spoken language (default: nl); names the files and metadata too.")
]
AllowDownloadOption = Annotated[
    bool, typer.Option("--allow-download", help="Let a named model be fetched from the model hub.")
]
DeviceOption = Annotated[Optional[str], typer.Option(help="Where the model runs: cpu, cuda or auto.")]
ComputeTypeOption = Annotated[
    Optional[str], typer.Option(help="CTranslate2 compute type: int8, float16, int8_float16, float32, …")
]
HotwordsOption = Annotated[Optional[str], typer.Option(help="Words to listen for, beside each glossary.")]
InitialPromptOption = Annotated[
    Optional[str],
    typer.Option(
        "--initial-prompt", "--initial_prompt", help="Text preceding the audio: spelling and style to follow."
    ),
]
BeamSizeOption = Annotated[
    Optional[int], typer.Option("--beam-size", "--beam_size", min=1, help="Beams searched while decoding (default 5).")
]
BatchSizeOption = Annotated[
    Optional[int],
    typer.Option("--batch-size", "--batch_size", min=1, help="30 s speech chunks decoded at a time (default 8)."),
]
TranslateOption = Annotated[
    Optional[str],
    typer.Option(
        help="Also English subtitles, machine-translated by Whisper's translate task: 'en' (the only target)."
    ),
]
RunOutputOption = Annotated[
    Optional[Path],
    typer.Option("--output", "-o", "--output-dir", "--output_dir", help="Output folder (default: output)."),
]
NumSpeakersOption = Annotated[
    Optional[int], typer.Option(help="Speakers per recording, where its metadata states none.")
]
MinSpeakersOption = Annotated[Optional[int], typer.Option(help="At least this many speakers (estimated count).")]
MaxSpeakersOption = Annotated[Optional[int], typer.Option(help="At most this many speakers (estimated count).")]
NoDiarizeOption = Annotated[
    bool,
    typer.Option(
        "--no-diarize", help="Skip the diarization (no speaker-embedding model, no time spent): one speaker throughout."
    ),
]
OutputFormatOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--output-format",
        "--output_format",
        help="Write only these transcript and subtitle formats: "
        f"{', '.join(outputs.OUTPUT_FORMATS)} or {outputs.ALL_FORMATS} (the default; repeatable; "
        "publish.formats). The player's WebVTT tracks and transcript.json are always written; the "
        "page and the feeds offer what was written; --json lists the files under 'files'.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the run summary as JSON on stdout.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summary; errors only.")]
ReplaceOption = Annotated[
    bool,
    typer.Option(
        "--replace",
        help="A recording with other content under a published session's file name or title replaces it there.",
    ),
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")]


def run(
    context: typer.Context,
    paths: Annotated[
        list[str], typer.Argument(help="Recordings, folders of recordings, or URLs (media files, HLS playlists).")
    ],
    output: RunOutputOption = None,
    config: ConfigOption = None,
    model: ModelOption = None,
    language: LanguageOption = None,
    allow_download: AllowDownloadOption = False,
    device: DeviceOption = None,
    compute_type: ComputeTypeOption = None,
    hotwords: HotwordsOption = None,
    initial_prompt: InitialPromptOption = None,
    beam_size: BeamSizeOption = None,
    batch_size: BatchSizeOption = None,
    translate: TranslateOption = None,
    num_speakers: NumSpeakersOption = None,
    min_speakers: MinSpeakersOption = None,
    max_speakers: MaxSpeakersOption = None,
    no_diarize: NoDiarizeOption = False,
    output_format: OutputFormatOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    replace_recordings: ReplaceOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Process recordings with the Prefect flow; exit 1 when any session failed or the site around them
    (catalogue, search index, feeds) was not rebuilt. Whisper's own flag spellings are accepted too
    (`--initial_prompt`, `--output_format`, `-o`/`--output_dir`, `--beam_size`, `--batch_size`).

    Progress and the summary table go to stderr; stdout holds only what was asked for (--json).
    """
    _quiet_prefect(verbose)
    known_formats = (*outputs.OUTPUT_FORMATS, outputs.ALL_FORMATS)
    unknown_formats = sorted(set(output_format or ()) - set(known_formats))
    if unknown_formats:
        raise fail(f"--output-format: unknown {', '.join(unknown_formats)} (known: {', '.join(known_formats)})", 2)
    flags = flag_overrides(
        output_dir=output,
        replace_recordings=replace_recordings or None,
        formats=output_format or None,
        model=model,
        language=language,
        allow_download=allow_download or None,
        device=device,
        compute_type=compute_type,
        hotwords=hotwords,
        initial_prompt=initial_prompt,
        beam_size=beam_size,
        batch_size=batch_size,
        translate=translate,
        diarize=False if no_diarize else None,
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
    )
    try:
        settings = load_settings(config, flags)
    except SettingsError as exc:
        raise fail(str(exc), 2) from exc
    results, site_error, published = _unchanged_or_processed(paths, settings, quiet, context.obj)
    if json_output:
        records = [dataclasses.asdict(r) | {"files": _format_files(r)} for r in results]
        print(json.dumps(records, ensure_ascii=False, indent=2))
    if not quiet:
        _print_summary(results, site_error)
        if published and any(r.status == "done" for r in results):  # feeds and oEmbed were written
            warn_about_settings(settings)
    _exit_on_failures(results, site_error)


def warn_about_settings(settings: Settings) -> None:
    """One `warning:` line per publishing setting whose absence leaves the feeds or embeds unusable."""
    from rich.markup import escape

    from livecastpipe.package.discovery import settings_warnings

    for warning in settings_warnings(settings.publish):
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


def _unchanged_or_processed(
    paths: list[str], settings: Settings, quiet: bool, early_server: TemporaryServer | None
) -> tuple[list[SessionResult], str | None, bool]:
    """The last run's results, said in one line, when this run would change nothing (`unchanged`: same
    recordings, sidecars, settings and code, its output untouched); else the flow's, recorded for the next
    run when every session was published and the site rebuilt. The flag: whether this run published (the
    settings' warnings were given by the run that did)."""
    from livecastpipe.unchanged import record_run, run_inputs, unchanged_results

    inputs = run_inputs(paths, settings)
    recorded = unchanged_results(inputs, settings) if inputs is not None else None
    if recorded is not None:
        if early_server is not None:  # not needed: killed at once rather than asked to stop
            early_server.process.kill()
            early_server.process.wait()
        if not quiet:
            err_console.print(
                "unchanged since the last run (same recordings, sidecars, settings and code; its output "
                "untouched): nothing to do",
                highlight=False,
            )
        return recorded, None, False
    results, site_error = _process_with_progress(paths, settings, quiet, early_server)
    if inputs is not None and results and site_error is None and all(r.status == "done" for r in results):
        record_run(inputs, settings, results)
    return results, site_error, True


def _process_with_progress(
    paths: list[str], settings: Settings, quiet: bool, early_server: TemporaryServer | None
) -> tuple[list[SessionResult], str | None]:
    """Run the folder flow under the Prefect API (on `early_server` when the command started one) with a
    progress bar per recording (none when quiet); the sessions' results, and why the site around them was
    not rebuilt (None when it was)."""
    from livecastpipe.flows.server import PrefectApiUnreachable, prefect_api

    with prefect_api(early_server) as prefect_ready:  # the server starts now, while the flows are imported
        from livecastpipe.flows.pipeline import (
            SiteNotPublished,
            load_models_in_background,
            process_folder,
        )
        from livecastpipe.flows.progress import TranscriptionProgress

        load_models_in_background(settings, paths)
        try:
            prefect_ready()
        except PrefectApiUnreachable as exc:
            raise fail(str(exc)) from exc
        bars: dict[str, TaskID] = {}
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:>5.0f}/{task.total:.0f} s audio"),
            TimeRemainingColumn(),
            console=err_console,
            transient=False,
            disable=quiet,
        ) as progress:

            def report(source: str, done: float, total: float) -> None:
                if source not in bars:
                    bars[source] = progress.add_task(Path(source).name, total=total or None)
                progress.update(bars[source], completed=done)

            try:
                return process_folder(paths, settings, TranscriptionProgress(report)), None
            except SiteNotPublished as exc:  # the sessions ended, the catalogue, feeds or search index did not
                return exc.results, str(exc)


def _format_files(result: SessionResult) -> dict[str, list[str]]:
    """Per transcript or subtitle format, the session's files of it that were written."""
    if not result.output_dir or not result.language:
        return {}
    language = result.language
    found = {
        output_format: [
            str(path)
            for entry in outputs.format_files(output_format)
            if (path := Path(result.output_dir) / entry.name(language)).is_file()
        ]
        for output_format in outputs.OUTPUT_FORMATS
    }
    return {output_format: paths for output_format, paths in found.items() if paths}


def _print_summary(results: list[SessionResult], site_error: str | None) -> None:
    """The run's table (session, duration, status, output folder) and each session's warnings, on stderr."""
    table = Table(title="livecast run")
    for column in ("session", "duration", "status"):
        table.add_column(column)
    table.add_column("output", overflow="fold")
    published = "[yellow]published, site not rebuilt[/]" if site_error else "[green]done[/]"
    for result in results:
        duration = minutes_and_seconds(result.duration) if result.duration else "–"
        status = published if result.status == "done" else "[red]failed[/]"
        table.add_row(result.title or Path(result.source).name, duration, status, result.output_dir or "")
    err_console.print(table)
    for result in results:
        for warning in result.warnings:
            err_console.print(f"[yellow]warning:[/] {result.source}: {warning}", highlight=False)


def _exit_on_failures(results: list[SessionResult], site_error: str | None) -> None:
    """One error line per failed session (and for the site, or for no recordings at all), then exit 1."""
    failures = [r for r in results if r.status != "done"]
    for failure in failures:
        err_console.print(f"[red]error:[/] {failure.error}", highlight=False, soft_wrap=True)
    if site_error:
        err_console.print(f"[red]error:[/] {site_error}", highlight=False, soft_wrap=True)
    if failures or site_error or not results:
        if not results:
            err_console.print("[red]error:[/] no recordings found")
        raise typer.Exit(1)


def run_only_app() -> typer.Typer:
    """The `livecast` command line with `run` alone, for `python -m livecastpipe run ...`."""
    only = typer.Typer(
        help="Turn Dutch conference recordings into accessible, subtitled replays.", pretty_exceptions_enable=False
    )
    only.callback()(_run_only)
    only.command("run")(run)
    return only


def _run_only() -> None:
    """livecastpipe command line."""
