"""The task runner is a setting: threads on one machine, Dask or Ray when work outgrows it."""

from __future__ import annotations

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from mercap.settings import RunnerSettings


def task_runner_for(settings: RunnerSettings) -> TaskRunner:
    if settings.kind == "threads":
        return ThreadPoolTaskRunner(max_workers=settings.workers)
    if settings.kind == "dask":
        from prefect_dask import DaskTaskRunner

        if settings.address:
            return DaskTaskRunner(address=settings.address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": settings.workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    try:
        from prefect_ray import RayTaskRunner
    except ImportError as error:
        raise RuntimeError("runner kind 'ray' needs the extra: uv sync --extra ray") from error
    return RayTaskRunner(address=settings.address) if settings.address else RayTaskRunner()
