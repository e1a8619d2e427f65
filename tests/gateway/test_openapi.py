"""server/gateway/openapi.yaml is generated from proto/ and the route tables; this keeps
it in sync (regenerate with `python -m dagwire.server.gateway.openapi --write`)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from dagwire.server.gateway import openapi
from dagwire.server.gateway.routes import ROUTE_TABLES
from dagwire.v1 import enums_pb2 as enums
from tests.gateway.conftest import Gateway
from tests.gateway.test_modelarts_body import actions_path


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(openapi.OPENAPI_PATH.read_text())
    return document


def test_the_committed_document_is_what_the_generator_makes() -> None:
    pytest.importorskip("grpc_tools", reason="generating needs grpcio-tools (the gen extra)")
    assert openapi.OPENAPI_PATH.read_text() == openapi.generate(), (
        "server/gateway/openapi.yaml is stale: run "
        "`python -m dagwire.server.gateway.openapi --write`"
    )


def test_every_route_is_documented(committed: dict[str, Any]) -> None:
    routes = {path for table in ROUTE_TABLES for path, _ in table.routes()}
    assert routes <= committed["paths"].keys()


def test_every_schema_reference_resolves(committed: dict[str, Any]) -> None:
    schemas = committed["components"]["schemas"]
    dangling = [ref for ref in references(committed) if ref.split("/")[-1] not in schemas]
    assert not dangling


def test_request_fields_carry_their_proto_comments(committed: dict[str, Any]) -> None:
    request = committed["components"]["schemas"][
        "kuscia.proto.api.v1alpha1.kusciaapi.CreateJobRequest"
    ]
    assert request["properties"]["job_id"]["description"].startswith("Unique job id")


def test_the_watch_is_documented_as_newline_delimited_json(committed: dict[str, Any]) -> None:
    answer = committed["paths"]["/api/v1/job/watch"]["post"]["responses"]["200"]
    assert list(answer["content"]) == ["application/x-ndjson"]


async def test_the_gateway_serves_the_document(gateway: Gateway) -> None:
    async with gateway.session.get("/openapi.yaml") as response:
        assert response.status == 200
        assert await response.text() == openapi.OPENAPI_PATH.read_text()


def references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in references(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in references(item)]
    return []


MODELARTS_ACTIONS = (
    "/v2/{project_id}/workflows/{workflow_id}/executions/{execution_id}"
    "/step-executions/{step_execution_id}/actions"
)


def test_modelarts_path_is_documented_with_its_body_answer_and_refusals(
    committed: dict[str, Any],
) -> None:
    operation = committed["paths"][MODELARTS_ACTIONS]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/modelarts.StepExecutionAction"}
    assert set(operation["responses"]) == {"201", "400", "401", "403", "500"}
    statuses = committed["components"]["schemas"]["modelarts.StepExecution"]["properties"]
    assert len(statuses["status"]["enum"]) == 14


async def test_modelarts_answers_conform_to_the_document(
    gateway: Gateway, committed: dict[str, Any]
) -> None:
    schemas = committed["components"]["schemas"]
    path = await actions_path(gateway)
    retried = await gateway.post(
        path,
        {"action_name": "retry", "parameters": [{"name": "mode", "type": "str", "value": "y"}]},
    )
    refused = await gateway.post(path, {"action_name": "retry", "parametrs": []})
    assert (retried.status, refused.status) == (201, 400)
    assert problems(retried.body, {"$ref": "modelarts.StepExecution"}, schemas) == []
    assert problems(refused.body, {"$ref": "modelarts.Error"}, schemas) == []
    # The check can fail: a field the document does not name is found.
    assert problems({**retried.body, "extra": 1}, {"$ref": "modelarts.StepExecution"}, schemas)


def problems(
    value: Any, schema: dict[str, Any], schemas: dict[str, Any], at: str = ""
) -> list[str]:
    """Where `value` breaks `schema` (types, enums, required and undocumented fields)."""
    if "$ref" in schema:
        return problems(value, schemas[schema["$ref"].split("/")[-1]], schemas, at)
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at}: {value!r} not in enum"]
    kind = schema.get("type")
    python = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}
    if kind in python and not isinstance(value, python[kind]):
        return [f"{at}: {value!r} is not {kind}"]
    found: list[str] = []
    if kind == "object":
        documented = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            found += [f"{at}.{key}: undocumented" for key in set(value) - set(documented)]
        found += [f"{at}.{key}: missing" for key in schema.get("required", []) if key not in value]
        for key, item in value.items():
            if key in documented:
                found += problems(item, documented[key], schemas, f"{at}.{key}")
    if kind == "array":
        for index, item in enumerate(value):
            found += problems(item, schema["items"], schemas, f"{at}[{index}]")
    return found


def test_modelarts_statuses_are_the_protos_in_modelarts_words(committed: dict[str, Any]) -> None:
    documented = committed["components"]["schemas"]["modelarts.StepExecution"]["properties"]
    protos = [
        value.name.removeprefix("STEP_EXECUTION_STATUS_").lower()
        for value in enums.StepExecutionStatus.DESCRIPTOR.values
        if value.number
    ]
    assert documented["status"]["enum"] == protos
