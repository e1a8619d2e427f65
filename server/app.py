"""The composition root: builds store, bus, runtime, executor and servicers, plus health
and reflection, and owns startup and graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import sys
from typing import TYPE_CHECKING

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2
from dagwire.server.api.command_policy import CommandPolicy
from dagwire.server.api.job_service import JobServicer, kuscia_http_rejection, kuscia_rejection
from dagwire.server.api.job_statistics_service import JobStatisticsServicer
from dagwire.server.api.queue_service import QueueServicer
from dagwire.server.api.registration import add_servicer
from dagwire.server.api.step_execution_service import StepExecutionServicer
from dagwire.server.api.user_service import UserServicer
from dagwire.server.api.workflow_service import WorkflowServicer
from dagwire.server.auth.command_domains import load_command_domains
from dagwire.server.auth.interceptor import Authenticator, AuthInterceptor
from dagwire.server.auth.sessions import SessionSigner, load_secret
from dagwire.server.auth.tls import server_credentials
from dagwire.server.auth.tokens import TokenRegistry
from dagwire.server.auth.users import Users
from dagwire.server.bus.base import EventBus
from dagwire.server.bus.memory import InProcessBus
from dagwire.server.config import ServerConfig, sandbox_user_ids
from dagwire.server.engine.quota import Resources
from dagwire.server.executors.base import ReportSink
from dagwire.server.executors.fencing import FenceBoard
from dagwire.server.executors.images import AppImageRegistry
from dagwire.server.executors.inprocess import (
    INPROCESS_IMAGES,
    InProcessExecutor,
    RoutingExecutor,
)
from dagwire.server.executors.local import LocalExecutor
from dagwire.server.executors.ray import RayExecutor  # imports ray only when it launches
from dagwire.server.executors.sandbox import SandboxPolicy, probe, resolved
from dagwire.server.gateway.services import GatewayService
from dagwire.server.observability import logs
from dagwire.server.observability.bus import ObservedBus
from dagwire.server.observability.gauges import StateGauges
from dagwire.server.observability.interceptor import ObservabilityInterceptor
from dagwire.server.observability.metrics import ServerMetrics
from dagwire.server.ports import ListenError, bind_as, check_free
from dagwire.server.rpc import reflection
from dagwire.server.runtime.admission import AdmittingExecutor, machine_capacity
from dagwire.server.runtime.jobs import JobRuntime, RuntimeSettings
from dagwire.server.store.file_systems import SqlFileSystems
from dagwire.server.store.queues import SqlQueueStore
from dagwire.server.store.schedules import SqlScheduleStore
from dagwire.server.store.sql import SqlJobStore
from dagwire.server.store.usage import SqlUsageStore
from dagwire.server.store.users import SqlUserStore, UserExists
from dagwire.server.store.workflow import SqlWorkflowStore
from dagwire.server.workflow.executions import StepExecutions
from dagwire.server.workflow.fs_registry import FileSystems
from dagwire.server.workflow.outputs import RunOutputs
from dagwire.server.workflow.pipelines import Pipelines
from dagwire.server.workflow.queues import Queues
from dagwire.server.workflow.runs import WorkflowRuntime, utc_now
from dagwire.server.workflow.scheduler import Scheduler, ScheduleService
from dagwire.server.workflow.statistics import RunStatistics
from dagwire.server.workflow.step_records import step_exit_riders
from dagwire.server.workflow.steps import StepExecutor
from dagwire.v1 import (
    job_statistics_service_pb2,
    queue_service_pb2,
    step_execution_service_pb2,
    user_service_pb2,
    workflow_service_pb2,
)

if TYPE_CHECKING:
    from dagwire.server.federation.setup import Federation
    from dagwire.server.gateway.listener import HttpListener
    from dagwire.server.gateway.modelarts import ModelArtsGateway
    from dagwire.server.gateway.paddleflow import PaddleFlowGateway
    from dagwire.server.runtime.replicas import Replication

log = structlog.get_logger(__name__)

JOB_SERVICE = job_pb2.DESCRIPTOR.services_by_name["JobService"].full_name
WORKFLOW_SERVICE_DESCRIPTOR = workflow_service_pb2.DESCRIPTOR.services_by_name["WorkflowService"]
STEP_SERVICE_DESCRIPTOR = step_execution_service_pb2.DESCRIPTOR.services_by_name[
    "StepExecutionService"
]
QUEUE_SERVICE_DESCRIPTOR = queue_service_pb2.DESCRIPTOR.services_by_name["QueueService"]
USER_SERVICE_DESCRIPTOR = user_service_pb2.DESCRIPTOR.services_by_name["UserService"]
JOB_STATISTICS_DESCRIPTOR = job_statistics_service_pb2.DESCRIPTOR.services_by_name[
    "JobStatisticsService"
]
SERVICES = (
    JOB_SERVICE,
    WORKFLOW_SERVICE_DESCRIPTOR.full_name,
    STEP_SERVICE_DESCRIPTOR.full_name,
    QUEUE_SERVICE_DESCRIPTOR.full_name,
    USER_SERVICE_DESCRIPTOR.full_name,
    JOB_STATISTICS_DESCRIPTOR.full_name,
)
# Open to callers without credentials: logging in is how a user gets some.
OPEN_METHODS = (f"/{USER_SERVICE_DESCRIPTOR.full_name}/Login",)
# Open to every caller unless --auth-health: probes and grpcurl carry no credentials.
OPERATIONAL_SERVICES = (health.SERVICE_NAME, *reflection.SERVICE_NAMES)


class DagwireServer:
    """One dagwire server process. `start()` binds and serves; `stop()` drains."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.port = 0
        config.data_dir.mkdir(parents=True, exist_ok=True)
        registry = AppImageRegistry.load(config.app_images_file)
        self.sandbox = sandbox_policy(config)
        # A registry per server, so that several servers in one process keep apart.
        self.metrics = ServerMetrics()
        observed = ObservedBus(InProcessBus(capacity=config.watch_queue_size), self.metrics)
        # On PostgreSQL, one replica among any number: dagwire.server.runtime.replicas.
        self.replication: Replication | None = None
        # A replica's processes die by themselves once it stops renewing its lease.
        fences = FenceBoard(config.data_dir) if config.replicated else None
        if config.replicated:
            # Imported here: a server on SQLite never loads the PostgreSQL machinery.
            from dagwire.server.runtime.replicas import Replication, default_replica_id

            self.replication = Replication(
                config.store_url,
                replica_id=config.replica_id or default_replica_id(),
                lease_seconds=config.lease_seconds,
                bus=observed,
                fences=fences,
                fence_seconds=config.fence_seconds,
            )
        self.store = SqlJobStore(
            config.store_url, hooks=self.replication.hooks if self.replication else None
        )
        self.bus: EventBus = self.replication.bus if self.replication else observed
        StateGauges(self.metrics, self.store)

        def executor(sink: ReportSink) -> RoutingExecutor:

            local = LocalExecutor(
                config.data_dir, registry, sink, sandbox=self.sandbox, fences=fences
            )
            # --executor ray: every image on Ray; else only those that ask for it.
            ray_images = None if config.executor == "ray" else registry.names_run_by("ray")
            ray = (
                RayExecutor(
                    config.data_dir,
                    registry,
                    sink,
                    config.ray_address,
                    sandbox=self.sandbox,
                    unsandboxed=config.unsandboxed,
                    fences=fences,
                )
                if ray_images is None or ray_images
                else None
            )
            return RoutingExecutor(InProcessExecutor(sink), local, ray, ray_images=ray_images)

        self.workflow_store = SqlWorkflowStore(self.store)
        self.usage_store = SqlUsageStore(self.store)
        self.file_systems = FileSystems(
            SqlFileSystems(self.store), utc_now, config.data_dir, config.s3_endpoints
        )
        # Queues and the server's own capacity bound what processes run at once.
        self.queues = Queues(
            SqlQueueStore(lambda: self.store.engine), utc_now, server_capacity(config)
        )

        def admitted(sink: ReportSink) -> AdmittingExecutor:
            self.admission = AdmittingExecutor(
                executor,
                sink,
                capacity=server_capacity(config),
                queues=self.queues.queue,
                flavours=self.queues.flavour,
                free_images=INPROCESS_IMAGES,
            )
            self.queues.attach(self.admission)
            return self.admission

        def steps(sink: ReportSink) -> StepExecutor:
            # Pipeline steps (cache, artifacts, reuse) on top of whichever executor runs
            # processes, within their queues; Kuscia tasks pass straight through.
            return StepExecutor(
                admitted,
                sink,
                store=self.workflow_store,
                jobs=self.store,
                artifacts_dir=config.data_dir / "artifacts",
                clock=utc_now,
                fs_dir=config.file_systems_dir,
                binds=self.sandbox is not None and config.executor != "ray",
                file_systems=self.file_systems,
            )

        # --domain: one node of a federation (dagwire.server.federation).
        self.federation = _federation(config)
        runtime_class = JobRuntime if self.federation is None else self.federation.runtime
        self.runtime = runtime_class(
            store=self.store,
            bus=self.bus,
            executor_factory=steps,
            settings=RuntimeSettings(
                approval_domains=config.approval_domains, event_retention=config.event_retention
            ),
            replication=self.replication,
            exit_riders=step_exit_riders,
        )
        self.pipelines = Pipelines(self.workflow_store, utc_now)
        self.workflows = WorkflowRuntime(
            jobs=self.runtime,
            job_store=self.store,
            bus=self.bus,
            store=self.workflow_store,
            pipelines=self.pipelines,
            file_systems=self.file_systems,
            fs_dir=config.file_systems_dir,
        )
        self.run_statistics = RunStatistics(self.workflows, self.usage_store)
        self.run_outputs = RunOutputs(
            self.workflow_store, self.workflows, self.runtime.executor.log_path
        )
        self.schedule_store = SqlScheduleStore(lambda: self.store.engine)
        self.schedules = ScheduleService(self.schedule_store, self.workflows, self.pipelines)
        self.pipelines.use_schedules(self.schedules)
        self.scheduler = Scheduler(self.schedules)
        self.health = HealthServicer()
        options = [
            # A port another process holds is an error, not silently shared (unless this
            # is one of several workers, which share it: dagwire.server.workers).
            ("grpc.so_reuseport", 1 if config.shared_port else 0),
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
        ]
        # PaddleFlow's users (README, "Users and login"), in the server's database.
        self.user_store = SqlUserStore(lambda: self.store.engine)
        self.users = Users(
            self.user_store,
            SessionSigner(
                load_secret(config.data_dir, config.session_secret_file),
                config.token_lifetime,
            ),
            utc_now,
            exists_error=UserExists,
        )
        authenticator = Authenticator(
            tokens=TokenRegistry.load(config.token_file) if config.token_file else None,
            bind_client_certificate=config.tls_client_ca is not None,
            sessions=self.users,
            # Users are on once root has a password: then nobody calls anonymously.
            require_credentials=config.root_password_file is not None,
        )
        self.authenticator = authenticator
        interceptor = AuthInterceptor(
            authenticator,
            open_services=() if config.auth_health else OPERATIONAL_SERVICES,
            in_band_services=(JOB_SERVICE,),
            open_methods=OPEN_METHODS,
        )
        self._credentials = (
            server_credentials(config.tls_cert, config.tls_key, config.tls_client_ca)
            if config.tls_cert and config.tls_key
            else None
        )
        # Observability first, so that calls authentication refuses are counted and
        # logged with their request id too.
        self._server = grpc.aio.server(
            options=options, interceptors=[ObservabilityInterceptor(self.metrics), interceptor]
        )
        served = [
            GatewayService(
                job_pb2.DESCRIPTOR.services_by_name["JobService"],
                JobServicer(
                    self.runtime,
                    self.store,
                    self.bus,
                    config.heartbeat_interval,
                    config.max_message_bytes,
                ),
                reject_unary=kuscia_rejection,
                reject_body=kuscia_http_rejection,
            ),
            # No in-band status: an undecodable request is INVALID_ARGUMENT.
            GatewayService(
                WORKFLOW_SERVICE_DESCRIPTOR,
                WorkflowServicer(
                    self.pipelines,
                    self.workflows,
                    self.run_outputs,
                    self.schedules,
                    config.heartbeat_interval,
                    CommandPolicy(
                        domains=config.command_domains
                        | (load_command_domains(config.token_file) if config.token_file else set()),
                        tenant_code_allowed=self.sandbox is not None or config.unsandboxed,
                    ),
                    self.file_systems,
                    self.run_statistics,
                ),
            ),
            GatewayService(
                STEP_SERVICE_DESCRIPTOR,
                StepExecutionServicer(
                    StepExecutions(self.workflows, self.runtime), config.heartbeat_interval
                ),
            ),
        ]
        for service in served:
            add_servicer(
                self._server,
                service.servicer,
                service.descriptor,
                reject_unary=service.reject_unary,
            )
        # Over gRPC, and over HTTP at PaddleFlow's paths only (gateway/paddleflow).
        self._queue_service = GatewayService(QUEUE_SERVICE_DESCRIPTOR, QueueServicer(self.queues))
        add_servicer(self._server, self._queue_service.servicer, QUEUE_SERVICE_DESCRIPTOR)
        self._user_service = GatewayService(USER_SERVICE_DESCRIPTOR, UserServicer(self.users))
        add_servicer(self._server, self._user_service.servicer, USER_SERVICE_DESCRIPTOR)
        # gRPC only: Kuscia's REST paths are Kuscia's.
        add_servicer(
            self._server,
            JobStatisticsServicer(self.runtime, self.usage_store),
            JOB_STATISTICS_DESCRIPTOR,
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        reflection.enable_server_reflection((*SERVICES, health.SERVICE_NAME), self._server)
        self.http = self._http_listener(served, authenticator)
        self.metrics_http = self._metrics_listener()

    def _http_listener(
        self, served: list[GatewayService], authenticator: Authenticator
    ) -> HttpListener | None:
        """The HTTP/JSON gateway, when --http-listen is set: the same servicers and the
        same authenticator as the gRPC port, with its TLS settings."""
        if self.config.http_listen is None:
            return None
        # Imported here: without --http-listen the server never loads aiohttp.
        from dagwire.server.gateway.http import HttpGateway
        from dagwire.server.gateway.listener import HttpListener

        extensions = [
            self._modelarts_gateway(served, authenticator).register,
            self._paddleflow_gateway(served, authenticator).register,
        ]
        if self.config.ui:
            from dagwire.server.gateway.ui import WebUi

            extensions.append(WebUi().register)
        gateway = HttpGateway(
            services=served,
            authenticator=authenticator,
            metrics=self.metrics,
            max_body_bytes=self.config.max_message_bytes,
            extensions=extensions,
        )
        return HttpListener(
            gateway.application(),
            self.config.http_listen,
            ssl_context=self._ssl_context(),
            shutdown_grace=self.config.shutdown_grace,
            reuse_port=self.config.shared_port,
        )

    def _modelarts_gateway(
        self, served: list[GatewayService], authenticator: Authenticator
    ) -> ModelArtsGateway:
        """ModelArts' step-execution actions, on the same StepExecutionService."""
        from dagwire.server.api.modelarts_actions import ModelArtsStepActions
        from dagwire.server.gateway.aksk import AccessKeys
        from dagwire.server.gateway.modelarts import ModelArtsGateway

        (steps,) = [s.servicer for s in served if s.descriptor is STEP_SERVICE_DESCRIPTOR]
        keys = self.config.access_key_file
        return ModelArtsGateway(
            actions=ModelArtsStepActions(steps),  # type: ignore[arg-type]
            authenticator=authenticator,
            metrics=self.metrics,
            access_keys=AccessKeys.load(keys) if keys is not None else None,
        )

    def _paddleflow_gateway(
        self, served: list[GatewayService], authenticator: Authenticator
    ) -> PaddleFlowGateway:
        """PaddleFlow's REST paths, on the same WorkflowService and QueueService."""
        from dagwire.server.gateway.paddleflow import PaddleFlowGateway

        services = [*served, self._queue_service, self._user_service]
        return PaddleFlowGateway(
            services={s.descriptor.name: s for s in services},
            authenticator=authenticator,
            metrics=self.metrics,
        )

    def _metrics_listener(self) -> HttpListener | None:
        """/metrics alone, when --metrics-listen is set (plain HTTP, as Prometheus
        scrapes by default; bind it to a private address)."""
        if self.config.metrics_listen is None:
            return None
        from dagwire.server.gateway.http import metrics_application
        from dagwire.server.gateway.listener import HttpListener

        return HttpListener(
            metrics_application(self.metrics),
            self.config.metrics_listen,
            ssl_context=None,
            shutdown_grace=self.config.shutdown_grace,
        )

    def _ssl_context(self) -> ssl.SSLContext | None:
        config = self.config
        if config.tls_cert is None or config.tls_key is None:
            return None
        from dagwire.server.gateway.listener import server_ssl_context

        return server_ssl_context(config.tls_cert, config.tls_key, config.tls_client_ca)

    async def _bind(self) -> None:
        """Takes every port before anything starts, so that a port in use (ListenError,
        naming the flag that moves it) leaves no job recovered, no process started."""
        config = self.config
        try:
            if not config.shared_port:  # (a worker's siblings hold the port too)
                check_free(config.listen, "--listen")
            self.port = self._add_port()
            if self.port == 0:
                raise ListenError(config.listen, "--listen", "gRPC could not bind it")
            if self.http is not None:
                bind_as(self.http.bind, str(config.http_listen), "--http-listen")
            if self.metrics_http is not None:
                bind_as(self.metrics_http.bind, str(config.metrics_listen), "--metrics-listen")
            if self.federation is not None:
                check_free(str(config.peer_listen), "--peer-listen")
                bind_as(self.federation.bind, str(config.peer_listen), "--peer-listen")
        except ListenError:
            await self._server.stop(None)
            for listener in self.listeners:
                await listener.stop()
            raise

    def _add_port(self) -> int:
        """The gRPC port bound, or 0 when gRPC could not bind it."""
        try:
            if self._credentials is not None:
                return self._server.add_secure_port(self.config.listen, self._credentials)
            return self._server.add_insecure_port(self.config.listen)
        except RuntimeError:  # grpc's "Failed to bind to address"
            return 0

    @property
    def listeners(self) -> list[HttpListener]:
        return [listener for listener in (self.http, self.metrics_http) if listener is not None]

    @property
    def address(self) -> str:
        host = self.config.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    async def start(self) -> None:
        await self._bind()
        await self.store.open()
        await self.workflow_store.open()
        await self.usage_store.open()
        await self.schedule_store.open()
        await self.user_store.open()
        await self.users.ensure_root(self.config.root_password_file)
        if self.federation is not None:
            await self.federation.open()
        await self.queues.open()  # before recovery: recovered parties find their queues
        await self.runtime.start()
        if self.federation is not None:
            await self.federation.start()
        await self.scheduler.start()
        await self._server.start()
        for listener in self.listeners:
            await listener.start()
        for service in ("", *SERVICES):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "dagwire serving",
            address=self.address,
            http=self.http.url if self.http else None,
            metrics=self.metrics_http.url if self.metrics_http else None,
            store=_redacted(self.config.store_url),
            sandbox=self.sandbox.bwrap if self.sandbox is not None else "none",
        )

    async def stop(self) -> None:
        """Refuse new work, end watch streams cleanly, let in-flight calls finish, then
        close the runtime (executor processes keep running; they are recovered at the
        next start) and the store."""
        await self.health.enter_graceful_shutdown()
        self.bus.close()
        await asyncio.gather(
            self._server.stop(self.config.shutdown_grace),
            *(listener.stop() for listener in self.listeners),
        )
        await self.scheduler.close()
        if self.federation is not None:
            await self.federation.stop(self.config.shutdown_grace)
        await self.runtime.close()
        if self.federation is not None:
            await self.federation.close()
        await self.store.close()
        log.info("dagwire stopped")

    async def wait(self) -> None:
        await self._server.wait_for_termination()


def _federation(config: ServerConfig) -> Federation | None:
    if config.domain is None:
        return None
    # Imported here: a single server never loads the federation machinery.
    from dagwire.server.federation.setup import Federation, FederationSettings

    assert config.peers_file and config.peer_listen and config.peer_cert and config.peer_key
    settings = FederationSettings(
        domain=config.domain,
        peers_file=config.peers_file,
        listen=config.peer_listen,
        cert=config.peer_cert,
        key=config.peer_key,
        deadline=config.peer_deadline,
        queue_bound=config.peer_queue_bound,
    )
    return Federation(settings, config.data_dir)


def server_capacity(config: ServerConfig) -> Resources:
    """The default queue's max: --capacity-cpu / --capacity-mem, else the machine's."""
    machine = machine_capacity()
    return Resources(
        cpu=round(config.capacity_cpu * 1000) if config.capacity_cpu else machine.cpu,
        mem=config.capacity_mem or machine.mem,
    )


def sandbox_policy(config: ServerConfig) -> SandboxPolicy | None:
    """The sandbox tenant processes run in, or None when none works on this host (then
    said loudly: tenant code would run bare on the host)."""
    secrets = [
        config.token_file,
        config.tls_key,
        config.root_password_file,
        config.session_secret_file,
    ]
    policy = resolved(
        SandboxPolicy(
            bwrap=config.bwrap,
            hidden_dirs=(config.data_dir,),
            hidden_files=tuple(path for path in secrets if path is not None),
            shared_readable=config.sandbox_readable,
            shared_writable=config.sandbox_shared,
            allow_network=config.sandbox_network,
            limits=config.sandbox_limits,
            user=sandbox_user_ids(config.sandbox_user),
        )
    )
    problem = probe(policy)
    if problem is None:
        return policy  # said in the "dagwire serving" line, once the ports are taken
    if config.unsandboxed:
        log.error(
            "NO SANDBOX (--unsandboxed): tenant code runs BARE ON THE HOST as this server's "
            "user, with access to its data dir and tokens",
            why=problem,
        )
    else:
        log.error(
            "no sandbox for tenant code: tenants' free command steps are refused "
            "(app images of the registry run unsandboxed); --unsandboxed would run them "
            "bare on the host",
            why=problem,
        )
    return None


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def configure_logging(log_format: str) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if log_format == "json" else logs.console_renderer()
    )
    # Every line carries the call's bound context: request_id, caller, job_id; no value
    # is longer than a few kilobytes and no traceback shows locals (see observability.logs).
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        logs.bounded_values,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )
    # The executors and libraries (aiohttp, grpc) log through the standard library:
    # render their records the same way, so that --log-format json means one JSON
    # object per line throughout. Their level stays the standard library's default.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    handler.set_name("dagwire")
    root = logging.getLogger()
    for installed in [h for h in root.handlers if h.get_name() == handler.get_name()]:
        root.removeHandler(installed)  # configured before (tests configure at import)
    root.addHandler(handler)


async def serve(config: ServerConfig) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    server = DagwireServer(config)
    await server.start()
    print(
        f"dagwire listening on {server.address} (store: {_redacted(config.store_url)}, "
        f"executor: {config.executor})\n"
        f"  try: grpcurl -plaintext {server.address} list",
        flush=True,
    )
    if server.http is not None:
        print(
            f"  http gateway on {server.http.url} (POST /api/v1/job/..., /api/v1/workflow/..., GET /metrics)",
            flush=True,
        )
    if server.http is not None and config.ui:
        print(f"  web UI at {server.http.url}/ui/", flush=True)
    if server.metrics_http is not None:
        print(f"  metrics at {server.metrics_http.url}/metrics", flush=True)
    if server.federation is not None:
        print(
            f"  node of domain {config.domain}, peers deliver to {config.peer_listen}", flush=True
        )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop()
