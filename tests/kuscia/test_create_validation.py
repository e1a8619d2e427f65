"""The checks of Kuscia's CreateJob (secretflow/kuscia pkg/kusciaapi/service/
job_service.go: validateCreateJobRequest and the resource loop of CreateJob;
pkg/common/constants.go K3sRegex), with Kuscia's own messages over gRPC."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.kuscia.conftest import create_request, sleeping_body
from tests.kuscia.kuscia_client import KusciaJobClient


async def create_code(kuscia: KusciaJobClient, body: dict[str, Any]) -> tuple[int, str]:
    response = await kuscia.call("CreateJob", create_request(kuscia.protos, body))
    return response.status.code, response.status.message


async def create_code_over_http(
    http: aiohttp.ClientSession, body: dict[str, Any]
) -> tuple[int, str]:
    """CreateJob over Kuscia's HTTP path: for the fields Kuscia's published stubs predate
    (bandwidth)."""
    async with http.post("/api/v1/job/create", json=body) as reply:
        status = (await reply.json())["status"]
    return int(status["code"]), str(status["message"])


def with_party(job_id: str, **party: Any) -> dict[str, Any]:
    body = sleeping_body(job_id, 0)
    body["tasks"][0]["parties"][0].update(party)
    return body


@pytest.mark.parametrize(
    "job_id",
    [
        pytest.param("a" * 64, id="64-characters"),
        pytest.param("a" * 100, id="100-characters"),
        pytest.param("Upper", id="uppercase"),
        pytest.param("under_score", id="underscore"),
        pytest.param("-dash-first", id="leading-dash"),
        pytest.param("dot-last.", id="trailing-dot"),
    ],
)
async def test_a_job_id_that_is_no_k8s_name_is_refused_with_11100(
    kuscia: KusciaJobClient, job_id: str
) -> None:
    # job_service.go validateCreateJobRequest -> resources.ValidateK8sName(job_id),
    # K3sRegex = ^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$
    code, message = await create_code(kuscia, sleeping_body(job_id, 0))
    assert code == 11100 and "job_id" in message
    assert (await kuscia("QueryJob", job_id=job_id)).status.code == 11202


@pytest.mark.parametrize(
    "job_id",
    [pytest.param("a" * 63, id="63-characters"), pytest.param("job.with.dots", id="dots")],
)
async def test_a_job_id_kuscias_pattern_allows_is_accepted(
    kuscia: KusciaJobClient, job_id: str
) -> None:
    assert await create_code(kuscia, sleeping_body(job_id, 0)) == (0, "success")


@pytest.mark.parametrize(
    ("resource", "value"),
    [
        pytest.param("cpu", "lots", id="cpu-lots"),
        pytest.param("memory", "2 GB", id="memory-with-space"),
        pytest.param("memory", "2GB", id="memory-unknown-suffix"),
    ],
)
async def test_a_resource_that_is_no_quantity_is_refused_with_11100(
    kuscia: KusciaJobClient, resource: str, value: str
) -> None:
    # job_service.go CreateJob: k8sresource.ParseQuantity fails ->
    # "parse input <resource> resource failed".
    code, message = await create_code(
        kuscia, with_party(f"bad-{resource}", resources={resource: value})
    )
    assert code == 11100
    assert f"parse input {resource} resource failed" in message


async def test_a_bandwidth_that_is_no_quantity_is_refused_with_11100(
    http: aiohttp.ClientSession,
) -> None:
    body = with_party("bad-bandwidth", resources={"bandwidth": "fast"})
    code, message = await create_code_over_http(http, body)
    assert code == 11100
    assert "parse input bandwidth resource failed" in message


async def test_resources_written_as_quantities_are_accepted(kuscia: KusciaJobClient) -> None:
    resources = {"cpu": "500m", "memory": "2Gi"}
    assert await create_code(kuscia, with_party("good-resources", resources=resources)) == (
        0,
        "success",
    )


async def test_a_bandwidth_written_as_a_quantity_is_accepted(http: aiohttp.ClientSession) -> None:
    body = with_party("good-bandwidth", resources={"bandwidth": "100"})
    assert await create_code_over_http(http, body) == (0, "success")


async def test_a_bandwidth_limit_of_zero_is_refused_with_11100(
    http: aiohttp.ClientSession,
) -> None:
    # job_service.go CreateJob: bw.LimitKbps <= 0 -> "bandwidth limit kbps can not be zero
    # or negative".
    limits = [{"destination_id": "bob", "limit_kbps": "0"}]
    code, message = await create_code_over_http(
        http, with_party("zero-kbps", bandwidth_limits=limits)
    )
    assert code == 11100 and "bandwidth limit kbps can not be zero" in message


async def test_a_bandwidth_limit_without_destination_is_refused_with_11100(
    http: aiohttp.ClientSession,
) -> None:
    # job_service.go CreateJob: bw.DestinationId == "" -> 11100.
    limits = [{"limit_kbps": "100"}]
    code, message = await create_code_over_http(
        http, with_party("no-destination", bandwidth_limits=limits)
    )
    assert code == 11100 and "destination id can not be empty" in message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"tasks": []}, "tasks", id="no-tasks"),
        pytest.param({"initiator": ""}, "initiator", id="no-initiator"),
    ],
)
async def test_a_request_kuscia_finds_incomplete_is_refused_with_11100(
    kuscia: KusciaJobClient, change: dict[str, Any], message: str
) -> None:
    # job_service.go validateCreateJobRequest: empty tasks, empty initiator.
    code, said = await create_code(kuscia, sleeping_body("incomplete", 0) | change)
    assert code == 11100 and message in said
