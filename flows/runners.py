"""Where `process_folder` runs its sessions, and a session its transcription blocks: threads of this
process, or a Dask cluster; and each stage's time limit and retry pause from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prefect.client.orchestration import get_client
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from livecastpipe.settings import Settings
from livecastpipe.stages.transcribe import stream_count


def stage_options(settings: Settings, stage: str) -> dict[str, Any]:
    """`with_options` for a stage's task: its time limit and the pause before a retry, from `settings.stages`;
    a stage stopped by its time limit names itself on its error (`timed_out_stage`)."""
    return {
        "timeout_seconds": settings.stages.timeout(stage),
        "retry_delay_seconds": settings.stages.retry_delay_s,
        "on_failure": [_name_the_timed_out_stage],
    }


_TIMED_OUT_STAGE = "livecast_timed_out_stage"
"""The attribute of a stage's TimeoutError that holds (stage, limit in seconds)."""


def _name_the_timed_out_stage(task: Any, task_run: Any, state: Any) -> None:
    """A failed stage's hook, run before its error reaches the caller: when its time limit stopped it, the
    error names the stage and the limit. The innermost keeps its name (a timed-out transcription block
    fails its transcription by the same error)."""
    error = state.data
    if state.name == "TimedOut" and isinstance(error, TimeoutError) and not hasattr(error, _TIMED_OUT_STAGE):
        setattr(error, _TIMED_OUT_STAGE, (task.name, task.timeout_seconds))


def timed_out_stage(error: object) -> tuple[str, float] | None:
    """(stage, seconds) of the stage whose time limit raised `error`, a session's failure; None otherwise."""
    return getattr(error, _TIMED_OUT_STAGE, None) if isinstance(error, TimeoutError) else None


def _local_dask_runner(workers: int) -> TaskRunner:
    """A DaskTaskRunner that starts a local cluster of `workers` single-threaded processes, reporting to
    this run's Prefect API (even a temporary one)."""
    from prefect_dask import DaskTaskRunner

    with get_client(sync_client=True) as client:
        api_url = str(client.api_url)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "host": "127.0.0.1",
            "dashboard_address": None,
            "env": {"PREFECT_API_URL": api_url},
        }
    )


def session_task_runner(settings: Settings, groups: int) -> TaskRunner:
    """A task runner for `groups` groups of sessions, following `task_runner`, `dask_address` and
    `max_concurrent_sessions`.

    Threads share this process's loaded model; each Dask worker process loads the model once and
    keeps it for every session it is given. A lone group stays in this process even with Dask, so
    that its transcription blocks can be spread over the whole cluster (`block_task_runner`).
    """
    if settings.task_runner == "dask" and groups > 1:
        from prefect_dask import DaskTaskRunner

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return _local_dask_runner(settings.max_concurrent_sessions)
    return ThreadPoolTaskRunner(max_workers=settings.max_concurrent_sessions)


def _on_a_dask_worker() -> bool:
    """Whether this code runs in a task on a Dask worker."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


@contextmanager
def block_task_runner(settings: Settings) -> Iterator[TaskRunner]:
    """A task runner for the blocks of one recording: with `task_runner = "dask"` the Dask cluster, so that
    one long session keeps every worker busy; else `stream_count` threads of this process.

    A session that `process_folder` sent to a Dask worker keeps its blocks on that worker's threads:
    sessions are what is spread there, and a worker thread waiting for tasks of its own cluster could
    wait for ever once every thread waits so.
    """
    if settings.task_runner != "dask" or _on_a_dask_worker():
        threads: ThreadPoolTaskRunner[Any]
        with ThreadPoolTaskRunner(max_workers=stream_count(settings.transcribe)) as threads:
            yield threads
        return
    from prefect_dask import DaskTaskRunner

    runner: TaskRunner
    if settings.dask_address:
        runner = DaskTaskRunner(address=settings.dask_address)
    else:
        runner = _local_dask_runner(settings.max_concurrent_sessions)
    with runner:
        yield runner
