"""The InterconnectService servicer: authenticates the calling node by its pinned
certificate, then hands its batch to the node, which applies each message once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc

from dagwire.server.federation.identity import calling_domain
from dagwire.server.federation.link import BATCH
from dagwire.server.federation.peers import PeerBook
from dagwire.v1 import interconnect_pb2 as pb
from dagwire.v1 import interconnect_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]
# (calling domain, messages) -> the highest sequence number applied from it.
Receiver = Callable[[str, Sequence[pb.PeerMessage]], Awaitable[int]]


class InterconnectServicer(interconnect_pb2_grpc.InterconnectServiceServicer):
    def __init__(self, peers: PeerBook, receive: Receiver) -> None:
        self._pinned = {peer.domain: peer.ca_subject for peer in peers}
        self._receive = receive

    async def Deliver(self, request: pb.DeliverRequest, context: Context) -> pb.DeliverResponse:
        domain = calling_domain(context.auth_context(), self._pinned)
        if domain is None:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "the calling certificate names no peer of this node, or was not issued "
                "by the CA pinned for the domain it names",
            )
        if len(request.messages) > BATCH:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"at most {BATCH} messages per batch"
            )
        sequences = [message.sequence for message in request.messages]
        if sequences != sorted(set(sequences)) or any(seq <= 0 for seq in sequences):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "messages must ascend by sequence number"
            )
        assert domain is not None
        applied = await self._receive(domain, request.messages)
        return pb.DeliverResponse(applied_through=applied)
