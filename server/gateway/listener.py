"""Serve an aiohttp application on host:port, over TLS when the server has a
certificate, with mTLS when it has a client CA (the gRPC port's settings)."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from aiohttp import web

from dagwire.server.ports import split_host_port


def server_ssl_context(cert: Path, key: Path, client_ca: Path | None) -> ssl.SSLContext:
    """As gRPC's server credentials: with `client_ca`, a client without a certificate
    that CA signed fails the handshake."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class HttpListener:
    """One aiohttp application on one address. `stop()` lets requests in flight (a
    watch ends when the bus closes) finish within `shutdown_grace` seconds."""

    def __init__(
        self,
        app: web.Application,
        listen: str,
        *,
        ssl_context: ssl.SSLContext | None,
        shutdown_grace: float,
        reuse_port: bool = False,
    ) -> None:
        self._host, self._port = split_host_port(listen)
        # Shared with the other API workers (dagwire.server.workers), which the kernel
        # spreads connections over.
        self._reuse_port = reuse_port
        self._socket: socket.socket | None = None
        self._runner = web.AppRunner(
            app,
            access_log=None,  # calls are logged and counted by the gateway itself
            handler_cancellation=True,  # a client that goes away ends its watch at once
            shutdown_timeout=shutdown_grace,
        )
        self._ssl_context = ssl_context
        self.port = 0

    @property
    def scheme(self) -> str:
        return "https" if self._ssl_context is not None else "http"

    @property
    def address(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}"

    def bind(self) -> None:
        """Takes the port now (OSError when it cannot), so that a port in use is found
        before anything else starts; start() serves on it."""
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        self._socket = socket.create_server(
            (self._host, self._port), family=family, reuse_port=self._reuse_port
        )
        self.port = int(self._socket.getsockname()[1])

    async def start(self) -> None:
        if self._socket is None:
            self.bind()
        assert self._socket is not None
        await self._runner.setup()
        site = web.SockSite(self._runner, self._socket, ssl_context=self._ssl_context)
        await site.start()

    async def stop(self) -> None:
        await self._runner.cleanup()
        if self._socket is not None:
            self._socket.close()  # bound but never served: start() did not take it over
