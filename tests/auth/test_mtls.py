"""mTLS: a client needs a certificate signed by the configured CA, and its subject CN
binds it to that domain. No token file here: the certificate alone authenticates."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.config import ServerConfig
from tests.auth.conftest import Pki, job
from tests.conftest import ServerThread

Stub = job_pb2_grpc.JobServiceStub
Connect = Callable[[Path | None, Path | None], AbstractAsyncContextManager[Stub]]


@pytest.fixture
def server_config(server_config: ServerConfig, pki: Pki) -> ServerConfig:
    return dataclasses.replace(
        server_config,
        token_file=None,
        tls_cert=pki.server_cert,
        tls_key=pki.server_key,
        tls_client_ca=pki.ca,
    )


@pytest.fixture
def connect(dagwire_server: ServerThread, pki: Pki) -> Connect:
    """A JobService stub over TLS that trusts the test CA, with a client certificate."""

    @asynccontextmanager
    async def open_stub(cert: Path | None, key: Path | None) -> AsyncIterator[Stub]:
        credentials = client_credentials(pki.ca, cert, key)
        async with grpc.aio.secure_channel(dagwire_server.address, credentials) as channel:
            yield job_pb2_grpc.JobServiceStub(channel)

    return open_stub


def client_credentials(ca: Path, cert: Path | None, key: Path | None) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(),
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )


async def test_a_client_certificate_binds_the_caller_to_its_common_name(
    connect: Connect, pki: Pki
) -> None:
    async with (
        connect(pki.alice_cert, pki.alice_key) as alice,
        connect(pki.bob_cert, pki.bob_key) as bob,
    ):
        assert (await alice.CreateJob(job("alices", "alice"))).status.code == 0
        assert (await bob.CreateJob(job("bobs", "bob"))).status.code == 0
        own = await alice.QueryJob(pb.QueryJobRequest(job_id="alices"))
        other = await alice.QueryJob(pb.QueryJobRequest(job_id="bobs"))
    assert own.status.code == 0 and own.data.job_id == "alices"
    assert other.status.code == 11202  # as for a missing job: bob's is none of alice's
    assert other.status.message == "job 'bobs' does not exist"


async def test_a_client_certificate_from_another_ca_fails_the_handshake(
    connect: Connect, pki: Pki
) -> None:
    async with connect(pki.rogue_alice_cert, pki.rogue_alice_key) as rogue:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await rogue.QueryJob(pb.QueryJobRequest(job_id="x"), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_client_without_a_certificate_fails_the_handshake(connect: Connect) -> None:
    async with connect(None, None) as anonymous:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await anonymous.QueryJob(pb.QueryJobRequest(job_id="x"), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_client_certificate_without_a_common_name_returns_11102(
    connect: Connect, pki: Pki
) -> None:
    async with connect(pki.no_cn_cert, pki.no_cn_key) as nameless:
        response = await nameless.QueryJob(pb.QueryJobRequest(job_id="x"))
    assert response.status.code == 11102
    assert response.status.message == "the client certificate has no subject common name"


async def test_a_plaintext_client_is_refused(dagwire_server: ServerThread) -> None:
    async with grpc.aio.insecure_channel(dagwire_server.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
