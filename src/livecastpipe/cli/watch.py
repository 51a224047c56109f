"""`livecast watch FOLDER`: each recording dropped into a folder becomes one flow run of the session deployment."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional, cast

import typer
from rich.markup import escape

from livecastpipe.cli.support import ConfigOption, OutputOption, command_settings, console, err_console, fail
from livecastpipe.settings import WatchSettings
from livecastpipe.storage import error_line

if TYPE_CHECKING:
    from livecastpipe import watching


def _submit(deployment: str, path: Path, version: watching.FileVersion) -> str:
    """Create the recording's flow run without waiting for it; its version is the idempotency key, so a
    second submission of the same version (another watcher, a lost state file) is the same run. Returns
    the run's name."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    flow_run = run_deployment(
        deployment,
        parameters={"source": str(path)},
        timeout=0,
        idempotency_key=version.key(path),
        tags=["watch"],
        as_subflow=False,
    )
    flow_run = cast(FlowRun, flow_run)  # called from plain (not async) code: the run itself, not a coroutine
    return flow_run.name


def _pass(
    folder: Path, output: Path, watch: WatchSettings, sightings: dict[Path, watching.Sighting], submitted: set[str]
) -> tuple[dict[Path, watching.Sighting], int, int]:
    """Look at the folder once and submit what settled; return the sightings, how many recordings seen are
    not submitted, and how many submissions failed (each said in one line, and tried again next time)."""
    from livecastpipe import watching

    now = time.time()
    sightings = watching.observe(sightings, watching.scan(folder), now)
    failed = 0
    for path, version in watching.to_submit(sightings, submitted, now, watch.settle_s):
        try:
            run_name = _submit(watch.deployment, path, version)
        except Exception as exc:  # Prefect's client raises many kinds: the server down, no such deployment
            failed += 1
            err_console.print(f"[red]error:[/] {escape(f'{path}: not submitted: {error_line(exc)}')}")
            continue
        submitted.add(version.key(path))
        watching.record_submitted(output, submitted)
        console.print(
            f"[green]submitted[/] {escape(f'{path} as flow run {run_name} of {watch.deployment}')}", soft_wrap=True
        )
    waiting = [path for path, sighting in sightings.items() if sighting.version.key(path) not in submitted]
    return sightings, len(waiting), failed


def watch_command(
    folder: Annotated[
        Path, typer.Argument(help="The folder recordings are dropped into.", exists=True, file_okay=False)
    ],
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Look once (waiting one settle time for recordings still growing), submit, exit: for cron."
        ),
    ] = False,
    settle_s: Annotated[
        Optional[float],
        typer.Option("--settle-s", min=0.1, help="Seconds a recording must stay unchanged (watch.settle_s)."),
    ] = None,
    poll_s: Annotated[
        Optional[float], typer.Option("--poll-s", min=0.1, help="Seconds between looks (watch.poll_s).")
    ] = None,
    deployment: Annotated[
        Optional[str], typer.Option(help="The deployment runs are submitted to (watch.deployment).")
    ] = None,
    output: OutputOption = None,
    config: ConfigOption = None,
) -> None:
    """Submit one flow run of the session deployment (`process-session/livecast-session`) per recording
    dropped into FOLDER, once it has stopped growing; a replaced recording is submitted again. What was
    submitted is kept in the output's private folder, so a restarted watcher submits nothing twice. The
    Prefect server is `PREFECT_API_URL`'s; the workers' settings decide where the sessions are published."""
    from prefect.settings import PREFECT_API_URL

    from livecastpipe import watching

    if not PREFECT_API_URL.value():  # else Prefect would start a temporary server no worker polls
        raise fail("PREFECT_API_URL is not set: the watcher submits runs to the Prefect server the workers poll", 2)
    settings = command_settings(output, config)
    changes = {"settle_s": settle_s, "poll_s": poll_s, "deployment": deployment}
    watch = settings.watch.model_copy(update={k: v for k, v in changes.items() if v is not None})
    submitted = watching.read_submitted(settings.output_dir)
    sightings, waiting, failed = _pass(folder, settings.output_dir, watch, {}, submitted)
    if once:
        if waiting and not failed:  # still growing, or just dropped: one settle time to become whole
            time.sleep(watch.settle_s)
            sightings, waiting, failed = _pass(folder, settings.output_dir, watch, sightings, submitted)
        if failed:
            raise typer.Exit(1)
        return
    console.print(f"Watching {folder} (a recording goes once unchanged for {watch.settle_s:g} s; Ctrl-C stops)")
    try:
        while True:
            time.sleep(watch.poll_s)
            sightings, waiting, failed = _pass(folder, settings.output_dir, watch, sightings, submitted)
    except KeyboardInterrupt:
        pass
