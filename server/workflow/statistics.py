"""What a run's steps cost: the recorded usage of their processes (engine.usage), read
for a caller who may see the run.

Every read goes through WorkflowRuntime.get_run, so a foreign run answers exactly as a
missing one. PaddleFlow names a step by a job id: here the step's engine task id, which
GetRun shows as Step.job_id ("<run id>-<step slug>"); `find_step` maps it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dagwire.server.engine.tenancy import Tenant
from dagwire.server.engine.usage import UsageRecord
from dagwire.server.workflow.errors import NotFound
from dagwire.server.workflow.runs import RunView, WorkflowRuntime

# A PaddleFlow job id is tried as "<run id>-<slug>" at this many of its dashes, longest
# run id first: bounds the lookups one request costs.
MAX_RUN_ID_GUESSES = 8


class UsageReader(Protocol):
    """store.usage.SqlUsageStore, as read here."""

    async def for_job(
        self, job_id: str, created: datetime, task_ids: Sequence[str] = ()
    ) -> list[UsageRecord]: ...


@dataclass(frozen=True, slots=True)
class StepUsage:
    """One finished attempt of one step's process, with the step's name."""

    step_name: str
    record: UsageRecord


class RunStatistics:
    def __init__(self, runs: WorkflowRuntime, usage: UsageReader) -> None:
        self._runs = runs
        self._usage = usage

    async def for_run(
        self, tenant: Tenant, run_id: str, step_name: str = ""
    ) -> tuple[RunView, list[StepUsage]]:
        """The run and its steps' records (one step's, when named), in spec order then
        by attempt. NotFound for a run or step the caller cannot see."""
        view = await self._runs.get_run(tenant, run_id)
        return view, await self.of_view(view, step_name)

    async def of_view(self, view: RunView, step_name: str = "") -> list[StepUsage]:
        spec = view.job.spec
        if step_name and step_name not in {task.alias for task in spec.tasks}:
            raise NotFound("step", f"{view.record.run_id}/{step_name}")
        aliases = {
            task.task_id: task.alias
            for task in spec.tasks
            if not step_name or task.alias == step_name
        }
        records = await self._usage.for_job(view.job.job_id, view.job.create_time, list(aliases))
        order = {task.task_id: index for index, task in enumerate(spec.tasks)}
        records.sort(key=lambda r: (order.get(r.task_id, 0), r.attempt, r.domain_id))
        return [StepUsage(aliases[r.task_id], r) for r in records if r.task_id in aliases]

    async def latest(self, view: RunView) -> dict[str, UsageRecord]:
        """Each step's latest finished attempt's record (for GetRun's steps)."""
        return {entry.step_name: entry.record for entry in await self.of_view(view)}

    async def find_step(self, tenant: Tenant, job_id: str) -> tuple[RunView, str]:
        """The run and step whose engine task id is `job_id` (PaddleFlow's job id).
        NotFound, as "job", when the caller has no such step."""
        cuts = [index for index, char in enumerate(job_id) if char == "-"]
        for cut in reversed(cuts[-MAX_RUN_ID_GUESSES:]):
            try:
                view = await self._runs.get_run(tenant, job_id[:cut])
            except NotFound:
                continue
            for task in view.job.spec.tasks:
                if task.task_id == job_id:
                    return view, task.alias
        raise NotFound("job", job_id)
