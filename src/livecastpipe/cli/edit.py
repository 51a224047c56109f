"""`livecast edit`: start the editor's workbench for the sessions of an output folder and open it."""

from __future__ import annotations

import getpass
import os
import secrets
import socket
import threading
import webbrowser
from typing import Annotated, Optional

import typer

from livecastpipe.cli.support import ConfigOption, OutputOption, command_settings, console, err_console, fail

DEFAULT_PORT = 8642
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one); OSError when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


def edit_command(
    session: Annotated[
        Optional[str], typer.Argument(help="Session slug to open (default: the list of published sessions).")
    ] = None,
    output: OutputOption = None,
    config: ConfigOption = None,
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = DEFAULT_PORT,
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but 127.0.0.1/localhost lets other machines in.")
    ] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Print the address; do not open a browser.")] = False,
    editor: Annotated[
        Optional[str],
        typer.Option(
            help="Your name, recorded with each change (default: $LIVECAST_EDITOR, $LIVECAST_REVIEWER or login)."
        ),
    ] = None,
) -> None:
    """Correct the transcript, speakers, chapters and generated texts of published sessions in a browser, and
    publish them again (no model is loaded). Ctrl-C stops the workbench."""
    import uvicorn  # the server, the app and publishing load only when the workbench starts

    from livecastpipe.editor.workbench.routes import workbench_app, workbench_url
    from livecastpipe.editor.workbench.service import Workbench
    from livecastpipe.package.store import published_sessions

    settings = command_settings(output, config)
    slugs = [p.name for p in published_sessions(settings.output_dir)]
    if not slugs:
        raise fail(f"{settings.output_dir}: no published sessions to edit (run `livecast run` first)")
    if session is not None and session not in slugs:
        raise fail(f"{session}: not a published session in {settings.output_dir} (sessions: {', '.join(slugs)})")
    name = editor or os.environ.get("LIVECAST_EDITOR") or os.environ.get("LIVECAST_REVIEWER") or getpass.getuser()
    try:
        sock = bind(host, port)
    except OSError as exc:
        if port == 0 or exc.errno != 98:  # EADDRINUSE: another program has the port; any free one will do
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        sock = bind(host, 0)
        err_console.print(f"port {port} is in use; using {sock.getsockname()[1]}")
    token = secrets.token_urlsafe(32)
    app = workbench_app(Workbench(settings, token, name), host, sock.getsockname()[1])
    url = workbench_url(host, sock.getsockname()[1], token, session)
    if host not in LOCAL_HOSTS:
        err_console.print(
            f"[yellow]warning:[/] the workbench listens on {host}: other machines can reach it, over plain HTTP; "
            "anyone with the address (token included) can change and publish these sessions"
        )
    console.print(f"The workbench for {settings.output_dir} (Ctrl-C stops it):\n    {url}", soft_wrap=True)
    if not no_browser:
        threading.Timer(0.5, webbrowser.open, (url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
