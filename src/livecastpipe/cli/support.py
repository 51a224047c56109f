"""What every `livecast` command shares: its consoles, its common options and loading settings."""

from __future__ import annotations

import gc
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from livecastpipe.settings import Settings, SettingsError, load_settings
from livecastpipe.storage import error_line
from livecastpipe.workspace import migrate_workspace

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
"""Never wraps: each `error:` / `warning:` line stays one line, whatever the terminal's width."""

OutputOption = Annotated[Optional[Path], typer.Option(help="Output folder (default: output).")]
ConfigOption = Annotated[Optional[Path], typer.Option(help="Settings file (default: ./livecast.toml).")]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line and return the exit to raise."""
    err_console.print(f"[red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


def command_settings(output: Path | None, config: Path | None) -> Settings:
    """Settings for a command with `--output` and `--config` (its output folder moved to the current
    layout first); a bad settings file exits with status 2."""
    try:
        settings = load_settings(config, {"output_dir": output} if output is not None else None)
    except SettingsError as exc:
        raise fail(str(exc), 2) from exc
    migrate_workspace(settings.output_dir)
    return settings


def run_command_line(command_line: typer.Typer, context: Any = None) -> None:
    """Run a `livecast` command line: a fault of the file system (read-only folder, full disk, missing
    file) or of a file's content ends it with one line, `error: <path>: <problem>`, and status 1; with `-v`
    the traceback follows. `context` becomes the command's context object."""
    try:
        command_line(prog_name="livecast", obj=context)
    except (OSError, ValueError) as exc:
        if {"-v", "--verbose"} & set(sys.argv[1:]):
            traceback.print_exc()
        err_console.print(f"[red]error:[/] {error_line(exc)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    finally:
        # At exit the interpreter's garbage collections walk every object Prefect and the models made,
        # about 0.6 s after the work is done; frozen, they are skipped.
        gc.freeze()
