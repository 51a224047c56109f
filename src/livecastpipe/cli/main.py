"""The `livecast` command: run the pipeline over recordings and work with its output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from livecastpipe.cli.edit import edit_command
from livecastpipe.cli.review import review_command
from livecastpipe.cli.run import run, warn_about_settings
from livecastpipe.cli.speakers import speakers_command
from livecastpipe.cli.support import (
    ConfigOption,
    OutputOption,
    command_settings,
    console,
    err_console,
    fail,
    run_command_line,
)
from livecastpipe.cli.watch import watch_command
from livecastpipe.storage import error_line

if TYPE_CHECKING:
    from livecastpipe.flows.server import TemporaryServer

app = typer.Typer(
    help="Turn Dutch conference recordings into accessible, subtitled replays.", pretty_exceptions_enable=False
)
app.command("review")(review_command)
app.command("speakers")(speakers_command)
app.command("edit")(edit_command)
app.command("watch")(watch_command)
app.command("run")(run)


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
    """The `livecast` command (`run_command_line`); `early_server`, Prefect's temporary server started
    before the imports, goes to `run` (as the command's context object)."""
    run_command_line(app, early_server)


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
            warn_about_settings(settings)  # once the feeds and oEmbed are written
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
