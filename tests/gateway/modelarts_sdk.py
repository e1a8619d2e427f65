"""Huawei Cloud's official ModelArts SDK (huaweicloudsdkmodelarts), pointed at the test
server's gateway, and the dagwire calls that set up the runs it acts on.

SDK files used: huaweicloudsdkmodelarts/v1/modelarts_client.py (ModelArtsClient,
create_workflow_step_executions_actions), .../v1/model/
create_workflow_step_executions_actions_request.py
(CreateWorkflowStepExecutionsActionsRequest), .../v1/model/step_execution_action.py
(StepExecutionAction), .../v1/model/workflow_parameter.py (WorkflowParameter),
.../v1/model/data_requirement.py (DataRequirement); huaweicloudsdkcore/auth/credentials.py
(BasicCredentials: AK/SK signing, project id), huaweicloudsdkcore/exceptions/exceptions.py
(ClientRequestException: status_code, error_code, error_msg).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkmodelarts.v1 import (
    CreateWorkflowStepExecutionsActionsRequest,
    CreateWorkflowStepExecutionsActionsResponse,
    DataRequirement,
    ModelArtsClient,
    StepExecutionAction,
    WorkflowParameter,
)

from dagwire.client import DagwireClient
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import message_pb2 as pb
from dagwire.v1 import step_execution_request_response_pb2 as sr
from dagwire.v1 import step_execution_service_pb2_grpc as srpc
from tests.conftest import ServerThread

# Dummy keys: the server checks signatures only when it has an access-key file.
AK, SK = "HPUADAGWIRETESTAK", "dagwire-test-secret-key"


def modelarts_client(
    dagwire_server: ServerThread,
    project_id: str = "dagwire",
    *,
    token: str | None = None,
    ak: str = AK,
    sk: str = SK,
) -> ModelArtsClient:
    """The SDK's client on the gateway's loopback address, as a ModelArts endpoint."""
    assert dagwire_server.server is not None and dagwire_server.server.http is not None
    config = HttpConfig.get_default_config()
    config.timeout = (5, 30)
    client = (
        ModelArtsClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(ak, sk, project_id))
        .with_endpoint(dagwire_server.server.http.url)
        .build()
    )
    if token is not None:
        # ModelArts' token header; the SDK sends (and signs) preset headers on every call.
        client.preset_headers = {"X-Auth-Token": token}
    return client


def act(
    client: ModelArtsClient,
    step: pb.StepExecution,
    action_name: str,
    *,
    parameters: list[WorkflowParameter] | None = None,
    data_requirements: list[DataRequirement] | None = None,
    workflow_id: str | None = None,
) -> CreateWorkflowStepExecutionsActionsResponse:
    request = CreateWorkflowStepExecutionsActionsRequest(
        workflow_id=step.workflow_id if workflow_id is None else workflow_id,
        execution_id=step.run_id,
        step_execution_id=step.uuid,
        body=StepExecutionAction(
            action_name=action_name,
            parameters=parameters,
            data_requirements=data_requirements,
        ),
    )
    response: CreateWorkflowStepExecutionsActionsResponse = (
        client.create_workflow_step_executions_actions(request)
    )
    return response


@dataclass(frozen=True, slots=True)
class Refusal:
    status_code: int
    error_code: str
    error_msg: str


def refusal(call: Any) -> Refusal:
    """What the SDK raised for a refused call."""
    try:
        call()
    except ClientRequestException as error:
        return Refusal(error.status_code, error.error_code, error.error_msg)
    raise AssertionError("the call was not refused")


class Dagwire:
    """dagwire's own calls over gRPC, to start runs and read their steps."""

    def __init__(self, dagwire_server: ServerThread, token: str | None = None) -> None:
        self.client = DagwireClient(target=dagwire_server.address, token=token)
        metadata = (("token", token),) if token else ()
        self._channel = grpc.insecure_channel(dagwire_server.address)
        self._steps = srpc.StepExecutionServiceStub(self._channel)
        self._metadata = metadata

    def close(self) -> None:
        self.client.close()
        self._channel.close()

    def wait_for(self, run_id: str, name: str, status: str) -> pb.StepExecution:
        """The step once it is in `status` (e.g. "HOLD"), watching the run's steps."""
        wanted = enums.StepExecutionStatus.Value(f"STEP_EXECUTION_STATUS_{status}")
        request = sr.WatchStepExecutionsRequest(
            run_id=run_id, step_names=[name], timeout_seconds=20
        )
        for event in self._steps.WatchStepExecutions(request, metadata=self._metadata):
            if event.status == wanted:
                return self.step(run_id, name)
        raise AssertionError(f"step {name} of {run_id} was never {status}")

    def step(self, run_id: str, name: str) -> pb.StepExecution:
        request = sr.GetStepExecutionRequest(run_id=run_id, step_name=name)
        answer = self._steps.GetStepExecution(request, metadata=self._metadata)
        step: pb.StepExecution = answer.step_execution
        return step
