"""Every RPC of a routed service has exactly one HTTP path, and the tables agree with
the services they name: checked against the generated descriptors, no server needed."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import yaml
from google.protobuf.descriptor import ServiceDescriptor

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2
from dagwire.server.gateway import openapi
from dagwire.server.gateway.routes import ROUTE_TABLES, RouteTable
from dagwire.v1 import step_execution_service_pb2, workflow_service_pb2

DESCRIPTORS: dict[str, ServiceDescriptor] = {
    service.full_name: service
    for service in (
        job_pb2.DESCRIPTOR.services_by_name["JobService"],
        workflow_service_pb2.DESCRIPTOR.services_by_name["WorkflowService"],
        step_execution_service_pb2.DESCRIPTOR.services_by_name["StepExecutionService"],
    )
}


def params(tables: list[RouteTable]) -> list[Any]:
    return [pytest.param(table, id=table.service.rsplit(".", 1)[-1]) for table in tables]


TABLES = params(list(ROUTE_TABLES))
STATUS_TABLES = params([table for table in ROUTE_TABLES if not table.in_band])


def test_the_kuscia_and_v1_services_are_routed() -> None:
    assert {table.service for table in ROUTE_TABLES} == set(DESCRIPTORS)


@pytest.mark.parametrize("table", TABLES)
def test_every_rpc_of_the_service_has_exactly_one_path(table: RouteTable) -> None:
    rpcs = Counter(table.paths.values())
    assert set(rpcs) == {method.name for method in DESCRIPTORS[table.service].methods}
    assert [rpc for rpc, count in rpcs.items() if count > 1] == []


def test_no_two_routes_share_a_path() -> None:
    paths = Counter(path for table in ROUTE_TABLES for path, _ in table.routes())
    assert [path for path, count in paths.items() if count > 1] == []


def test_dagwire_paths_live_under_their_own_prefixes() -> None:
    prefixes = {table.service: table.prefix for table in ROUTE_TABLES if not table.in_band}
    assert prefixes == {
        "dagwire.v1.WorkflowService": "/api/v1/workflow/",
        "dagwire.v1.StepExecutionService": "/api/v1/stepexecution/",
    }


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(openapi.OPENAPI_PATH.read_text())
    return document


@pytest.mark.parametrize("table", TABLES)
def test_the_document_gives_each_path_its_request_and_response(
    table: RouteTable, committed: dict[str, Any]
) -> None:
    service = DESCRIPTORS[table.service]
    for path, rpc in table.routes():
        method = service.methods_by_name[rpc]
        operation = committed["paths"][path]["post"]
        assert operation["operationId"] == rpc
        request = operation["requestBody"]["content"]["application/json"]["schema"]
        assert request == {"$ref": openapi.SCHEMA_REF + method.input_type.full_name}
        (content,) = operation["responses"]["200"]["content"].values()
        assert content["schema"] == {"$ref": openapi.SCHEMA_REF + method.output_type.full_name}


@pytest.mark.parametrize("table", STATUS_TABLES)
def test_the_document_lists_the_http_statuses_of_grpc_errors(
    table: RouteTable, committed: dict[str, Any]
) -> None:
    for path, _ in table.routes():
        responses = committed["paths"][path]["post"]["responses"]
        assert {"400", "401", "404"} <= responses.keys(), path
        error = responses["400"]["content"]["application/json"]["schema"]
        assert error == {"$ref": openapi.SCHEMA_REF + openapi.ERROR_SCHEMA}


def test_timestamps_are_documented_as_rfc3339_strings(committed: dict[str, Any]) -> None:
    timestamp = committed["components"]["schemas"]["google.protobuf.Timestamp"]
    assert (timestamp["type"], timestamp["format"]) == ("string", "date-time")


def test_v1_request_fields_carry_their_proto_comments(committed: dict[str, Any]) -> None:
    request = committed["components"]["schemas"]["dagwire.v1.GetRunRequest"]
    assert request["properties"]["run_id"]["description"]
