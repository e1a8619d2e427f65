"""The peer port admits only nodes of the peers file, each proving its domain with a
certificate from the CA pinned for that domain."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from dagwire.v1 import interconnect_pb2 as ipb
from dagwire.v1 import interconnect_pb2_grpc
from tests.federation.nodes import Node, forge_certificate


def _carried(job_id: str) -> ipb.DeliverRequest:
    spec = (
        '{"job_id": "%s", "initiator": "bob", "max_parallelism": 1, "tasks": []}' % job_id  # noqa: UP031
    )
    carried = ipb.CarriedJob(spec_json=spec, awaiting_approval=["alice"])
    return ipb.DeliverRequest(
        messages=[ipb.PeerMessage(sequence=1, job_id=job_id, carried_job=carried)]
    )


async def _deliver_as(node: Node, certs: Path, name: str, ca: str) -> ipb.DeliverResponse:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(certs / f"ca-{ca}.crt").read_bytes(),
        private_key=(certs / f"{name}.key").read_bytes(),
        certificate_chain=(certs / f"{name}.crt").read_bytes(),
    )
    options = [("grpc.ssl_target_name_override", node.domain)]
    async with grpc.aio.secure_channel(node.peer_address, credentials, options=options) as channel:
        stub = interconnect_pb2_grpc.InterconnectServiceStub(channel)
        return await stub.Deliver(_carried("forged-job"), timeout=10)


async def test_bob_s_name_on_a_certificate_from_carol_s_ca_is_refused(
    trio: dict[str, Node], certs: Path
) -> None:
    # carol's CA is trusted at alice's node, for carol only: the pinning refuses it for bob.
    forge_certificate(certs, "bob-by-carol", "bob", ca="carol")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _deliver_as(trio["alice"], certs, "bob-by-carol", ca="alice")
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_a_certificate_from_a_stranger_ca_fails_the_handshake(
    trio: dict[str, Node], certs: Path
) -> None:
    forge_certificate(certs, "bob-by-mallory", "bob", ca="mallory")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _deliver_as(trio["alice"], certs, "bob-by-mallory", ca="alice")
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_a_peer_not_party_of_a_job_cannot_act_on_it(
    trio: dict[str, Node], certs: Path
) -> None:
    # carol's genuine certificate: she is a peer, but no party of alice's jobs, and she
    # cannot carry a job to alice in bob's name.
    response = await _deliver_as(trio["alice"], certs, "carol", ca="alice")
    assert response.applied_through == 1  # taken, and ignored
    assert (await trio["alice"].query("forged-job")).status.code != 0
