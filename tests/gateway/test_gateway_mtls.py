"""With a client CA, the gateway serves HTTPS and requires a client certificate whose
subject CN binds the caller to that domain, as the gRPC port does."""

from __future__ import annotations

import dataclasses
import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dagwire.server.config import ServerConfig
from tests.auth.conftest import Pki, pki  # noqa: F401  (the session's test certificates)
from tests.gateway.conftest import kuscia_create_body


@pytest.fixture
def server_config(server_config: ServerConfig, pki: Pki) -> ServerConfig:  # noqa: F811
    return dataclasses.replace(
        server_config, tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca
    )


def client_ssl(certificates: Pki, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certificates.ca)
    if cert is not None and key is not None:
        context.load_cert_chain(cert, key)
    return context


async def post(url: str, context: ssl.SSLContext, path: str, body: Any) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(base_url=url) as session,
        session.post(path, data=json.dumps(body).encode(), ssl=context) as response,
    ):
        answer: dict[str, Any] = json.loads(await response.text())
        return answer


async def test_the_gateway_serves_https(gateway_url: str) -> None:
    assert gateway_url.startswith("https://")


async def test_a_client_certificate_binds_the_http_caller_to_its_domain(
    gateway_url: str,
    pki: Pki,  # noqa: F811
) -> None:
    alice = client_ssl(pki, pki.alice_cert, pki.alice_key)
    bob_only = kuscia_create_body("bob-only")
    for task in bob_only["tasks"]:
        task["parties"] = [{"domain_id": "bob", "role": "partner"}]
    bob_only["initiator"] = "bob"
    bob = client_ssl(pki, pki.bob_cert, pki.bob_key)
    created = await post(gateway_url, bob, "/api/v1/job/create", bob_only)
    assert created["status"]["code"] == 0, created
    refused = await post(gateway_url, alice, "/api/v1/job/query", {"job_id": "bob-only"})
    assert refused["status"]["code"] == 11202  # as for a missing job
    assert refused["status"]["message"] == "job 'bob-only' does not exist"


async def test_a_client_without_a_certificate_fails_the_handshake(
    gateway_url: str,
    pki: Pki,  # noqa: F811
) -> None:
    with pytest.raises(aiohttp.ClientError):
        await post(gateway_url, client_ssl(pki, None, None), "/api/v1/job/query", {})
