"""ModelArts' step-execution action path in the OpenAPI document. Its body and answer are
ModelArts' (StepExecutionAction, StepExecution as ModelArts names the fields), not
dagwire.v1 messages, so their schemas are written here from ModelArts' API reference
("manage Workflow StepExecution") and what dagwire answers (api/modelarts_actions.py);
schema names start with `modelarts.`."""

from __future__ import annotations

from typing import Any

from dagwire.server.gateway.modelarts import (
    ACTIONS_PATH,
    AUTH_TOKEN_HEADERS,
    EXECUTION_NOT_FOUND,
    INTERNAL,
    INVALID,
    NOT_AUTHENTICATED,
    WORKFLOW_NOT_FOUND,
    WRONG_PROJECT,
)

_PREFIX = "modelarts."
# ModelArts' 14 step-execution statuses, in the order of its reference.
STATUSES = [
    "init",
    "wait_inputs",
    "pending",
    "creating",
    "created",
    "create_failed",
    "running",
    "stopping",
    "stopped",
    "timeout",
    "completed",
    "failed",
    "hold",
    "skipped",
]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{_PREFIX}{name}"}


def _string(description: str, enum: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": description}
    return {**schema, "enum": enum} if enum else schema


def _array(items: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "array", "items": items, "description": description}


def _object(properties: dict[str, Any], description: str, **more: Any) -> dict[str, Any]:
    # Answers are closed (every field dagwire sends is named here); bodies too, as the
    # gateway refuses unknown fields with ModelArts.0104.
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": False,
        **more,
    }


_ANY: dict[str, Any] = {"description": "Any JSON value."}
_MAP: dict[str, Any] = {"type": "object", "additionalProperties": True}

SCHEMAS: dict[str, Any] = {
    "StepExecutionAction": _object(
        {
            "action_name": _string("What to do with the step.", ["retry", "stop", "continue"]),
            "parameters": _array(
                _ref("WorkflowParameter"),
                "Values for the step's parameters (retry and continue); a name the step "
                "does not have is refused.",
            ),
            "data_requirements": _array(
                _ref("DataRequirement"),
                "Data for the step's parameters, given by name: `value.value` is used, "
                "else the whole map as JSON.",
            ),
        },
        "ModelArts' StepExecutionAction.",
        required=["action_name"],
    ),
    "WorkflowParameter": _object(
        {
            "name": _string("The parameter's name."),
            "type": _string(
                "The value's type; the value is checked against it.",
                [
                    "str",
                    "int",
                    "bool",
                    "float",
                ],
            ),
            "description": _string("Recorded, not checked."),
            "example": _ANY,
            "delay": {"type": "boolean", "description": "Recorded, not checked."},
            "default": _ANY,
            "value": _ANY,
            "enum": _array(_ANY, "The values allowed."),
            "used_steps": _array({"type": "string"}, "Recorded, not checked."),
            "format": _string(
                "json, uuid and date-time are checked; display formats (such as schedule) "
                "are recorded."
            ),
            "constraint": {
                **_MAP,
                "description": "min, max, min_length, max_length, pattern are checked.",
            },
        },
        "ModelArts' WorkflowParameter.",
        required=["name"],
    ),
    "DataRequirement": _object(
        {
            "name": _string("The parameter it gives a value to."),
            "type": _string("The data source type (dataset, obs, swr, ...)."),
            "conditions": _array(_ref("Constraint"), "Recorded, not checked."),
            "value": {**_MAP, "description": "The data: `value.value`, else the whole map."},
            "used_steps": _array({"type": "string"}, "Recorded, not checked."),
            "delay": {"type": "boolean", "description": "Recorded, not checked."},
        },
        "ModelArts' DataRequirement.",
        required=["name"],
    ),
    "Constraint": _object(
        {
            "attribute": _string("A field of the data."),
            "operator": _string("equal."),
            "value": _ANY,
        },
        "ModelArts' Constraint.",
    ),
    "StepExecution": _object(
        {
            "step_name": _string("The step's name, unique in its run."),
            "uuid": _string("The step execution's id (`step_execution_id`)."),
            "created_at": _string("RFC 3339."),
            "duration": {"type": "integer", "description": "Seconds it ran; 0 until it ends."},
            "type": _string("job, condition or hold."),
            "instance_id": _string("Its attempt's instance."),
            "status": _string(
                "ModelArts' statuses; init and created appear only in `events`.", STATUSES
            ),
            "inputs": _array(_ref("JobInput"), "Input artifacts and parameters."),
            "outputs": _array(_ref("JobOutput"), "Output artifacts and metrics."),
            "step_uuid": _string("The step's id across runs of its pipeline."),
            "properties": {**_MAP, "description": "attempt, docker_env, skip_cause, ..."},
            "events": _array(
                {"type": "string"},
                'Status changes: "2025-01-01 10:00:00 change status from init to '
                'wait_inputs", in UTC.',
            ),
            "error_info": _object(
                {"error_code": _string("Why it failed."), "error_message": _string("Words.")},
                "ModelArts' WorkflowErrorInfo.",
            ),
            "policy": _object(
                {
                    "execution_policy": _string(
                        "What a failure does.",
                        [
                            "stop",
                            "retry",
                            "continue",
                        ],
                    ),
                    "use_cache": {"type": "boolean"},
                },
                "ModelArts' WorkflowStepExecutionPolicy.",
            ),
            "conditions_execution": _object(
                {
                    "result": _string("true or false."),
                    "metric_list": _array(
                        _object({"key": _string("operand"), "value": _ANY}, "A metric pair."),
                        "The values compared.",
                    ),
                },
                "ModelArts' WorkflowConditionExecution.",
            ),
            "step_title": _string("The step's title."),
            "conditions": _array(
                _object(
                    {"type": _string("==, !=, >, >=, <, <=, in, or."), "left": _ANY, "right": _ANY},
                    "ModelArts' StepCondition.",
                ),
                "A condition step's conditions.",
            ),
        },
        "ModelArts' StepExecution.",
    ),
    "JobInput": _object(
        {
            "name": _string("Its name."),
            "type": _string("obs or parameter."),
            "data": _ANY,
            "value": _ANY,
        },
        "ModelArts' JobInput.",
    ),
    "JobOutput": _object(
        {"name": _string("Its name."), "type": _string("obs or metric."), "config": _MAP},
        "ModelArts' JobOutput.",
    ),
    "Error": _object(
        {
            "error_code": _string("ModelArts' code, e.g. ModelArts.0104."),
            "error_msg": _string("What went wrong."),
        },
        "ModelArts' error body.",
        required=["error_code", "error_msg"],
    ),
}


# HTTP status -> what ModelArts answers with it (modelarts.py's ERRORS and its README table).
REFUSALS: dict[int, str] = {
    400: f"{INVALID}: a bad body, unknown field, bad action_name, a parameter check, or an "
    f"action the status forbids; {EXECUTION_NOT_FOUND}: unknown execution or step "
    f"execution; {WORKFLOW_NOT_FOUND}: the execution is not of workflow_id.",
    401: f"{NOT_AUTHENTICATED}: missing or unknown token, or a bad AK/SK signature.",
    403: f"{WRONG_PROJECT}: a token bound to a domain naming another project_id.",
    500: f"{INTERNAL}: a bug or a database failure.",
}


def _refusals() -> dict[str, Any]:
    return {
        str(status): {
            "description": text,
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for status, text in REFUSALS.items()
    }


def path_item() -> tuple[str, dict[str, Any]]:
    """The path and its OpenAPI path item."""
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": text,
        }
        for name, text in (
            ("project_id", "The caller's domain (an operator may name any)."),
            ("workflow_id", "The run's pipeline id (the run's own id for a run from raw YAML)."),
            ("execution_id", "The run id."),
            ("step_execution_id", "The step's uuid."),
        )
    ]
    parameters.append(
        {
            "name": AUTH_TOKEN_HEADERS[0],
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": f"The token (or `{AUTH_TOKEN_HEADERS[1]}`); requests signed with "
            "AK/SK (SDK-HMAC-SHA256) are verified when the server has --access-key-file.",
        }
    )
    operation = {
        "operationId": "CreateWorkflowStepExecutionsActions",
        "summary": "ModelArts' retry, stop or continue of a step execution.",
        "description": "As ModelArts' API and its SDK (huaweicloudsdkmodelarts, "
        "CreateWorkflowStepExecutionsActionsRequest) call it, backed by "
        "StepExecutionService.ActOnStepExecution. A stop answers `stopping` until the "
        "step's processes have exited.",
        "tags": ["ModelArts"],
        "parameters": parameters,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("StepExecutionAction")}},
        },
        "responses": {
            "201": {
                "description": "The step execution after the action.",
                "content": {"application/json": {"schema": _ref("StepExecution")}},
            },
            **_refusals(),
        },
    }
    return ACTIONS_PATH, {"post": operation}


def schemas() -> dict[str, Any]:
    return {f"{_PREFIX}{name}": schema for name, schema in SCHEMAS.items()}
