"""TLS without a client CA: the channel is encrypted and tokens authenticate callers."""

from __future__ import annotations

import dataclasses

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.config import ServerConfig
from tests.auth.conftest import ALICE, Pki
from tests.conftest import ServerThread


@pytest.fixture
def server_config(server_config: ServerConfig, pki: Pki) -> ServerConfig:
    return dataclasses.replace(server_config, tls_cert=pki.server_cert, tls_key=pki.server_key)


@pytest.fixture
def ca_pem(pki: Pki) -> bytes:
    return pki.ca.read_bytes()


async def test_a_client_trusting_the_ca_calls_with_its_token(
    dagwire_server: ServerThread, ca_pem: bytes
) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=ca_pem)
    async with grpc.aio.secure_channel(dagwire_server.address, credentials) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)
        without = await stub.QueryJob(pb.QueryJobRequest(job_id="x"))
        with_token = await stub.QueryJob(pb.QueryJobRequest(job_id="x"), metadata=ALICE)
    assert without.status.code == 11102
    assert with_token.status.code == 11202  # authenticated: the job just does not exist


async def test_a_plaintext_client_is_refused(dagwire_server: ServerThread) -> None:
    async with grpc.aio.insecure_channel(dagwire_server.address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.QueryJob(pb.QueryJobRequest(job_id="x"), metadata=ALICE, timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
