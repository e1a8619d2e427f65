"""ModelArts' step-execution action in dagwire.v1 terms, for the gateway's ModelArts path:
its JSON body (StepExecutionAction) -> ActOnStepExecutionRequest, a StepExecution -> the
JSON ModelArts answers, and the action itself through the same servicer the gRPC server
runs (the gateway never imports generated code; this room does).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from google.protobuf.json_format import MessageToDict

from dagwire.server.api.step_execution_service import Context, StepExecutionServicer
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import step_execution_request_response_pb2 as rr

ACTION_NAMES: Mapping[str, int] = {
    "retry": enums.STEP_ACTION_RETRY,
    "stop": enums.STEP_ACTION_STOP,
    "continue": enums.STEP_ACTION_CONTINUE,
}
BODY_FIELDS = frozenset({"action_name", "parameters", "data_requirements"})
PARAMETER_FIELDS = frozenset(
    {"name", "type", "description", "example", "delay", "default", "value", "enum"}
    | {"used_steps", "format", "constraint"}
)
DATA_REQUIREMENT_FIELDS = frozenset({"name", "type", "conditions", "value", "used_steps", "delay"})
CONSTRAINT_FIELDS = frozenset({"attribute", "operator", "value"})


class BodyInvalid(Exception):
    """The body is not a StepExecutionAction; the text says where."""


class WorkflowMismatch(Exception):
    """The step's run is not of the workflow the path names."""


class ModelArtsStepActions:
    """ModelArts' action on a step, on StepExecutionServicer. Errors the servicer ends
    the call with reach the caller as the context's abort raises them."""

    def __init__(self, servicer: StepExecutionServicer) -> None:
        self._servicer = servicer

    async def act(
        self,
        workflow_id: str,
        execution_id: str,
        step_execution_id: str,
        body: bytes,
        context: Context,
    ) -> dict[str, Any]:
        action = action_request(body)
        found = await self._servicer.GetStepExecution(
            rr.GetStepExecutionRequest(run_id=execution_id, uuid=step_execution_id), context
        )
        if found.step_execution.workflow_id != workflow_id:
            raise WorkflowMismatch(workflow_id)
        action.run_id, action.uuid = execution_id, step_execution_id
        acted = await self._servicer.ActOnStepExecution(action, context)
        return step_execution_json(acted.step_execution)


def action_request(body: bytes) -> rr.ActOnStepExecutionRequest:
    """ModelArts' StepExecutionAction body -> ActOnStepExecutionRequest (without the
    step, which the path names)."""
    try:
        document = json.loads(body or b"{}")
    except ValueError as error:
        raise _invalid(f"the body is not JSON: {error}") from None
    fields = _object(document, "body", BODY_FIELDS)
    name = fields.get("action_name")
    if not isinstance(name, str) or name not in ACTION_NAMES:
        raise _invalid(f"action_name must be one of {', '.join(ACTION_NAMES)}, not {name!r}")
    return rr.ActOnStepExecutionRequest(
        action=ACTION_NAMES[name],  # type: ignore[arg-type]
        parameters=[_parameter(p, i) for i, p in enumerate(_list(fields, "parameters"))],
        data_requirements=[
            _data_requirement(d, i) for i, d in enumerate(_list(fields, "data_requirements"))
        ],
    )


def _parameter(document: Any, index: int) -> rr.WorkflowParameter:
    where = f"parameters[{index}]"
    p = _object(document, where, PARAMETER_FIELDS)
    return rr.WorkflowParameter(
        name=_str(p, "name", where),
        value=_text(p.get("value")),
        type=_str(p, "type", where),
        description=_str(p, "description", where),
        example=_text(p.get("example")),
        delay=bool(p.get("delay", False)),
        default=_text(p.get("default")),
        enum=[_text(v) for v in _list(p, "enum", where)],
        used_steps=[_text(v) for v in _list(p, "used_steps", where)],
        format=_str(p, "format", where),
        constraint={k: _text(v) for k, v in _object(p.get("constraint", {}), where).items()},
    )


def _data_requirement(document: Any, index: int) -> rr.DataRequirement:
    where = f"data_requirements[{index}]"
    d = _object(document, where, DATA_REQUIREMENT_FIELDS)
    conditions = [
        _object(c, f"{where}.conditions", CONSTRAINT_FIELDS) for c in _list(d, "conditions", where)
    ]
    return rr.DataRequirement(
        name=_str(d, "name", where),
        type=_str(d, "type", where),
        value={k: _text(v) for k, v in _object(d.get("value", {}), where).items()},
        conditions=[
            rr.DataConstraint(
                attribute=_text(c.get("attribute")),
                operator=_text(c.get("operator")),
                value=json.dumps(c.get("value")),
            )
            for c in conditions
        ],
        used_steps=[_text(v) for v in _list(d, "used_steps", where)],
        delay=bool(d.get("delay", False)),
    )


def _object(value: Any, where: str, allowed: frozenset[str] | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a JSON object")
    unknown = sorted(set(value) - allowed) if allowed is not None else []
    if unknown:
        raise _invalid(f"{where} has unknown fields: {', '.join(unknown)}")
    return value


def _list(document: Mapping[str, Any], key: str, where: str = "body") -> list[Any]:
    value = document.get(key) or []
    if not isinstance(value, list):
        raise _invalid(f"{where}.{key} must be a JSON array")
    return value


def _str(document: Mapping[str, Any], key: str, where: str) -> str:
    value = document.get(key) or ""
    if not isinstance(value, str):
        raise _invalid(f"{where}.{key} must be a string")
    return value


def _text(value: Any) -> str:
    """A JSON value as a parameter's text: strings as they are, the rest as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _invalid(why: str) -> BodyInvalid:
    return BodyInvalid(why)


# --- response -----------------------------------------------------------------------


def _lower_name(enum: Any, value: int, prefix: str) -> str:
    return "" if value == 0 else str(enum.Name(value)).removeprefix(prefix).lower()


def step_execution_json(step: pb.StepExecution) -> dict[str, Any]:
    """A StepExecution in ModelArts' field names (its StepExecution response): statuses
    and policies in lower case, JobInput/JobOutput, metric pairs as key/value, and
    duration and use_cache always present."""
    created = step.created_at.ToDatetime(tzinfo=UTC) if step.HasField("created_at") else None
    document: dict[str, Any] = {
        "step_name": step.step_name,
        "uuid": step.uuid,
        "created_at": created.isoformat() if created else "",
        "duration": step.duration,
        "type": step.type,
        "instance_id": step.instance_id,
        "status": _lower_name(enums.StepExecutionStatus, step.status, "STEP_EXECUTION_STATUS_"),
        "inputs": [_job_input(i) for i in step.inputs],
        "outputs": [_job_output(o) for o in step.outputs],
        "step_uuid": step.step_uuid,
        "properties": dict(step.properties),
        "events": list(step.events),
        "policy": {
            "execution_policy": _lower_name(
                enums.ExecutionPolicy, step.policy.execution_policy, "EXECUTION_POLICY_"
            ),
            "use_cache": step.policy.use_cache,
        },
        "step_title": step.step_title,
    }
    if step.HasField("error_info"):
        document["error_info"] = MessageToDict(step.error_info, preserving_proto_field_name=True)
    if step.HasField("conditions_execution"):
        document["conditions_execution"] = {
            "result": step.conditions_execution.result,
            "metric_list": [
                {"key": m.name, "value": _number_or_text(m.value)}
                for m in step.conditions_execution.metric_list
            ],
        }
    if step.conditions:
        document["conditions"] = [_condition(c) for c in step.conditions]
    return document


def _job_input(io: pb.StepIO) -> dict[str, Any]:
    # An artifact is a stored path, which ModelArts calls obs data; `data` is the
    # reference it was taken from ("step.output"). A parameter keeps its type word.
    if io.type == "artifact":
        return {"name": io.name, "type": "obs", "data": io.value}
    return {"name": io.name, "type": io.type, "value": io.value}


def _job_output(io: pb.StepIO) -> dict[str, Any]:
    if io.type == "artifact":
        return {"name": io.name, "type": "obs", "config": {}}
    return {"name": io.name, "type": io.type, "config": {"value": _number_or_text(io.value)}}


def _condition(condition: pb.StepCondition) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": condition.type,
        "left": condition.left,
        "right": condition.right,
    }
    if condition.conditions:
        # ModelArts' StepCondition has no field for alternatives; its operands are
        # objects, so an `or` carries them as its left operand.
        document["left"] = [_condition(c) for c in condition.conditions]
    return document


def _number_or_text(text: str) -> Any:
    """A metric as ModelArts' Object: a number when it is one (JSON has no NaN)."""
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text
