"""The server connects to a registered S3 file system's endpoint (it syncs the prefix
before and after each step), so a tenant names only the endpoints the operator lists
(--s3-endpoints): never an internal address of its choosing (the cloud's metadata
service, the database on loopback). Operators may name any."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc
import pytest

from dagwire.server.config import ServerConfig, parse_args
from dagwire.v1 import workflow_request_response_pb2 as rr
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.security.sandboxing import ALICE, OPS, token_file, workflows

__all__ = ["token_file", "workflows"]  # fixtures

pytestmark = pytest.mark.usefixtures("dagwire_server")

ALLOWED = "https://s3.example.test"


@pytest.fixture
def server_config(server_config: ServerConfig, token_file: Path) -> ServerConfig:
    return dataclasses.replace(
        server_config, token_file=token_file, s3_endpoints=frozenset({ALLOWED})
    )


def lake(name: str, endpoint: str) -> rr.CreateFileSystemRequest:
    return rr.CreateFileSystemRequest(
        name=name, url="s3://alice-data/raw", properties={"endpoint": endpoint}
    )


@pytest.mark.parametrize(
    "endpoint",
    ["http://169.254.169.254", "http://127.0.0.1:5432", "https://s3.example.test:8443"],
    ids=["metadata-service", "loopback-database", "allowed-host-other-port"],
)
async def test_a_tenant_cannot_name_an_endpoint_the_operator_did_not_list(
    workflows: rpc.WorkflowServiceStub, endpoint: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await workflows.CreateFileSystem(lake("inner", endpoint), metadata=ALICE)
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "--s3-endpoints" in (caught.value.details() or "")
    listed = await workflows.ListFileSystems(rr.ListFileSystemsRequest(), metadata=ALICE)
    assert not listed.file_systems, "a refused file system is not registered"


async def test_a_listed_endpoint_is_matched_by_origin(workflows: rpc.WorkflowServiceStub) -> None:
    # Default port and another case: the same endpoint.
    await workflows.CreateFileSystem(lake("lake", "HTTPS://S3.example.test:443"), metadata=ALICE)


async def test_an_operator_names_any_endpoint(workflows: rpc.WorkflowServiceStub) -> None:
    await workflows.CreateFileSystem(lake("inner", "http://127.0.0.1:9000"), metadata=OPS)


def test_the_flag_lists_endpoints() -> None:
    config = parse_args(["--s3-endpoints", "https://a.test, http://b.test:9000"])
    assert config.s3_endpoints == {"https://a.test", "http://b.test:9000"}
