"""Heartbeats of a real server: hidden from watchers unless they ask for them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from dagwire.client import DagwireClient, EventType


@pytest.fixture
def heartbeat_interval() -> float:
    return 0.2


@pytest.fixture
def client(dagwire_server: Any) -> Iterator[DagwireClient]:
    with DagwireClient(target=dagwire_server.address, timeout=10) as client:
        yield client


def test_quiet_watch_hides_heartbeats(client: DagwireClient) -> None:
    assert list(client.watch_jobs(timeout_seconds=1)) == []


def test_heartbeats_arrive_when_asked_for(client: DagwireClient) -> None:
    events = client.watch_jobs(include_heartbeats=True, timeout_seconds=5)
    beats = list(itertools.islice(events, 2))
    events.close()
    assert [e.type for e in beats] == [EventType.HEARTBEAT] * 2
