"""A watch outlives a server restart: it resumes where it left off, without re-listing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from dagwire.client import AsyncDagwireClient, DagwireClient, EventType
from dagwire.server.config import ServerConfig
from tests.conftest import ServerThread


@pytest.fixture
def heartbeat_interval() -> float:
    return 0.2


def test_watch_resumes_after_a_server_restart_without_repeating_events(
    server_config: ServerConfig,
    job_body: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("dagwire.client._base.RECONNECT_MAX_DELAY", 0.5)
    first = ServerThread(server_config)
    first.start()
    second = ServerThread(dataclasses.replace(server_config, listen=first.address))
    try:
        with DagwireClient(target=first.address, timeout=10) as client:
            before = client.create_job(job_body()).result(timeout=30)
            events = client.watch_jobs(include_heartbeats=True)
            assert next(events).job_id == before.job_id  # the initial listing
            assert next(events).type is EventType.HEARTBEAT  # the listing is over
            first.stop()
            second.start()
            after = client.create_job(job_body())
            seen = next(e for e in events if e.type is not EventType.HEARTBEAT)
            events.close()
        assert (seen.type, seen.job_id) == (EventType.ADDED, after.job_id)
    finally:
        second.stop()


def test_a_watch_with_a_timeout_resumes_after_a_shutdown_instead_of_ending(
    server_config: ServerConfig,
    job_body: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A shutdown ends the stream with UNAVAILABLE, not with the OK of a timeout that is
    # over: the client watches on, on the next server, within its own timeout.
    monkeypatch.setattr("dagwire.client._base.RECONNECT_MAX_DELAY", 0.5)
    first = ServerThread(server_config)
    first.start()
    second = ServerThread(dataclasses.replace(server_config, listen=first.address))
    try:
        with DagwireClient(target=first.address, timeout=10) as client:
            events = client.watch_jobs(include_heartbeats=True, timeout_seconds=60)
            assert next(events).type is EventType.HEARTBEAT  # the (empty) listing is over
            first.stop()
            second.start()
            after = client.create_job(job_body())
            seen = next(e for e in events if e.type is not EventType.HEARTBEAT)
            events.close()
        assert (seen.type, seen.job_id) == (EventType.ADDED, after.job_id)
    finally:
        second.stop()


async def test_the_async_run_watch_resumes_after_a_shutdown_instead_of_ending(
    server_config: ServerConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dagwire.client._base.RECONNECT_MAX_DELAY", 0.5)
    first = ServerThread(server_config)
    first.start()
    second = ServerThread(dataclasses.replace(server_config, listen=first.address))
    try:
        async with AsyncDagwireClient(target=first.address, timeout=10) as client:
            events = client.watch_runs(include_heartbeats=True, timeout_seconds=60)
            assert (await anext(events)).type is EventType.HEARTBEAT  # the listing is over
            await asyncio.to_thread(first.stop)
            await asyncio.to_thread(second.start)
            run = await client.create_run("name: after\nentry_points:\n  a: {command: 'true'}\n")
            seen = await anext(e async for e in events if e.type is not EventType.HEARTBEAT)
            await events.aclose()
        assert (seen.type, seen.run_id) == (EventType.ADDED, run.run_id)
    finally:
        second.stop()
