"""Over HTTP, a watch that a graceful shutdown ends says so in a last JSON line: the
UNAVAILABLE status, naming the resource version to resume from; a watch whose
timeout_seconds is over has no such line."""

from __future__ import annotations

import asyncio
import contextlib
import re

import pytest

from tests.conftest import ServerThread
from tests.gateway.conftest import Gateway, kuscia_create_body

UNAVAILABLE = 14


@pytest.fixture
def heartbeat_interval() -> float:
    return 0.2


async def test_a_shutdown_ends_the_watch_with_a_line_naming_where_to_resume(
    dagwire_server: ServerThread, gateway: Gateway
) -> None:
    await gateway.create(kuscia_create_body())
    lines = gateway.watch_lines({"timeout_seconds": 600})
    async with contextlib.aclosing(lines):
        bookmark = await anext(event async for event in lines if event["type"] == "HEARTBEAT")
        stopping = asyncio.create_task(asyncio.to_thread(dagwire_server.stop))
        last = [event async for event in lines][-1]
    await stopping
    assert last["error"]["code"] == UNAVAILABLE
    found = re.search(r"resume_from=(\d+)", last["error"]["message"])
    assert found and int(found.group(1)) >= int(bookmark["resource_version"])


async def test_a_watch_whose_timeout_is_over_ends_without_an_error_line(
    gateway: Gateway,
) -> None:
    events = [event async for event in gateway.watch_lines({"timeout_seconds": 1})]
    assert events and all("error" not in event for event in events)
