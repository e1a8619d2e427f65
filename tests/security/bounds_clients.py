"""Clients for the bounds tests: the gateway next to the gRPC server, and payloads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import ServerThread
from tests.gateway.conftest import Gateway


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    """Every bounds test module serves HTTP too."""
    return {"http_listen": "127.0.0.1:0"}


@pytest.fixture
async def gateway(dagwire_server: ServerThread) -> AsyncIterator[Gateway]:
    assert dagwire_server.server is not None and dagwire_server.server.http is not None
    async with aiohttp.ClientSession(base_url=dagwire_server.server.http.url) as session:
        yield Gateway(session)


def alias_bomb(levels: int = 8) -> str:
    """A "billion laughs" spec: each level an alias list of nine of the level below, so
    `parallelism` is 9**levels elements (43 million at 8) in about 450 bytes."""
    lines = ["name: bomb", "parameters:", "  a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        lines.append(f"  a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    lines.append(f"parallelism: *a{levels - 1}")
    lines.append("entry_points: {s: {command: echo}}")
    return "\n".join(lines) + "\n"
