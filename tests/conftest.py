"""Fixtures shared by every test folder: a real server on a free loopback port."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest

from dagwire.server.app import DagwireServer, configure_logging
from dagwire.server.config import ServerConfig
from tests.eventually import assert_eventually as assert_eventually

# In-process servers log to stderr, as the real one does, never into captured stdout.
configure_logging("console")

T = TypeVar("T")

TESTS_DIR = Path(__file__).resolve().parent


@pytest.fixture
def heartbeat_interval() -> float:
    """Override in a test module to change the server's heartbeat interval."""
    return 10.0


@pytest.fixture
def approval_domains() -> frozenset[str]:
    """Override in a test module to make domains require approval."""
    return frozenset()


@pytest.fixture
def app_images_file() -> Path | None:
    """Override to give the server extra app images (a YAML file)."""
    return None


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    """Override to set any other ServerConfig field for a test module."""
    return {}


@pytest.fixture
def server_config(
    tmp_path: Path,
    heartbeat_interval: float,
    approval_domains: frozenset[str],
    app_images_file: Path | None,
    server_overrides: dict[str, Any],
) -> ServerConfig:
    fields: dict[str, Any] = {
        "listen": "127.0.0.1:0",
        "data_dir": tmp_path / "data",
        "heartbeat_interval": heartbeat_interval,
        "approval_domains": approval_domains,
        "app_images_file": app_images_file,
        "shutdown_grace": 1.0,
        # Steps run sandboxed; tests share their scratch folder with them (as an operator
        # shares one with --sandbox-share), the data dir below it stays hidden.
        "sandbox_shared": (tmp_path,),
        # Steps may run the tests' own probe scripts, from a checkout that may lie under
        # /tmp (a CI clone), which sandboxes otherwise see empty.
        "sandbox_readable": (TESTS_DIR,),
        # Far above what any test starts at once, so that admission (the server's own
        # capacity) never makes a test wait; admission tests set small capacities.
        "capacity_cpu": 256.0,
    }
    return ServerConfig(**(fields | server_overrides))


class ServerThread:
    """A real DagwireServer on its own thread and event loop, so that sync clients
    (SDK, CLI) and async tests alike talk to it over a real socket."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.server: DagwireServer | None = None

    @property
    def address(self) -> str:
        assert self.server is not None
        return self.server.address

    def start(self) -> None:
        self._thread.start()
        self.server = self._call(self._start())

    async def _start(self) -> DagwireServer:
        server = DagwireServer(self.config)
        await server.start()
        return server

    def stop(self) -> None:
        """Shut the server down gracefully; a test may do so itself, before teardown."""
        if self._loop.is_closed():
            return
        if self.server is not None:
            self._call(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def call_soon(self, callback: Callable[..., object], *args: object) -> None:
        """Call `callback` on the server's event loop (to hand the server what only it
        produces itself, such as an executor's report)."""
        self._loop.call_soon_threadsafe(callback, *args)

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)


@pytest.fixture
def dagwire_server(server_config: ServerConfig) -> Iterator[ServerThread]:
    server = ServerThread(server_config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def channel(dagwire_server: ServerThread) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(dagwire_server.address) as channel:
        yield channel
