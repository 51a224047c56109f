"""Where `process_folder` runs its sessions: threads of this process, or a Dask cluster."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from livecastpipe.settings import Settings


def session_task_runner(settings: Settings) -> TaskRunner:
    """A task runner for whole sessions, following `task_runner`, `dask_address` and `max_concurrent_sessions`.

    Threads share this process's loaded model; each Dask worker process loads the model once and
    keeps it for every session it is given.
    """
    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        with get_client(sync_client=True) as client:
            api_url = str(client.api_url)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": settings.max_concurrent_sessions,
                "threads_per_worker": 1,
                "processes": True,
                "host": "127.0.0.1",
                "dashboard_address": None,
                # The workers report to this run's Prefect API, even a temporary one.
                "env": {"PREFECT_API_URL": api_url},
            }
        )
    return ThreadPoolTaskRunner(max_workers=settings.max_concurrent_sessions)
