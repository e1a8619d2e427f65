"""The peer's side of `make bench-peers`: Prefect 3 runs the same 1,000-task DAGs as
`bench/dag.py` (wide, chain, diamond: 10 layers, each task after every task of the
layer before), each task a no-op in-process or a `true` subprocess, with Prefect's
default task runner (threads) against its local API (started, and warmed up, before
anything is timed). Runs in its own environment (`.venv-peers`, Prefect from PyPI),
never in dagwire's: it imports only Prefect and the standard library.

A shape's time runs from calling the flow to its return. Then the task runs Prefect
recorded in its database as Completed are counted (task states reach the API as
events, written in the background: counted until the count stops moving, at most 60 s
more), since a task state not recorded is not what a user can query afterwards.

Prints one JSON object: {"<shape> <mode>": {"tasks", "seconds", "recorded"}, "version"}.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import prefect
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

SHAPES = ("wide", "chain", "diamond")
MODES = ("in-process", "subprocess")


@task
def noop() -> None:
    return None


@task
def true_process() -> None:
    subprocess.run(["true"], check=True)


def dependencies(shape: str, size: int) -> list[list[int]]:
    """The same shapes as bench.jobs.dag_job, by task index."""
    if shape == "wide":
        return [[] for _ in range(size)]
    if shape == "chain":
        return [[]] + [[i - 1] for i in range(1, size)]
    width = max(size // 10, 1)
    return [
        list(range((i // width - 1) * width, (i // width) * width)) if i >= width else []
        for i in range(size)
    ]


@flow
def dag(shape: str, size: int, mode: str) -> None:
    body = noop if mode == "in-process" else true_process
    futures: list[Any] = []
    for deps in dependencies(shape, size):
        futures.append(body.submit(wait_for=[futures[i] for i in deps]))
    for future in futures:
        future.result()


def recorded(flow_run_id: Any, expected: int) -> int:
    """Completed task runs of the flow run in Prefect's database, once the count settles
    (the sync client: an event loop of our own would stop Prefect's event services)."""
    completed = TaskRunFilter(
        state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.COMPLETED]))
    )
    runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    deadline = time.monotonic() + 60
    last, stable_since = -1, time.monotonic()
    with get_client(sync_client=True) as client:
        while True:
            count = _count(client, runs, completed)
            now = time.monotonic()
            if count != last:
                last, stable_since = count, now
            if count >= expected or now - stable_since > 5 or now > deadline:
                return count
            time.sleep(0.5)


def _count(client: Any, runs: FlowRunFilter, completed: TaskRunFilter) -> int:
    count, page = 0, 200
    while True:
        found = client.read_task_runs(
            flow_run_filter=runs, task_run_filter=completed, limit=page, offset=count
        )
        count += len(found)
        if len(found) < page:
            return count


def main(size: int) -> None:
    dag("wide", 2, "in-process")  # the local API started and warm
    results: dict[str, Any] = {"version": prefect.__version__}
    for mode in MODES:
        for shape in SHAPES:
            began = time.perf_counter()
            state = dag(shape, size, mode, return_state=True)
            seconds = time.perf_counter() - began
            count = recorded(state.state_details.flow_run_id, size)
            results[f"{shape} {mode}"] = {"tasks": size, "seconds": seconds, "recorded": count}
            print(f"  prefect {shape} {mode}: {size / seconds:,.0f} tasks/s", file=sys.stderr)
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000)
