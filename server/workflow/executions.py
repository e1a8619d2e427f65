"""StepExecutions: the steps of runs as ModelArts' step executions — read, list, act on
(retry, stop, continue) and watch their status history. A step is its run's: every call
names the tenant, and another domain's run answers exactly as a missing one."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from dagwire.server.engine import reducer
from dagwire.server.engine.errors import IllegalTaskAction
from dagwire.server.engine.model import Job, PartyState, TaskEvent, TaskMoment, TaskRun, TaskState
from dagwire.server.engine.tenancy import Tenant
from dagwire.server.runtime.jobs import JobRuntime
from dagwire.server.workflow.action_parameters import (
    ActionParameter,
    DataRequirement,
    action_overrides,
)
from dagwire.server.workflow.compile import StepConfig
from dagwire.server.workflow.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from dagwire.server.workflow.paging import (
    Listing,
    decode_token,
    encode_token,
    page_limit,
    parse_filter,
)
from dagwire.server.workflow.runs import RunView, WorkflowRuntime
from dagwire.server.workflow.status import STEP_EXECUTION_STATUS, StepExecutionStatus

# Runs read per page when a step is looked up by its uuid alone.
_SCAN_PAGE = 500
_NAMESPACE = uuid.UUID("6f1c1e5e-2f6b-4c59-9a53-0f1d3c8a2b10")


class StepAction(enum.Enum):
    RETRY = "retry"
    STOP = "stop"
    CONTINUE = "continue"


@dataclass(frozen=True, slots=True)
class StepView:
    """One step of a run as it stands."""

    run: RunView
    alias: str

    @property
    def task(self) -> TaskRun:
        return self.run.job.task(self.alias)

    @property
    def uuid(self) -> str:
        return step_uuid(self.run.record.run_id, self.alias)

    @property
    def status(self) -> StepExecutionStatus:
        return status_at(self.run.job, self.alias, None)

    def history(self) -> list[tuple[TaskEvent, StepExecutionStatus]]:
        """Every status the step passed through, in order, with the entry of its history
        that says when."""
        return step_history(self.run.job, self.alias)

    def events(self) -> list[str]:
        """The status history in ModelArts' words: "2025-01-01 10:00:00 change status
        from init to wait_inputs", every step starting from init."""
        lines, previous = [], StepExecutionStatus.INIT.value
        for event, status in self.history():
            lines.append(
                f"{event.time:%Y-%m-%d %H:%M:%S} change status from {previous} to {status.value}"
            )
            previous = status.value
        return lines


@dataclass(frozen=True, slots=True)
class StepTransition:
    """One entry of a step's history, with the step as it is now."""

    event: TaskEvent
    status: StepExecutionStatus
    step: StepView
    resource_version: int

    @property
    def message(self) -> str:
        """The entry's words. The engine words a launch as "attempt N started"; at a
        launch the process has not started yet (that is the STARTED moment's entry)."""
        if self.status is StepExecutionStatus.CREATING:
            return _LAUNCH_WORDS.sub(r"\1 launched", self.event.message)
        return self.event.message


# The reducer's words for a launch (its _event_message for a running task).
_LAUNCH_WORDS = re.compile(r"^(attempt \d+) started$")


def step_uuid(run_id: str, alias: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{run_id}/{alias}"))


def status_at(job: Job, alias: str, event: TaskEvent | None) -> StepExecutionStatus:
    """A step's ModelArts status now (`event` None) or as of one state change of its
    history: a pending step whose upstream steps have not all settled waits for its
    inputs; a launched step is creating until every process of it has started (a
    STARTED moment follows in its history); a stopped step is stopping until its
    processes have exited (an EXITED moment follows)."""
    task = job.task(alias)
    state, message, at = (
        (task.state, task.err_msg, None)
        if event is None
        else (event.state, event.message, event.time)
    )
    status = STEP_EXECUTION_STATUS[(state, _is_timeout(message))]
    if status is StepExecutionStatus.PENDING and not _inputs_ready(job, alias, at):
        return StepExecutionStatus.WAIT_INPUTS
    if status is StepExecutionStatus.FAILED and _is_start_failure(message):
        return StepExecutionStatus.CREATE_FAILED
    if status is StepExecutionStatus.RUNNING and (
        event is not None or any(p.state is PartyState.PENDING for p in task.parties)
    ):
        return StepExecutionStatus.CREATING
    if status is StepExecutionStatus.STOPPED and event is None and _exiting(task):
        return StepExecutionStatus.STOPPING
    return status


def step_history(job: Job, alias: str) -> list[tuple[TaskEvent, StepExecutionStatus]]:
    """Each entry of a step's history with the statuses it stands for: a STARTED moment
    is ModelArts' created then running (dagwire's process start is both: nothing sits
    between a started process and its running); a stop whose processes exit later is
    stopping, and its EXITED moment stopped."""
    task = job.task(alias)
    entries: list[tuple[TaskEvent, StepExecutionStatus]] = []
    for index, event in enumerate(task.events):
        following = task.events[index + 1] if index + 1 < len(task.events) else None
        match event.moment:
            case TaskMoment.STARTED:
                entries.append((event, StepExecutionStatus.CREATED))
                entries.append((event, StepExecutionStatus.RUNNING))
            case TaskMoment.EXITED:
                entries.append((event, StepExecutionStatus.STOPPED))
            case None if event.state is TaskState.STOPPED and (
                (following is not None and following.moment is TaskMoment.EXITED)
                or (following is None and _exiting(task))
            ):
                entries.append((event, StepExecutionStatus.STOPPING))
            case _:
                entries.append((event, status_at(job, alias, event)))
    return entries


def _exiting(task: TaskRun) -> bool:
    return task.state is TaskState.STOPPED and any(p.exiting for p in task.parties)


def _inputs_ready(job: Job, alias: str, at: datetime | None) -> bool:
    """Whether every step `alias` depends on had settled by `at` (now, when None)."""
    return all(
        _state_at(job.task(upstream), at).is_settled
        for upstream in job.spec.task(alias).dependencies
    )


def _state_at(task: TaskRun, at: datetime | None) -> TaskState:
    if at is None:
        return task.state
    # Events of one reducer pass share a time: the last one at or before `at` counts.
    past = [event.state for event in task.events if event.time <= at]
    return past[-1] if past else TaskState.PENDING


def _is_timeout(message: str) -> bool:
    return message.startswith("timed out")  # the reducer's wording for TaskTimedOut


# How executors and the runtime word a process that could not be started (local:
# "failed to start: ...", runtime and Ray: "could not start ..."), which the reducer
# quotes in the step's failure.
_START_FAILURES = ("failed to start: ", "could not start")


def _is_start_failure(message: str) -> bool:
    return any(words in message for words in _START_FAILURES)


class StepExecutions:
    def __init__(self, runs: WorkflowRuntime, jobs: JobRuntime) -> None:
        self._runs = runs
        self._jobs = jobs

    async def get(self, tenant: Tenant, run_id: str, step_name: str, step_id: str) -> StepView:
        run = await self._run_of(tenant, run_id, step_name, step_id)
        return StepView(run, self._alias(run, step_name, step_id))

    async def list(
        self, tenant: Tenant, run_id: str, page_size: int, page_token: str, filter_text: str
    ) -> tuple[list[StepView], str]:
        run = await self._runs.get_run(tenant, run_id)
        where = parse_filter(
            filter_text, {"status"}, {"status": [s.value for s in StepExecutionStatus]}
        )
        steps = [StepView(run, task.alias) for task in run.job.tasks]
        if "status" in where:
            wanted = StepExecutionStatus(where["status"])
            steps = [step for step in steps if step.status is wanted]
        limit = page_limit(page_size, 100)
        start = decode_token(Listing.STEP_EXECUTIONS, page_token, filter_text) or 0
        end = start + limit
        more = end < len(steps)
        return steps[start:end], encode_token(
            Listing.STEP_EXECUTIONS, end if more else None, filter_text
        )

    async def act(
        self,
        tenant: Tenant,
        run_id: str,
        step_name: str,
        step_id: str,
        action: StepAction,
        parameters: Sequence[ActionParameter] = (),
        data_requirements: Sequence[DataRequirement] = (),
    ) -> StepView:
        view = await self._run_of(tenant, run_id, step_name, step_id)
        run_id = view.record.run_id
        alias = self._alias(view, step_name, step_id)
        # Unknown names are refused on every action, stop included, as CreateRun does.
        overrides = action_overrides(parameters, data_requirements, _parameter_names(view, alias))
        if overrides and action is StepAction.STOP:
            raise InvalidArgument.of("parameters", "stop takes no parameters")
        command: reducer.RetryTask | reducer.StopTask | reducer.ContinueTask
        match action:
            case StepAction.RETRY:
                command = reducer.RetryTask(alias, overrides)
            case StepAction.STOP:
                command = reducer.StopTask(alias, "stopped by user")
            case StepAction.CONTINUE:
                command = reducer.ContinueTask(alias, overrides)
        try:
            job = await self._jobs.act_on_task(run_id, command)
        except IllegalTaskAction as error:
            # Said in ModelArts' words: the status the user sees, not the engine's state.
            status = status_at(view.job, alias, None).value
            raise FailedPrecondition(
                "step",
                f"{run_id}/{alias}",
                f"it is {status}; {action.value} is not allowed ({error.hint})",
            ) from None
        return StepView(RunView(view.record, job), alias)

    async def watch(
        self,
        tenant: Tenant,
        run_id: str,
        step_names: Collection[str],
        heartbeat_interval: float,
        lifetime: float | None,
    ) -> AsyncIterator[StepTransition]:
        """Every status change of the run's steps in order: the history so far, then
        new entries as the run changes; ends once the run has finished."""
        await self._runs.get_run(tenant, run_id)  # NOT_FOUND before the stream starts
        sent: dict[str, int] = {}
        events = self._runs.watch_runs(tenant, [run_id], 0, heartbeat_interval, lifetime)
        try:
            async for event, record in events:
                job = event.job
                if job is None or record is None:
                    continue
                run = RunView(record, job)
                fresh: list[tuple[TaskEvent, StepExecutionStatus, str]] = []
                for task in job.tasks:
                    if step_names and task.alias not in step_names:
                        continue
                    # A stop's entry reads stopping once its processes are known to be
                    # exiting, so a step's history is sent by position, not by event.
                    history = step_history(job, task.alias)
                    fresh += [(e, s, task.alias) for e, s in history[sent.get(task.alias, 0) :]]
                    sent[task.alias] = len(history)
                fresh.sort(key=lambda item: item[0].time)  # stable: per-step order kept
                for entry, status, alias in fresh:
                    yield StepTransition(
                        entry, status, StepView(run, alias), event.resource_version
                    )
                # A finished run's stopped steps may still be exiting: their end is news.
                if job.state.is_terminal and not any(_exiting(task) for task in job.tasks):
                    return
        finally:
            await events.aclose()

    async def _run_of(self, tenant: Tenant, run_id: str, step_name: str, step_id: str) -> RunView:
        """The run named, or, given only a step uuid, the tenant's run that has that step."""
        if run_id or not step_id:
            if not run_id:
                raise InvalidArgument.of("run_id", "give run_id, or the step's uuid alone")
            return await self._runs.get_run(tenant, run_id)
        # A step's uuid is derived from its run id and name (step_uuid), so it says
        # nothing of its run: look through the runs, newest pages first as listed.
        token = ""
        while True:
            page = await self._runs.list_runs(tenant, _SCAN_PAGE, token, "")
            for run in page.items:
                if any(step_uuid(run.record.run_id, t.alias) == step_id for t in run.job.tasks):
                    return run
            if page.next_token is None:
                raise NotFound("step", step_id)
            token = encode_token(Listing.RUNS, page.next_token, "")

    def _alias(self, run: RunView, step_name: str, step_id: str) -> str:
        if step_name:
            try:
                run.job.task(step_name)
            except KeyError:
                raise NotFound("step", f"{run.record.run_id}/{step_name}") from None
            return step_name
        if not step_id:
            raise InvalidArgument([FieldViolation("step_name", "give step_name or uuid")])
        for task in run.job.tasks:
            if step_uuid(run.record.run_id, task.alias) == step_id:
                return task.alias
        raise NotFound("step", f"{run.record.run_id}/{step_id}")


def _parameter_names(view: RunView, alias: str) -> set[str]:
    """The parameters a step has: its spec's, and any an earlier action gave it."""
    config = StepConfig.from_json(view.job.spec.task(alias).task_input_config)
    return {*config.parameters, *view.job.task(alias).parameters}
