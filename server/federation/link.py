"""The link to one peer: a mutual-TLS channel and the loop that delivers its queue.

The loop sends the oldest queued messages (at most BATCH per call), drops what the
peer acknowledged, and sends again until the queue is empty; when idle and jobs are
shared with the peer it probes it with an empty batch every PROBE_SECONDS, so that a
peer that went away is noticed even when nothing is owed to it. A failure is retried
with backoff; how long the peer has been unreachable is reported to the node, which
shows it on the peer's parties and fails their jobs after the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
import structlog

from dagwire.server.federation.outbox import Outbox
from dagwire.server.federation.peers import Peer
from dagwire.v1 import interconnect_pb2 as pb
from dagwire.v1 import interconnect_pb2_grpc

log = structlog.get_logger(__name__)

BATCH = 256
PROBE_SECONDS = 1.0
_BACKOFF = (0.1, 0.2, 0.5, 1.0)
_CALL_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class NodeCredentials:
    """This node's certificate and key (CN = its domain), PEM."""

    cert_pem: bytes
    key_pem: bytes


# (peer domain, unreachable since (wall clock), or None when reachable again)
Reachability = Callable[[str, float | None], Awaitable[None]]


class PeerLink:
    def __init__(
        self,
        peer: Peer,
        credentials: NodeCredentials,
        outbox: Outbox,
        on_reachability: Reachability,
        shares_jobs: Callable[[str], bool],
    ) -> None:
        self.peer = peer
        self._outbox = outbox
        self._on_reachability = on_reachability
        self._shares_jobs = shares_jobs
        channel_credentials = grpc.ssl_channel_credentials(
            root_certificates=peer.ca_pem,
            private_key=credentials.key_pem,
            certificate_chain=credentials.cert_pem,
        )
        # The peer's server certificate must be issued by its pinned CA for its domain
        # name: a node holding another domain's certificate cannot pose as this peer.
        self._channel = grpc.aio.secure_channel(
            peer.address,
            channel_credentials,
            options=[("grpc.ssl_target_name_override", peer.domain)],
        )
        self._stub = interconnect_pb2_grpc.InterconnectServiceStub(self._channel)
        self.unreachable_since: float | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"dagwire peer {self.peer.domain}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._channel.close(None)

    async def _run(self) -> None:
        failures = 0
        arrived = self._outbox.event(self.peer.domain)
        while True:
            batch = self._outbox.pending(self.peer.domain, BATCH)
            if not batch and not self._shares_jobs(self.peer.domain):
                if self.unreachable_since is not None:
                    await self._reachable()
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), PROBE_SECONDS)
                continue
            request = pb.DeliverRequest(messages=[_message(q.seq, q.body) for q in batch])
            try:
                response = await self._stub.Deliver(request, timeout=_CALL_TIMEOUT)
            except grpc.aio.AioRpcError as error:
                failures += 1
                await self._unreachable(error)
                await asyncio.sleep(_BACKOFF[min(failures, len(_BACKOFF)) - 1])
                continue
            failures = 0
            if self.unreachable_since is not None:
                await self._reachable()
            await self._outbox.acknowledge(self.peer.domain, response.applied_through)
            if batch and response.applied_through < batch[-1].seq:
                await asyncio.sleep(_BACKOFF[0])  # the peer could not apply all yet
            elif not batch:
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), PROBE_SECONDS)

    async def _unreachable(self, error: grpc.aio.AioRpcError) -> None:
        if self.unreachable_since is None:
            self.unreachable_since = time.time()
            log.warning(
                "peer unreachable",
                peer=self.peer.domain,
                code=error.code().name,
                detail=(error.details() or "")[:300],
            )
        await self._on_reachability(self.peer.domain, self.unreachable_since)

    async def _reachable(self) -> None:
        self.unreachable_since = None
        log.info("peer reachable", peer=self.peer.domain)
        await self._on_reachability(self.peer.domain, None)


def _message(seq: int, body: bytes) -> pb.PeerMessage:
    message = pb.PeerMessage.FromString(body)
    message.sequence = seq
    return message
