"""An ActOnStepExecutionRequest's parameters and data requirements -> the domain's."""

from __future__ import annotations

from dagwire.server.workflow.action_parameters import ActionParameter, DataRequirement
from dagwire.v1 import step_execution_request_response_pb2 as rr


def parameters_from_proto(request: rr.ActOnStepExecutionRequest) -> list[ActionParameter]:
    return [
        ActionParameter(
            name=p.name,
            value=p.value,
            type=p.type,
            default=p.default,
            enum=tuple(p.enum),
            format=p.format,
            constraint=dict(p.constraint),
        )
        for p in request.parameters
    ]


def data_requirements_from_proto(request: rr.ActOnStepExecutionRequest) -> list[DataRequirement]:
    return [DataRequirement(name=d.name, value=dict(d.value)) for d in request.data_requirements]
