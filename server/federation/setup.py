"""The federation of one node, put together: its peers, its outbox, the links that
deliver it and the mutual-TLS listener peers deliver to (its own port, apart from the
port clients use, so that a client's certificate is never taken for a node's)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import structlog

from dagwire.server.federation.link import NodeCredentials, PeerLink
from dagwire.server.federation.node import FederatedRuntime
from dagwire.server.federation.outbox import Outbox
from dagwire.server.federation.peers import PeerBook
from dagwire.server.federation.servicer import InterconnectServicer
from dagwire.v1 import interconnect_pb2_grpc

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FederationSettings:
    """What `dagwire serve --domain` adds (see dagwire.server.config)."""

    domain: str
    peers_file: Path
    listen: str
    cert: Path
    key: Path
    deadline: float = 300.0
    queue_bound: int = 10_000


class Federation:
    def __init__(self, settings: FederationSettings, data_dir: Path) -> None:
        self.settings = settings
        self.peers = PeerBook.load(settings.peers_file, settings.domain)
        self.outbox = Outbox(data_dir / "federation.db", settings.queue_bound)
        self._credentials = NodeCredentials(settings.cert.read_bytes(), settings.key.read_bytes())
        self._server = grpc.aio.server()
        self._links: list[PeerLink] = []
        self._runtime: FederatedRuntime | None = None
        self.port = 0

    def runtime(self, **runtime: Any) -> FederatedRuntime:
        """The node's job runtime (JobRuntime's arguments)."""
        host = self.settings.listen.rsplit(":", 1)[0].strip("[]")
        self._runtime = FederatedRuntime(
            domain=self.settings.domain,
            peers=self.peers,
            outbox=self.outbox,
            endpoint_host=host,
            deadline=self.settings.deadline,
            **runtime,
        )
        return self._runtime

    def bind(self) -> None:
        """Take the peer port; mutual TLS, a client certificate from a peer's CA required.
        OSError when the port cannot be had."""
        assert self._runtime is not None, "runtime() first"
        interconnect_pb2_grpc.add_InterconnectServiceServicer_to_server(
            InterconnectServicer(self.peers, self._runtime.receive), self._server
        )
        credentials = grpc.ssl_server_credentials(
            [(self._credentials.key_pem, self._credentials.cert_pem)],
            root_certificates=self.peers.ca_bundle(),
            require_client_auth=True,
        )
        try:
            self.port = self._server.add_secure_port(self.settings.listen, credentials)
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            raise OSError("gRPC could not bind it")

    async def open(self) -> None:
        """Before the runtime starts: its catch-up reads the outbox."""
        await self.outbox.open()

    async def start(self) -> None:
        """After the runtime started: take peers' messages, deliver ours."""
        runtime = self._runtime
        assert runtime is not None
        await self._server.start()
        for peer in self.peers:
            link = PeerLink(
                peer, self._credentials, self.outbox, runtime.reachability, runtime.shares_jobs
            )
            link.start()
            self._links.append(link)
        log.info(
            "federation serving",
            domain=self.settings.domain,
            peer_port=self.port,
            peers=[peer.domain for peer in self.peers],
        )

    async def stop(self, grace: float) -> None:
        for link in self._links:
            await link.close()
        await self._server.stop(grace)

    async def close(self) -> None:
        await self.outbox.close()
