"""Gauges read at scrape time: jobs and tasks by state from the store, and the party
processes the engine has running."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import Gauge

from dagwire.server.engine.model import Job, JobState, PartyState, TaskState
from dagwire.server.observability.metrics import ServerMetrics
from dagwire.server.store.base import JobStore

# Counts jobs per state without loading them (a GROUP BY), where the store offers it.


class StateGauges:
    """`dagwire_jobs{state}`, `dagwire_tasks{state}` and `dagwire_executor_processes`.

    Tasks are counted for unfinished jobs only: a finished job's tasks are history, and
    reading every job ever stored at each scrape would make scrapes slower as the store
    grows. Executor processes are the parties the engine has in state Running; the
    store knows them across restarts, unlike the executor, which only learns of a
    recovered process when it exits.
    """

    def __init__(self, metrics: ServerMetrics, store: JobStore) -> None:
        self._store = store
        self._jobs = Gauge("dagwire_jobs", "Jobs by state.", ("state",), registry=metrics.registry)
        self._tasks = Gauge(
            "dagwire_tasks",
            "Tasks of unfinished jobs (not Succeeded, Failed, ApprovalReject or Cancelled), "
            "by state.",
            ("state",),
            registry=metrics.registry,
        )
        self._processes = Gauge(
            "dagwire_executor_processes",
            "Party processes running: parties in state Running of running tasks.",
            registry=metrics.registry,
        )
        metrics.on_scrape(self.refresh)

    async def refresh(self) -> None:
        by_state = await self._store.count_jobs_by_state()
        active = await self._store.list_jobs(active_only=True)
        # Every state is set, zeros included, so a state that empties drops to 0 instead
        # of keeping its last value.
        for state in JobState:
            self._jobs.labels(state.value).set(by_state.get(state, 0))
        tasks = Tally(task.state for job in active for task in job.tasks)
        for task_state in TaskState:
            self._tasks.labels(task_state.value).set(tasks.get(task_state, 0))
        self._processes.set(_running_parties(active))


def _running_parties(jobs: Iterable[Job]) -> int:
    return sum(
        1
        for job in jobs
        for task in job.tasks
        if task.state is TaskState.RUNNING
        for party in task.parties
        if party.state is PartyState.RUNNING
    )
