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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import httpx
import pytest

from tests.conftest import REPO, LongSample, timed_words
from tests.test_scaling import cut_clips, transcript_words

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

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


@dataclass(frozen=True)
class DeployedPool:
    """A real Prefect server with the `livecast` process work pool, `prefect.yaml`'s deployments and a worker."""

    api_url: str
    env: dict[str, str]
    """The server's, the worker's and the CLI's environment."""
    worker_output: Path
    """Where the worker's runs publish when a run's parameters name no settings (`LIVECAST_OUTPUT_DIR`)."""
    worker_log: Path


@pytest.fixture(scope="module")
def deployed_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedPool]:
    """One server, work pool, `prefect deploy --all` and worker, shared by this module's deployment tests
    (starting them is most of a test's time)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    root = tmp_path_factory.mktemp("prefect-server")
    api_url = f"http://127.0.0.1:{free_port()}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(root / "prefect-home"),
        "PREFECT_API_URL": api_url,
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{root / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_CLI_PROMPT": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PWD": str(REPO),
    }
    host, port = "127.0.0.1", api_url.split(":")[2].split("/")[0]
    server_log = root / "server.log"
    pool = DeployedPool(api_url, env, root / "worker-output", root / "worker.log")
    with background([PREFECT, "server", "start", "--host", host, "--port", port], env, server_log) as server:
        wait_until_healthy(api_url, server, server_log)
        prefect_cli("work-pool", "create", "livecast", "--type", "process", env=env)
        prefect_cli("deploy", "--all", env=env)
        worker_env = {**env, "LIVECAST_OUTPUT_DIR": str(pool.worker_output)}
        with (
            background(
                [PREFECT, "worker", "start", "--pool", "livecast", "--type", "process"], worker_env, pool.worker_log
            ),
            temporary_settings({PREFECT_API_URL: api_url}),
        ):
            yield pool


def wait_for_final_state(flow_run_id: UUID, timeout: float) -> State:
    """The flow run's final state, polled from the server; the test fails when it has none by `timeout`."""
    from prefect import get_client

    deadline, state = time.monotonic() + timeout, None
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(flow_run_id).state
            if state is not None and state.is_final():
                return state
            time.sleep(2)
    pytest.fail(f"flow run {flow_run_id} not finished after {timeout} s: {state}")


def test_folder_deployment_on_a_worker_and_dask_equals_livecast_run_on_its_own_dask_cluster(
    deployed_pool: DeployedPool, tmp_path: Path
) -> None:
    """The folder deployment, run by the worker with its sessions on a Dask cluster, publishes what
    `livecast run` with `task_runner = "dask"` publishes on a local cluster of its own, whose workers report
    to the run's own temporary server."""
    from distributed import Client, LocalCluster
    from prefect import get_client
    from prefect.deployments import run_deployment

    media = tmp_path / "media"
    cut_clips(media, 3, seconds=10)
    embedded_env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "embedded-prefect-home"),
        "LIVECAST_TASK_RUNNER": "dask",
        "LIVECAST_MAX_CONCURRENT_SESSIONS": "2",
    }
    embedded_env.pop("PREFECT_API_URL", None)
    embedded_log = tmp_path / "embedded.log"

    with (
        # The embedded run (`livecast run`, its own temporary Prefect server and Dask cluster) goes alongside.
        background(
            [sys.executable, "-m", "livecastpipe", "run", str(media), "--output", str(tmp_path / "embedded"), "-v"],
            embedded_env,
            embedded_log,
        ) as embedded,
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            env={"PREFECT_API_URL": deployed_pool.api_url, "PREFECT_HOME": deployed_pool.env["PREFECT_HOME"]},
        ) as cluster,
        Client(cluster) as dask,
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
        worker_log = deployed_pool.worker_log.read_text()
        assert flow_run.state is not None and flow_run.state.is_completed(), f"{flow_run.state}\n{worker_log}"
        models_per_worker = dask.run(_models_loaded_here)
        assert embedded.wait(timeout=600) == 0, embedded_log.read_text()

    log = embedded_log.read_text()
    assert "Creating a new Dask cluster" in log
    assert log.count("Temporary server ready") == 1, "Dask workers must report to the run's own server"
    assert "Starting temporary server" not in log
    deployed_words = transcript_words(tmp_path / "deployed")
    assert sorted(deployed_words) == ["deel-1", "deel-2", "deel-3"]
    assert all(deployed_words.values())
    assert deployed_words == transcript_words(tmp_path / "embedded")
    assert sorted(models_per_worker.values()) in ([0, 1], [1, 1]), (
        f"sessions must run on the Dask workers, each loading the model at most once: {models_per_worker}"
    )


def test_a_recording_dropped_into_a_watched_folder_is_published_by_one_flow_run(
    deployed_pool: DeployedPool, tmp_path: Path
) -> None:
    """`livecast watch --once` (as cron runs it) submits a recording copied into the folder to the session
    deployment: one flow run, which the worker runs to a published session; run again, as a restarted
    watcher, it submits nothing. The deployment has its concurrency limit from prefect.yaml."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    [clip] = cut_clips(tmp_path / "clips", 1, seconds=8)
    dropbox = tmp_path / "dropbox"
    dropbox.mkdir()
    (dropbox / ".deel-1.wav.tmp").write_bytes(b"a copy being made by rsync")
    recording = clip.read_bytes()
    with (dropbox / clip.name).open("wb") as copy:  # copied in two steps: the file grows
        copy.write(recording[: len(recording) // 2])
        copy.flush()
        copy.write(recording[len(recording) // 2 :])
    watch = [sys.executable, "-m", "livecastpipe", "watch", str(dropbox), "--once", "--settle-s", "2"]
    watch += ["--output", str(deployed_pool.worker_output)]

    first = subprocess.run(watch, capture_output=True, text=True, env=deployed_pool.env, timeout=120)
    again = subprocess.run(watch, capture_output=True, text=True, env=deployed_pool.env, timeout=120)

    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert first.stdout.count("submitted") == 1 and f"submitted {dropbox / clip.name}" in first.stdout, first.stdout
    assert "submitted" not in again.stdout, again.stdout
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("process-session/livecast-session")
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["livecast-session"]))
        )
    assert deployment.global_concurrency_limit is not None and deployment.global_concurrency_limit.limit == 1
    assert [run.parameters for run in runs] == [{"source": str(dropbox / clip.name)}]
    state = wait_for_final_state(runs[0].id, timeout=180)
    assert state.is_completed(), f"{state}\n{deployed_pool.worker_log.read_text()}"
    words = transcript_words(deployed_pool.worker_output)
    assert list(words) == ["deel-1"] and words["deel-1"], words


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
