"""Typed results of StepExecutionService (``dagwire.v1``): the steps of runs as ModelArts'
step executions, and the status changes a step watch streams. Frozen dataclasses built by
``_from_proto`` that keep the proto as ``raw``, as for runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dagwire.v1 import enums_pb2, message_pb2, step_execution_request_response_pb2

from ._workflow_models import _map, _time, _WireEnum


class StepExecutionStatus(_WireEnum):
    """A step's status in ModelArts' vocabulary (``completed``, ``hold``, ...)."""

    UNSPECIFIED = "unspecified"
    INIT = "init"
    WAIT_INPUTS = "wait_inputs"
    PENDING = "pending"
    CREATING = "creating"
    CREATED = "created"
    CREATE_FAILED = "create_failed"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    TIMEOUT = "timeout"
    COMPLETED = "completed"
    FAILED = "failed"
    HOLD = "hold"
    SKIPPED = "skipped"

    @classmethod
    def _wire(cls) -> tuple[Any, str]:
        return enums_pb2.StepExecutionStatus, "STEP_EXECUTION_STATUS_"


class StepAction(_WireEnum):
    """What a user asks of a step."""

    UNSPECIFIED = "unspecified"
    RETRY = "retry"
    STOP = "stop"
    CONTINUE = "continue"

    @classmethod
    def _wire(cls) -> tuple[Any, str]:
        return enums_pb2.StepAction, "STEP_ACTION_"


@dataclass(frozen=True)
class StepIO:
    """One input or output: ``type`` is artifact, parameter or metric."""

    name: str
    type: str
    value: str = ""


@dataclass(frozen=True)
class StepExecution:
    """One step of one run (ModelArts' StepExecution); ``uuid`` names it alone."""

    step_name: str
    uuid: str
    run_id: str
    status: StepExecutionStatus
    workflow_id: str = ""
    type: str = ""
    step_title: str = ""
    attempt: int = 0
    duration: int = 0
    instance_id: str = ""
    created_at: datetime | None = None
    inputs: tuple[StepIO, ...] = ()
    outputs: tuple[StepIO, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict, hash=False)
    events: tuple[str, ...] = ()
    error_code: str = ""
    error_message: str = ""
    raw: message_pb2.StepExecution | None = field(default=None, compare=False, repr=False)

    @classmethod
    def _from_proto(cls, msg: message_pb2.StepExecution) -> StepExecution:
        return cls(
            step_name=str(msg.step_name),
            uuid=str(msg.uuid),
            run_id=str(msg.run_id),
            status=StepExecutionStatus._from_proto(msg.status),
            workflow_id=str(msg.workflow_id),
            type=str(msg.type),
            step_title=str(msg.step_title),
            attempt=int(msg.attempt),
            duration=int(msg.duration),
            instance_id=str(msg.instance_id),
            created_at=_time(msg, "created_at"),
            inputs=tuple(StepIO(str(i.name), str(i.type), str(i.value)) for i in msg.inputs),
            outputs=tuple(StepIO(str(o.name), str(o.type), str(o.value)) for o in msg.outputs),
            properties=_map(msg.properties),
            events=tuple(str(e) for e in msg.events),
            error_code=str(msg.error_info.error_code),
            error_message=str(msg.error_info.error_message),
            raw=msg,
        )


@dataclass(frozen=True)
class StepTransition:
    """One status change of one step, with the step as it was when it was sent."""

    status: StepExecutionStatus
    step: StepExecution
    time: datetime | None = None
    message: str = ""
    resource_version: int = 0
    raw: step_execution_request_response_pb2.WatchStepExecutionsResponse | None = field(
        default=None, compare=False, repr=False
    )

    @classmethod
    def _from_proto(
        cls, msg: step_execution_request_response_pb2.WatchStepExecutionsResponse
    ) -> StepTransition:
        return cls(
            status=StepExecutionStatus._from_proto(msg.status),
            step=StepExecution._from_proto(msg.step_execution),
            time=_time(msg, "time"),
            message=str(msg.message),
            resource_version=int(msg.resource_version),
            raw=msg,
        )
