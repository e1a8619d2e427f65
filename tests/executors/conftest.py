"""Fixtures for the executor tests: executors over a temporary data directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from dagwire.server.executors import ray as ray_executor
from dagwire.server.executors.images import BUILTIN_IMAGES, AppImage, AppImageRegistry
from dagwire.server.executors.local import LocalExecutor

from .helpers import Reports
from .ray_cluster import RayCluster, ray_cluster_running

MakeExecutor = Callable[..., LocalExecutor]


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def make_executor(data_dir: Path, reports: Reports) -> AsyncIterator[MakeExecutor]:
    """Builds executors sharing one data directory (as a restarted server would), with
    the built-in images plus the given ones; closes them all at the end."""
    created: list[LocalExecutor] = []

    def make(
        *images: AppImage, sink: Reports | None = None, kill_grace: float = 0.5
    ) -> LocalExecutor:
        registry = AppImageRegistry({**BUILTIN_IMAGES, **{image.name: image for image in images}})
        executor = LocalExecutor(
            data_dir,
            registry,
            reports if sink is None else sink,
            progress_poll_interval=0.02,
            kill_grace=kill_grace,
        )
        created.append(executor)
        return executor

    yield make
    for executor in created:
        await executor.close()


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    """One Ray head for these tests, stopped after them (it is not small); this process
    connects to it once (as the executors' shared connection), so that each test does not
    pay for ray.init."""
    with ray_cluster_running() as cluster:
        ray_executor._CONNECTION.acquire(cluster.address)
        try:
            yield cluster
        finally:
            ray_executor._CONNECTION.release()
