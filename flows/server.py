"""Prefect's temporary local server, started before the pipeline's imports so that its start-up overlaps them.

`livecast run` starts it first of all (`start_early`, before even the command line is parsed).

Prefect starts the same server (uvicorn serving `prefect.server.api.server:create_app`, SQLite under
PREFECT_HOME, no UI) on the first API call, after every import is done; started here first, its few
seconds of start-up run on the second core while this process imports the flows. A rerun of an
unchanged sample session then takes about 8–9 s instead of 11–12.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from livecastpipe.processes import start_child

STARTUP_TIMEOUT_S = 120.0
"""How long the server may take to start unless PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS says
otherwise: Prefect's own 20 s is too little on a loaded machine (the run then fails for nothing)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryServer:
    """A Prefect API server in a child process, for one command's lifetime."""

    def __init__(self) -> None:
        prefect = importlib.util.find_spec("prefect")  # found, not imported: the server starts a second sooner
        if prefect is None or prefect.origin is None:
            raise RuntimeError("Prefect is not installed")
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.process = start_child(  # ends with the run, even after kill -9
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(Path(prefect.origin).parent.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                # Block types are registered by the client when a block is saved (the result storage):
                # registering every installed collection's blocks first costs half a second per start.
                "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
                "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_until_ready(self) -> None:
        """Block until the server answers its health check; a clear error when it never does."""
        import httpx
        from prefect.logging import get_logger
        from prefect.settings import get_current_settings

        timeout: float = get_current_settings().server.ephemeral.startup_timeout_seconds  # as for Prefect's own
        if "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" not in os.environ:
            timeout = max(timeout, STARTUP_TIMEOUT_S)
        deadline = time.monotonic() + timeout
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                    raise RuntimeError(
                        f"Prefect's temporary server exited with code {self.process.returncode}: {error}"
                    )
                try:
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        get_logger("livecast").info("Temporary server ready on %s", self.api_url)
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"Prefect's temporary server did not start within {timeout} s "
            "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)"
        )

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


API_CHECK_TIMEOUT_S = 10.0
"""How long a configured Prefect API may take to answer its health check before the run gives up."""


class PrefectApiUnreachable(RuntimeError):
    """The Prefect API the environment or profile names does not answer; the message is one line."""


def check_api(api_url: str) -> None:
    """Raise PrefectApiUnreachable unless the configured Prefect API answers its health check, asked once:
    with the client's retries and timeouts a wrong address would cost a minute and a long traceback."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_REQUEST_TIMEOUT, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    with temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0, PREFECT_API_REQUEST_TIMEOUT: API_CHECK_TIMEOUT_S}):
        with get_client(sync_client=True) as client:
            problem = client.api_healthcheck()
    if problem is not None:
        reason = (str(problem).strip().splitlines() or [type(problem).__name__])[0]
        raise PrefectApiUnreachable(
            f"Prefect API at {api_url} unreachable: {reason}; unset PREFECT_API_URL to use the temporary local server"
        )


def start_early() -> TemporaryServer | None:
    """Start the temporary server now, unless an API is given in the environment; `prefect_api` takes it
    over (or stops it, when Prefect's settings name an API). Stopped at exit in any case."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    server = TemporaryServer()
    atexit.register(server.stop)
    return server


@contextmanager
def prefect_api(started: TemporaryServer | None = None) -> Iterator[Callable[[], None]]:
    """Run the enclosed flows against the configured Prefect API, or else a temporary local server: the
    one `start_early` `started`, or one started now.

    The context yields the function that waits until the server answers, to be called after the heavy
    imports, just before the first flow run.
    """
    # Started before Prefect is imported, unless an API is given in the environment; stopped again when
    # Prefect's settings (a profile) name one.
    server = None if os.environ.get("PREFECT_API_URL") else (started or TemporaryServer())
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        get_current_settings,
        temporary_settings,
    )

    settings = get_current_settings()
    if server is None or settings.api.url or not settings.server.ephemeral.enabled:
        if server is not None:
            server.stop()
        api_url = settings.api.url
        yield (lambda: check_api(api_url)) if api_url else (lambda: None)
        return
    # Stopped at exit, as Prefect stops its own: after its log and event workers have sent what is left.
    atexit.register(server.stop)
    # No heartbeats: they let a lasting server mark runs whose process died as crashed, and this server dies
    # with the process. Each flow run would otherwise wait up to a second at its end for the heartbeat
    # thread to wake from its sleep.
    with temporary_settings(updates={PREFECT_API_URL: server.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield server.wait_until_ready
