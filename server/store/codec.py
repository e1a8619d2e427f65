"""Job <-> JSON-able dict. The stored form is versioned so that it can evolve."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dagwire.server.engine.model import (
    ApprovalState,
    BandwidthLimit,
    FailureStrategy,
    Job,
    JobKind,
    JobSpec,
    JobState,
    PartyRun,
    PartySpec,
    PartyState,
    Stage,
    TaskRun,
    TaskSpec,
    TaskState,
)

FORMAT_VERSION = 1


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def job_to_dict(job: Job) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "spec": _spec_to_dict(job.spec),
        "state": job.state.value,
        "stage": job.stage.value,
        "err_msg": job.err_msg,
        "create_time": _time(job.create_time),
        "start_time": _time(job.start_time),
        "end_time": _time(job.end_time),
        "approvals": {domain: state.value for domain, state in job.approvals.items()},
        "tasks": [_task_run_to_dict(task) for task in job.tasks],
    }


def job_from_dict(data: dict[str, Any], *, version: int, resource_version: int) -> Job:
    create_time = _parse_time(data["create_time"])
    assert create_time is not None
    return Job(
        spec=_spec_from_dict(data["spec"]),
        state=JobState(data["state"]),
        stage=Stage(data["stage"]),
        err_msg=data["err_msg"],
        create_time=create_time,
        start_time=_parse_time(data["start_time"]),
        end_time=_parse_time(data["end_time"]),
        approvals={d: ApprovalState(s) for d, s in data["approvals"].items()},
        tasks=tuple(_task_run_from_dict(task) for task in data["tasks"]),
        version=version,
        resource_version=resource_version,
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
            {
                "alias": t.alias,
                "task_id": t.task_id,
                "app_image": t.app_image,
                "parties": [
                    {
                        "domain_id": p.domain_id,
                        "role": p.role,
                        "resources": dict(p.resources),
                        "bandwidth_limits": [
                            [b.destination_id, b.limit_kbps] for b in p.bandwidth_limits
                        ],
                    }
                    for p in t.parties
                ],
                "dependencies": list(t.dependencies),
                "task_input_config": t.task_input_config,
                "priority": t.priority,
                "timeout_seconds": t.timeout_seconds,
                "resource_reserved_seconds": t.resource_reserved_seconds,
                "resource_reallocation_interval_seconds": t.resource_reallocation_interval_seconds,
                "tolerable": t.tolerable,
                "disabled": t.disabled,
                "post": t.post,
            }
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
                app_image=t["app_image"],
                parties=tuple(
                    PartySpec(
                        domain_id=p["domain_id"],
                        role=p["role"],
                        resources=p["resources"],
                        bandwidth_limits=tuple(
                            BandwidthLimit(d, k) for d, k in p["bandwidth_limits"]
                        ),
                    )
                    for p in t["parties"]
                ),
                dependencies=tuple(t["dependencies"]),
                task_input_config=t["task_input_config"],
                priority=t["priority"],
                timeout_seconds=t["timeout_seconds"],
                resource_reserved_seconds=t["resource_reserved_seconds"],
                resource_reallocation_interval_seconds=t["resource_reallocation_interval_seconds"],
                tolerable=t["tolerable"],
                disabled=t.get("disabled", False),
                post=t.get("post", False),
            )
            for t in data["tasks"]
        ),
    )


def _task_run_to_dict(task: TaskRun) -> dict[str, Any]:
    return {
        "alias": task.alias,
        "state": task.state.value,
        "attempt": task.attempt,
        "err_msg": task.err_msg,
        "create_time": _time(task.create_time),
        "start_time": _time(task.start_time),
        "end_time": _time(task.end_time),
        "progress": task.progress,
        "relaunches": task.relaunches,
        "cached_from": task.cached_from,
        "parties": [[p.domain_id, p.state.value, p.err_msg] for p in task.parties],
    }


def _task_run_from_dict(data: dict[str, Any]) -> TaskRun:
    create_time = _parse_time(data["create_time"])
    assert create_time is not None
    return TaskRun(
        alias=data["alias"],
        state=TaskState(data["state"]),
        attempt=data["attempt"],
        err_msg=data["err_msg"],
        create_time=create_time,
        start_time=_parse_time(data["start_time"]),
        end_time=_parse_time(data["end_time"]),
        progress=data["progress"],
        relaunches=data.get("relaunches", 0),
        cached_from=data.get("cached_from", ""),
        parties=tuple(PartyRun(d, PartyState(s), e) for d, s, e in data["parties"]),
    )
