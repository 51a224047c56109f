"""What every `livecast` command shares: its consoles, its common options and loading settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from livecastpipe.settings import Settings, SettingsError, load_settings
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
