"""Small builders for engine tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagwire.server.engine.model import JobSpec, PartySpec, TaskSpec

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def task(
    alias: str,
    *deps: str,
    parties: tuple[str, ...] = ("alice",),
    priority: int = 0,
    tolerable: bool = False,
    timeout: int = 0,
    start_timeout: int = 0,
    disabled: bool = False,
    post: bool = False,
) -> TaskSpec:
    return TaskSpec(
        alias=alias,
        task_id=alias,
        app_image="dagwire-sleep",
        parties=tuple(PartySpec(domain) for domain in parties),
        dependencies=deps,
        priority=priority,
        tolerable=tolerable,
        timeout_seconds=timeout,
        start_timeout_seconds=start_timeout,
        disabled=disabled,
        post=post,
    )


def spec(*tasks: TaskSpec, job_id: str = "job-1", max_parallelism: int = 10) -> JobSpec:
    return JobSpec(job_id=job_id, initiator="alice", max_parallelism=max_parallelism, tasks=tasks)
