"""Beyond one machine, for real on loopback: Prefect server, work pool, worker, deployment, Dask cluster.

Select with `pytest -m distributed`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, LongSample, timed_words
from tests.test_scaling import cut_clips, transcript_words

pytestmark = [pytest.mark.slow, pytest.mark.distributed]

PREFECT = str(Path(sys.executable).with_name("prefect"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def background(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A long-running command in its own process group, killed with all its children afterwards."""
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
    try:
        yield process
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except ProcessLookupError:  # the command and all its children have ended
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_healthy(api_url: str, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"prefect server stopped:\n{log.read_text()}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server not healthy after {timeout} s:\n{log.read_text()}")


def prefect_cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([PREFECT, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=180)
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_folder_deployment_on_a_worker_and_dask_equals_the_embedded_run(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster
    from prefect import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    media = tmp_path / "media"
    cut_clips(media, 3, seconds=10)
    api_url = f"http://127.0.0.1:{free_port()}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api_url,
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_CLI_PROMPT": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PWD": str(REPO),
    }
    host, port = "127.0.0.1", api_url.split(":")[2].split("/")[0]
    server_log = tmp_path / "server.log"
    embedded_env = {**os.environ, "PREFECT_HOME": str(tmp_path / "embedded-prefect-home")}
    embedded_env.pop("PREFECT_API_URL", None)

    with (
        # The embedded run (`livecast run`, its own temporary Prefect server) goes alongside.
        background(
            [sys.executable, "-m", "livecastpipe", "run", str(media), "--output", str(tmp_path / "embedded")],
            embedded_env,
            tmp_path / "embedded.log",
        ) as embedded,
        background([PREFECT, "server", "start", "--host", host, "--port", port], env, server_log) as server,
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host=host,
            dashboard_address=None,
            env={"PREFECT_API_URL": api_url, "PREFECT_HOME": env["PREFECT_HOME"]},
        ) as cluster,
        Client(cluster) as dask,
    ):
        wait_until_healthy(api_url, server, server_log)
        prefect_cli("work-pool", "create", "livecast", "--type", "process", env=env)
        prefect_cli("deploy", "--all", env=env)
        with (
            background(
                [PREFECT, "worker", "start", "--pool", "livecast", "--type", "process"],
                env,
                tmp_path / "worker.log",
            ),
            temporary_settings({PREFECT_API_URL: api_url}),
        ):
            with get_client(sync_client=True) as client:
                session_deployment = client.read_deployment_by_name("process-session/livecast-session")
            assert session_deployment.entrypoint == "livecastpipe.flows.pipeline:process_session"
            flow_run = run_deployment(
                "process-folder/livecast-folder",
                parameters={
                    "paths": [str(media)],
                    "settings": {
                        "output_dir": str(tmp_path / "deployed"),
                        "task_runner": "dask",
                        "dask_address": cluster.scheduler_address,
                        "max_concurrent_sessions": 2,
                    },
                },
                timeout=300,
            )
            worker_log = (tmp_path / "worker.log").read_text()
            assert flow_run.state is not None and flow_run.state.is_completed(), f"{flow_run.state}\n{worker_log}"
            models_per_worker = dask.run(_models_loaded_here)
        assert embedded.wait(timeout=600) == 0, (tmp_path / "embedded.log").read_text()

    deployed_words = transcript_words(tmp_path / "deployed")
    assert sorted(deployed_words) == ["deel-1", "deel-2", "deel-3"]
    assert all(deployed_words.values())
    assert deployed_words == transcript_words(tmp_path / "embedded")
    assert sorted(models_per_worker.values()) in ([0, 1], [1, 1]), (
        f"sessions must run on the Dask workers, each loading the model at most once: {models_per_worker}"
    )


def test_livecast_run_on_a_local_dask_cluster(tmp_path: Path) -> None:
    media = tmp_path / "media"
    cut_clips(media, 2, seconds=8)
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "LIVECAST_TASK_RUNNER": "dask",
        "LIVECAST_MAX_CONCURRENT_SESSIONS": "2",
    }
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "livecastpipe", "run", str(media), "--output", str(tmp_path / "out"), "-v"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )

    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "Creating a new Dask cluster" in log
    assert log.count("Temporary server ready") == 1, "Dask workers must report to the run's own server"
    assert "Starting temporary server" not in log
    words = transcript_words(tmp_path / "out")
    assert sorted(words) == ["deel-1", "deel-2"] and all(words.values())


def test_one_long_sessions_blocks_run_on_every_dask_worker(
    prefect_harness, long_sample: LongSample, tmp_path: Path
) -> None:
    """With `task_runner = "dask"`, the blocks of a lone long session are spread over the cluster's
    workers, and the transcript is word for word and time for time the one this process makes on its own."""
    from distributed import Client, LocalCluster
    from prefect.settings import PREFECT_API_URL

    from livecastpipe.flows.pipeline import process_folder
    from livecastpipe.models import Transcript, from_json
    from livecastpipe.settings import Settings

    long_session = long_sample.copy_into(tmp_path / "media")  # about 3 min: two blocks
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            env={"PREFECT_API_URL": str(PREFECT_API_URL.value())},
        ) as cluster,
        Client(cluster) as dask,
    ):
        settings = Settings(
            output_dir=tmp_path / "out",
            task_runner="dask",
            dask_address=cluster.scheduler_address,
            transcribe=long_sample.settings,
        )
        [result] = process_folder([str(long_session)], settings)
        models_per_worker = dask.run(_models_loaded_here)

    assert result.status == "done", result.error
    assert sorted(models_per_worker.values()) == [1, 1], f"each worker must transcribe a block: {models_per_worker}"
    transcript = from_json(Transcript, (Path(result.output_dir) / "transcript.json").read_text())
    assert timed_words(transcript) == timed_words(long_sample.reference)


def _models_loaded_here() -> int:
    """How many Whisper models this (Dask worker) process has loaded."""
    from livecastpipe.stages import transcribe

    return len(transcribe._models)
