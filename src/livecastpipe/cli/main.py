"""The `livecast` command: run the pipeline over recordings and work with its output."""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from livecastpipe.cli.edit import edit_command
from livecastpipe.cli.review import review_command
from livecastpipe.cli.speakers import speakers_command
from livecastpipe.cli.support import (
    ConfigOption,
    OutputOption,
    command_settings,
    console,
    err_console,
    fail,
)
from livecastpipe.cli.watch import watch_command
from livecastpipe.package import outputs
from livecastpipe.settings import Settings, SettingsError, flag_overrides, load_settings
from livecastpipe.storage import error_line
from livecastpipe.timefmt import minutes_and_seconds

if TYPE_CHECKING:
    from livecastpipe.flows.pipeline import SessionResult
    from livecastpipe.flows.server import TemporaryServer

app = typer.Typer(
    help="Turn Dutch conference recordings into accessible, subtitled replays.", pretty_exceptions_enable=False
)
app.command("review")(review_command)
app.command("speakers")(speakers_command)
app.command("edit")(edit_command)
app.command("watch")(watch_command)


def _quiet_prefect(verbose: bool) -> None:
    """Embedded Prefect, telemetry off; its logs only when asked, so progress bars stay readable."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
        os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"livecast {version('livecastpipe')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="On an error, show the traceback (`livecast -v publish`).")
    ] = False,
) -> None:
    """livecastpipe command line."""


def entry_point(early_server: TemporaryServer | None = None) -> None:
    """The `livecast` command: a fault of the file system (read-only folder, full disk, missing file) or
    of a file's content ends it with one line, `error: <path>: <problem>`, and status 1; with `-v` the
    traceback follows. `early_server`, Prefect's temporary server started before the imports, goes to
    `run` (as the command's context object)."""
    try:
        app(prog_name="livecast", obj=early_server)
    except (OSError, ValueError) as exc:
        if {"-v", "--verbose"} & set(sys.argv[1:]):
            traceback.print_exc()
        err_console.print(f"[red]error:[/] {error_line(exc)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    finally:
        # At exit the interpreter's garbage collections walk every object Prefect and the models made,
        # about 0.6 s after the work is done; frozen, they are skipped.
        gc.freeze()


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


@app.command()
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
    results, site_error = _process_with_progress(paths, settings, quiet, context.obj)
    if json_output:
        records = [dataclasses.asdict(r) | {"files": _format_files(r)} for r in results]
        print(json.dumps(records, ensure_ascii=False, indent=2))
    if not quiet:
        _print_summary(results, site_error)
        if any(r.status == "done" for r in results):  # feeds and oEmbed were written
            _warn_about_settings(settings)
    _exit_on_failures(results, site_error)


def _warn_about_settings(settings: Settings) -> None:
    """One `warning:` line per publishing setting whose absence leaves the feeds or embeds unusable."""
    from rich.markup import escape

    from livecastpipe.package.discovery import settings_warnings

    for warning in settings_warnings(settings.publish):
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


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


@app.command()
def publish(
    sessions: Annotated[
        Optional[list[str]], typer.Argument(help="Session folder names in the output folder (default: all).")
    ] = None,
    output: OutputOption = None,
    config: ConfigOption = None,
) -> None:
    """Re-render published sessions from their stored data (templates, editors' decisions), then the catalogue."""
    from livecastpipe.package.catalogue import publish_catalogue
    from livecastpipe.package.package_format import PublishError
    from livecastpipe.package.publish import republish
    from livecastpipe.package.store import published_sessions
    from livecastpipe.workspace import run_lock

    settings = command_settings(output, config)
    with run_lock(settings.output_dir, settings.resolved_cache_dir):
        slugs = sessions or [p.name for p in published_sessions(settings.output_dir)]
        failed = 0
        for slug in slugs:
            try:
                folder = republish(settings.output_dir, slug, settings.publish, settings.review.publish_unreviewed)
                console.print(f"[green]published[/] {folder}")
            except (PublishError, OSError) as exc:
                failed += 1
                err_console.print(f"[red]error:[/] {error_line(exc)}", highlight=False, soft_wrap=True)
        try:
            console.print(f"[green]catalogue[/] {publish_catalogue(settings.output_dir, settings.publish)}")
            _warn_about_settings(settings)  # once the feeds and oEmbed are written
        except (PublishError, OSError) as exc:
            failed += 1
            err_console.print(f"[red]error:[/] {error_line(exc)}", highlight=False, soft_wrap=True)
    if failed or not slugs:
        if not slugs:
            err_console.print(f"[red]error:[/] {settings.output_dir}: no published sessions")
        raise typer.Exit(1)


@app.command()
def serve(
    output: Annotated[Optional[Path], typer.Option(help="Output folder (default: output).")] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8000,
    config: ConfigOption = None,
) -> None:
    """Serve the output folder's public site on localhost for a preview (with the seeking and search a
    browser needs); the private workspace beside it is never served. Without `base_url` in the settings,
    the feeds, oEmbed, sitemap and robots.txt are served with this preview's address as the site's."""
    from livecastpipe import workspace
    from livecastpipe.package import outputs
    from livecastpipe.package.server import preview_server

    settings = command_settings(output, config)
    folder = workspace.site_dir(settings.output_dir)
    if not workspace.site_file(settings.output_dir, outputs.CATALOGUE_PAGE).is_file():
        raise fail(f"{folder}: no catalogue yet (run `livecast run` or `livecast publish`)")
    addressless = None if settings.publish.base_url else settings.publish
    server = preview_server(settings.output_dir, port, preview_settings=addressless)
    address = f"http://127.0.0.1:{server.server_address[1]}/"
    console.print(f"Serving {folder} on {address} (Ctrl-C stops)")
    if addressless:
        console.print("The feeds, oEmbed and sitemap use this address (no base_url is set).")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
