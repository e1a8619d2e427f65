"""The composition root: builds store, bus, runtime, executor and servicers, plus health
and reflection, and owns startup and graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2, job_pb2_grpc
from dagwire.server.api.job_service import JobServicer
from dagwire.server.bus.memory import InProcessBus
from dagwire.server.config import ServerConfig
from dagwire.server.executors.base import ReportSink
from dagwire.server.executors.images import AppImageRegistry
from dagwire.server.executors.local import LocalExecutor
from dagwire.server.runtime.jobs import JobRuntime, RuntimeSettings
from dagwire.server.store.sql import SqlJobStore

log = structlog.get_logger(__name__)

JOB_SERVICE = job_pb2.DESCRIPTOR.services_by_name["JobService"].full_name
SERVICES = (JOB_SERVICE,)


class DagwireServer:
    """One dagwire server process. `start()` binds and serves; `stop()` drains."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.port = 0
        config.data_dir.mkdir(parents=True, exist_ok=True)
        registry = AppImageRegistry.load(config.app_images_file)
        self.store = SqlJobStore(config.store_url)
        self.bus = InProcessBus(capacity=config.watch_queue_size)

        def local_executor(sink: ReportSink) -> LocalExecutor:
            return LocalExecutor(config.data_dir, registry, sink)

        self.runtime = JobRuntime(
            store=self.store,
            bus=self.bus,
            executor_factory=local_executor,
            settings=RuntimeSettings(
                approval_domains=config.approval_domains, event_retention=config.event_retention
            ),
        )
        self.health = HealthServicer()
        options = [
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
        ]
        self._server = grpc.aio.server(options=options)
        job_pb2_grpc.add_JobServiceServicer_to_server(
            JobServicer(self.runtime, self.store, self.bus, config.heartbeat_interval),
            self._server,
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        reflection.enable_server_reflection(
            (*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), self._server
        )

    @property
    def address(self) -> str:
        host = self.config.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    async def start(self) -> None:
        await self.store.open()
        await self.runtime.start()
        self.port = self._server.add_insecure_port(self.config.listen)
        if self.port == 0:
            raise OSError(f"cannot listen on {self.config.listen}")
        await self._server.start()
        for service in ("", *SERVICES):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        log.info("dagwire serving", address=self.address, store=_redacted(self.config.store_url))

    async def stop(self) -> None:
        """Refuse new work, end watch streams cleanly, let in-flight calls finish, then
        close the runtime (executor processes keep running; they are recovered at the
        next start) and the store."""
        await self.health.enter_graceful_shutdown()
        self.bus.close()
        await self._server.stop(self.config.shutdown_grace)
        await self.runtime.close()
        await self.store.close()
        log.info("dagwire stopped")

    async def wait(self) -> None:
        await self._server.wait_for_termination()


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def configure_logging(log_format: str) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


async def serve(config: ServerConfig) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    server = DagwireServer(config)
    await server.start()
    print(
        f"dagwire listening on {server.address} (store: {_redacted(config.store_url)}, "
        f"executor: local)\n"
        f"  try: grpcurl -plaintext {server.address} list",
        flush=True,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop()
