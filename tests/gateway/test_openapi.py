"""server/gateway/openapi.yaml is generated from proto/ and the route tables; this keeps
it in sync (regenerate with `python -m dagwire.server.gateway.openapi --write`)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from dagwire.server.gateway import openapi
from dagwire.server.gateway.routes import ROUTE_TABLES
from tests.gateway.conftest import Gateway


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
