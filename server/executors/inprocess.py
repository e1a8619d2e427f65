"""Images that run inside the server, without a process, and the executor that routes
each launch either there or to the local subprocess executor.

`dagwire-noop` succeeds at once. It exists so that the engine's own cost (scheduling,
storing, fanning out) can be measured and demonstrated without the cost of starting a
process per party: the benchmarks run the same DAG with it and with a subprocess image
and report the two apart.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterable
from pathlib import Path

from dagwire.server.executors.base import (
    Executor,
    PartyExited,
    PartyKey,
    PartyLaunch,
    PartyStarted,
    ReportSink,
    UnknownAppImageError,
)
from dagwire.server.executors.local import LocalExecutor
from dagwire.server.executors.ray import RayExecutor

NOOP_IMAGE = "dagwire-noop"
INPROCESS_IMAGES: frozenset[str] = frozenset({NOOP_IMAGE})
# What a terminated party reports: the code a process killed by SIGTERM would give.
TERMINATED_EXIT_CODE = -signal.SIGTERM


class InProcessExecutor:
    """Runs the in-process images: each party reports PartyStarted then PartyExited(0)
    from the event loop's next turn, never from inside launch().

    Deferring the reports keeps the contract launch() has with the runtime: launch
    returns once the party is started, and reports arrive afterwards, as they do from a
    real process. It also lets every launch of one commit land in the runtime's inbox
    before the inbox is drained, so a wide DAG's reports are applied in one batch.
    """

    def __init__(self, sink: ReportSink, images: frozenset[str] = INPROCESS_IMAGES) -> None:
        self._sink = sink
        self._images = images
        # Parties launched whose reports have not gone out yet: what terminate() can stop.
        self._pending: dict[PartyKey, asyncio.Handle] = {}

    def knows_image(self, app_image: str) -> bool:
        return app_image in self._images

    def holds(self, key: PartyKey) -> bool:
        """Whether this party was launched here and has not reported its exit yet."""
        return key in self._pending

    def log_path(self, key: PartyKey) -> str:
        # Nothing runs, so nothing is written; the null device reads as an empty log.
        return os.devnull

    async def launch(self, launch: PartyLaunch) -> None:
        if launch.app_image not in self._images:
            known = ", ".join(sorted(self._images))
            raise UnknownAppImageError(
                f"app image {launch.app_image!r} does not run in-process; in-process: {known}"
            )
        self._schedule(launch.key)

    async def terminate(self, key: PartyKey, reason: str) -> None:
        handle = self._pending.pop(key, None)
        if handle is None:
            return
        handle.cancel()
        self._sink(PartyExited(key, TERMINATED_EXIT_CODE, f"terminated: {reason}"))

    async def recover(self, launches: Iterable[PartyLaunch]) -> None:
        # An in-process party leaves nothing behind to recover from; running the no-op
        # again has the same result as the run the stopped server did not report.
        for launch in launches:
            if launch.key not in self._pending:
                self._schedule(launch.key)

    async def close(self) -> None:
        # Unreported parties stay running in the store and are re-run by recover().
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()

    def _schedule(self, key: PartyKey) -> None:
        loop = asyncio.get_running_loop()
        self._pending[key] = loop.call_soon(self._run, key)

    def _run(self, key: PartyKey) -> None:
        del self._pending[key]
        self._sink(PartyStarted(key))
        self._sink(PartyExited(key, 0))


class RoutingExecutor:
    """One Executor over several: in-process images run in-process; with a Ray executor,
    the images in `ray_images` (None: every other image, and pipeline steps' own
    commands) run on Ray; everything else goes to the local subprocess executor (which
    rejects images it does not know)."""

    def __init__(
        self,
        inprocess: InProcessExecutor,
        local: LocalExecutor,
        ray: RayExecutor | None = None,
        *,
        ray_images: frozenset[str] | None = None,
    ) -> None:
        self._inprocess = inprocess
        self._local = local
        self._ray = ray
        self._ray_images = ray_images

    def knows_image(self, app_image: str) -> bool:
        return self._inprocess.knows_image(app_image) or self._local.knows_image(app_image)

    async def launch(self, launch: PartyLaunch) -> None:
        await self._route(launch).launch(launch)

    def _route(self, launch: PartyLaunch) -> Executor:
        """Which executor runs this launch: the same answer at launch and at recovery."""
        if self._inprocess.knows_image(launch.app_image):
            return self._inprocess
        if self._ray is not None and (
            self._ray_images is None or launch.app_image in self._ray_images
        ):
            return self._ray
        return self._local

    async def terminate(self, key: PartyKey, reason: str) -> None:
        # In-process parties are held only until their reports go out; every other key is
        # the local executor's, which ignores keys it does not run.
        if self._inprocess.holds(key):
            await self._inprocess.terminate(key, reason)
        elif self._ray is not None and self._ray.holds(key):
            await self._ray.terminate(key, reason)
        else:
            await self._local.terminate(key, reason)

    async def recover(self, launches: Iterable[PartyLaunch]) -> None:
        # Routed by image as at launch: a party stored as running whose process never
        # started (a crash between the commit and the launch) reaches the executor that
        # would have run it, which reports it lost, and the task relaunches.
        routed: dict[int, tuple[Executor, list[PartyLaunch]]] = {}
        for launch in launches:
            executor = self._route(launch)
            routed.setdefault(id(executor), (executor, []))[1].append(launch)
        for executor, group in routed.values():
            await executor.recover(group)

    def log_path(self, key: PartyKey) -> str:
        # The Ray executor writes its logs where the local executor does.
        executor: Executor = self._local if self._ran_locally(key) else self._inprocess
        return executor.log_path(key)

    async def close(self) -> None:
        await self._inprocess.close()
        await self._local.close()
        if self._ray is not None:
            await self._ray.close()

    def _ran_locally(self, key: PartyKey) -> bool:
        try:
            return Path(self._local.log_path(key)).parent.is_dir()
        except ValueError:  # the key cannot name a directory: never launched locally
            return False
