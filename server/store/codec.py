"""Job <-> JSON-able dict. The stored form is versioned so that it can evolve."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from dagwire.server.engine.memo import IdentityMemo
from dagwire.server.engine.model import (
    ApprovalState,
    BandwidthLimit,
    Branching,
    Condition,
    ExecutionPolicy,
    FailureStrategy,
    Job,
    JobKind,
    JobSpec,
    JobState,
    PartyRun,
    PartySpec,
    PartyState,
    ScheduleConfig,
    SkipCause,
    Stage,
    TaskEvent,
    TaskMoment,
    TaskRun,
    TaskSpec,
    TaskState,
)

FORMAT_VERSION = 1


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def job_to_json(job: Job) -> str:
    """The stored form as compact JSON text: the same document as
    json.dumps(job_to_dict(job)), assembled from per-object pieces that are encoded once
    (the spec, and each task as long as it is unchanged)."""
    return assemble(head_json(job), spec_json(job.spec), task_jsons(job))


@dataclass(frozen=True, slots=True)
class JobParts:
    """A job's stored form in its parts, each compact JSON: the head (everything but the
    spec and the tasks), the spec, and each task."""

    head: str
    spec: str
    tasks: tuple[str, ...]
    # Whether an update must rewrite the spec too: a spec is fixed at creation except for
    # a loop laid out at run time (engine.loops); True when the writer cannot tell.
    spec_changed: bool = True

    @classmethod
    def of(cls, job: Job) -> JobParts:
        return cls(head_json(job), spec_json(job.spec), task_jsons(job))

    def whole(self) -> str:
        return assemble(self.head, self.spec, self.tasks)


def job_from_json(doc: str, version: int, resource_version: int) -> Job:
    return job_from_dict(json.loads(doc), version=version, resource_version=resource_version)


def head_json(job: Job) -> str:
    """Everything of the stored form but the spec and the tasks."""
    return compact_json(_head_to_dict(job))


def spec_json(spec: JobSpec) -> str:
    return _spec_json(spec)


def spec_from_json(doc: str) -> JobSpec:
    """A spec from spec_json's form (a federation peer carries a job in it); ValueError
    when the document is not one."""
    try:
        data = json.loads(doc)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return _spec_from_dict(data)
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"not a job spec document: {error!r}") from error


def task_jsons(job: Job) -> tuple[str, ...]:
    """Each task's stored form, encoded once per task value."""
    return tuple(_task_json(task) for task in job.tasks)


def task_json(task: TaskRun) -> str:
    """A task's stored form, encoded once per task value."""
    return _task_json(task)


def assemble(head: str, spec: str, tasks: Sequence[str]) -> str:
    """The whole stored form from its parts."""
    return f'{head[:-1]},"spec":{spec},"tasks":[{",".join(tasks)}]}}'


def delta_json(head: str, changed: Mapping[int, str]) -> str:
    """A change of a job as the head after it and the tasks it replaced, by position."""
    tasks = ",".join(f'"{position}":{task}' for position, task in changed.items())
    return f'{{"head":{head},"tasks":{{{tasks}}}}}'


def job_after_delta(job: Job, delta: str, *, version: int, resource_version: int) -> Job:
    """The job a delta_json document turns `job` into; unchanged tasks are kept."""
    data = json.loads(delta)
    tasks = list(job.tasks)
    for position, task in data["tasks"].items():
        tasks[int(position)] = _task_run_from_dict(task)
    return replace(
        job,
        **_head_from_dict(data["head"]),
        tasks=tuple(tasks),
        version=version,
        resource_version=resource_version,
    )


def _head_to_dict(job: Job) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "state": job.state.value,
        "stage": job.stage.value,
        "err_msg": job.err_msg,
        "create_time": _time(job.create_time),
        "start_time": _time(job.start_time),
        "end_time": _time(job.end_time),
        "approvals": {domain: state.value for domain, state in job.approvals.items()},
    }


def _head_from_dict(data: dict[str, Any]) -> dict[str, Any]:
    create_time = _parse_time(data["create_time"])
    assert create_time is not None
    return {
        "state": JobState(data["state"]),
        "stage": Stage(data["stage"]),
        "err_msg": data["err_msg"],
        "create_time": create_time,
        "start_time": _parse_time(data["start_time"]),
        "end_time": _parse_time(data["end_time"]),
        "approvals": {d: ApprovalState(s) for d, s in data["approvals"].items()},
    }


def compact_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def job_to_dict(job: Job) -> dict[str, Any]:
    return {
        **_head_to_dict(job),
        "spec": _spec_to_dict(job.spec),
        "tasks": [_task_run_to_dict(task) for task in job.tasks],
    }


def job_from_dict(data: dict[str, Any], *, version: int, resource_version: int) -> Job:
    return Job(
        spec=_spec_from_dict(data["spec"]),
        tasks=tuple(_task_run_from_dict(task) for task in data["tasks"]),
        version=version,
        resource_version=resource_version,
        **_head_from_dict(data),
    )


def _spec_to_dict(spec: JobSpec) -> dict[str, Any]:
    return {
        "job_id": spec.job_id,
        "initiator": spec.initiator,
        "max_parallelism": spec.max_parallelism,
        "custom_fields": dict(spec.custom_fields),
        "kind": spec.kind.value,
        "failure_strategy": spec.failure_strategy.value,
        "tasks": [
            _lean(
                {
                    "alias": t.alias,
                    "task_id": t.task_id,
                    "app_image": t.app_image,
                    "parties": [
                        _lean(
                            {
                                "domain_id": p.domain_id,
                                "role": p.role,
                                "resources": dict(p.resources),
                                "bandwidth_limits": [
                                    [b.destination_id, b.limit_kbps] for b in p.bandwidth_limits
                                ],
                            }
                        )
                        for p in t.parties
                    ],
                    "dependencies": list(t.dependencies),
                    "task_input_config": t.task_input_config,
                    "priority": t.priority,
                    "timeout_seconds": t.timeout_seconds,
                    "start_timeout_seconds": t.start_timeout_seconds,
                    "schedule": _schedule_to_list(t.schedule),
                    "tolerable": t.tolerable,
                    **_step_fields(t),
                }
            )
            for t in spec.tasks
        ],
    }


def _spec_from_dict(data: dict[str, Any]) -> JobSpec:
    return JobSpec(
        job_id=data["job_id"],
        initiator=data["initiator"],
        max_parallelism=data["max_parallelism"],
        custom_fields=data["custom_fields"],
        kind=JobKind(data.get("kind", JobKind.JOB.value)),
        failure_strategy=FailureStrategy(
            data.get("failure_strategy", FailureStrategy.FAIL_FAST.value)
        ),
        tasks=tuple(
            TaskSpec(
                alias=t["alias"],
                task_id=t["task_id"],
                app_image=t.get("app_image", ""),
                parties=tuple(
                    PartySpec(
                        domain_id=p["domain_id"],
                        role=p.get("role", ""),
                        resources=p.get("resources", {}),
                        bandwidth_limits=tuple(
                            BandwidthLimit(d, k) for d, k in p.get("bandwidth_limits", ())
                        ),
                    )
                    for p in t.get("parties", ())
                ),
                dependencies=tuple(t.get("dependencies", ())),
                task_input_config=t.get("task_input_config", ""),
                priority=t.get("priority", 0),
                timeout_seconds=t.get("timeout_seconds", 0),
                start_timeout_seconds=t.get("start_timeout_seconds", 0),
                schedule=_schedule_from_list(t.get("schedule")),
                tolerable=t.get("tolerable", False),
                disabled=t.get("disabled", False),
                post=t.get("post", False),
                hold=t.get("hold", False),
                execution_policy=ExecutionPolicy(t.get("execution_policy", "stop")),
                branching=_branching_from_dict(t.get("branching")),
                loop_item=t["loop_item"][0] if t.get("loop_item") else None,
            )
            for t in data["tasks"]
        ),
    )


def _lean(document: dict[str, Any]) -> dict[str, Any]:
    """Leave out fields at their default (empty, zero, false, none): a 1,000-task job is
    stored on every change, and most of its fields are defaults. Readers default them."""
    return {key: value for key, value in document.items() if value}


def _task_run_to_dict(task: TaskRun) -> dict[str, Any]:
    document: dict[str, Any] = _lean(
        {
            "alias": task.alias,
            "state": task.state.value,
            "attempt": task.attempt,
            "err_msg": task.err_msg,
            "create_time": _time(task.create_time),
            "start_time": _time(task.start_time),
            "end_time": _time(task.end_time),
            "progress": task.progress,
            "relaunches": task.relaunches,
            "parties": [_party_to_list(p) for p in task.parties],
        }
    )
    # Fields of pipeline steps, stored only when set: Kuscia tasks stay as lean as before.
    optional: dict[str, Any] = {
        "cached_from": task.cached_from,
        "skip_cause": task.skip_cause.value if task.skip_cause else None,
        "waived": task.waived,
        "released": task.released,
        "parameters": dict(task.parameters),
        "metrics": dict(task.metrics),
        "condition_values": [list(pair) for pair in task.condition_values],
        "events": [_event_to_list(e) for e in task.events],
    }
    document.update((key, value) for key, value in optional.items() if value)
    if task.condition_result is not None:
        document["condition_result"] = task.condition_result
    return document


def _task_run_from_dict(data: dict[str, Any]) -> TaskRun:
    create_time = _parse_time(data["create_time"])
    assert create_time is not None
    return TaskRun(
        alias=data["alias"],
        state=TaskState(data["state"]),
        attempt=data.get("attempt", 0),
        err_msg=data.get("err_msg", ""),
        create_time=create_time,
        start_time=_parse_time(data.get("start_time")),
        end_time=_parse_time(data.get("end_time")),
        progress=data.get("progress", 0.0),
        relaunches=data.get("relaunches", 0),
        cached_from=data.get("cached_from", ""),
        skip_cause=SkipCause(data["skip_cause"]) if data.get("skip_cause") else None,
        waived=data.get("waived", False),
        released=data.get("released", False),
        parameters=data.get("parameters", {}),
        metrics=data.get("metrics", {}),
        condition_result=data.get("condition_result"),
        condition_values=tuple((a, b) for a, b in data.get("condition_values", [])),
        events=tuple(_event_from_list(entry) for entry in data.get("events", [])),
        parties=tuple(_party_from_list(entry) for entry in data.get("parties", ())),
    )


# A moment and a party's exiting mark are stored only when set (a fourth element), so
# what earlier versions stored reads unchanged.
def _event_to_list(event: TaskEvent) -> list[Any]:
    entry: list[Any] = [_time(event.time), event.state.value, event.message]
    return [*entry, event.moment.value] if event.moment else entry


def _event_from_list(entry: list[Any]) -> TaskEvent:
    moment = TaskMoment(entry[3]) if len(entry) > 3 else None
    return TaskEvent(datetime.fromisoformat(entry[0]), TaskState(entry[1]), entry[2], moment)


def _party_to_list(party: PartyRun) -> list[Any]:
    entry: list[Any] = [party.domain_id, party.state.value, party.err_msg]
    return [*entry, True] if party.exiting else entry


def _party_from_list(entry: list[Any]) -> PartyRun:
    return PartyRun(entry[0], PartyState(entry[1]), entry[2], exiting=len(entry) > 3)


def _condition_to_dict(condition: Condition) -> dict[str, Any]:
    return {
        "op": condition.op,
        "left": condition.left,
        "right": condition.right,
        "any_of": [_condition_to_dict(inner) for inner in condition.any_of],
    }


def _condition_from_dict(data: dict[str, Any]) -> Condition:
    return Condition(
        op=data["op"],
        left=data["left"],
        right=data["right"],
        any_of=tuple(_condition_from_dict(inner) for inner in data["any_of"]),
    )


def _branching_to_dict(branching: Branching | None) -> dict[str, Any] | None:
    if branching is None:
        return None
    return {
        "conditions": [_condition_to_dict(c) for c in branching.conditions],
        "if_then": list(branching.if_then),
        "else_then": list(branching.else_then),
    }


def _branching_from_dict(data: dict[str, Any] | None) -> Branching | None:
    if data is None:
        return None
    return Branching(
        conditions=tuple(_condition_from_dict(c) for c in data["conditions"]),
        if_then=tuple(data["if_then"]),
        else_then=tuple(data["else_then"]),
    )


def _step_fields(task: TaskSpec) -> dict[str, Any]:
    """Fields of pipeline steps, stored only when set."""
    fields = {
        "disabled": task.disabled,
        "post": task.post,
        "hold": task.hold,
        "execution_policy": (
            task.execution_policy.value
            if task.execution_policy is not ExecutionPolicy.STOP
            else None
        ),
        "branching": _branching_to_dict(task.branching),
        # A list, so that an empty item ("") is stored too (falsy values are left out).
        "loop_item": [task.loop_item] if task.loop_item is not None else None,
    }
    return {key: value for key, value in fields.items() if value}


_spec_json: IdentityMemo[JobSpec, str] = IdentityMemo(
    lambda spec: compact_json(_spec_to_dict(spec))
)
_task_json: IdentityMemo[TaskRun, str] = IdentityMemo(
    lambda task: compact_json(_task_run_to_dict(task))
)


def _schedule_to_list(schedule: ScheduleConfig | None) -> list[int] | None:
    if schedule is None:
        return None
    return [
        schedule.task_timeout_seconds,
        schedule.resource_reserved_seconds,
        schedule.resource_reallocation_interval_seconds,
    ]


def _schedule_from_list(values: list[int] | None) -> ScheduleConfig | None:
    # Rows written before the field existed have none: the task had no schedule shown.
    return ScheduleConfig(*values) if values else None
