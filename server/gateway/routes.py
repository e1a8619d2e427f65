"""Which HTTP path calls which RPC: plain data, read by the gateway and by the OpenAPI
generator alike.

A service is served over HTTP by adding its table here; the gateway finds the servicer
by the service's full name. Kuscia's JobService keeps Kuscia's paths and its in-band
status; dagwire's own services live under /api/v1/workflow/ and /api/v1/stepexecution/
and answer errors as grpc-gateway does (an HTTP status and a google.rpc.Status body).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RouteTable:
    """`POST {prefix}{path}` calls `{service}/{rpc}` for every `path: rpc` of `paths`.

    `in_band` says how the service reports errors: in its responses (Kuscia's `status`,
    with HTTP 200), or as gRPC statuses, which the gateway turns into HTTP statuses.
    `go_protojson` decodes and encodes JSON as Go's protojson does with the options of
    Kuscia's server: fields the request lacks are dropped instead of refused
    (DiscardUnknown), and in unary answers an unset message field is printed as `null`
    (EmitUnpopulated; stream lines stay compact: a heartbeat has no `object`).
    """

    service: str
    prefix: str
    paths: Mapping[str, str]
    in_band: bool = False
    go_protojson: bool = False

    def routes(self) -> list[tuple[str, str]]:
        """(HTTP path, RPC name) pairs."""
        return [(self.prefix + path, rpc) for path, rpc in self.paths.items()]


# Kuscia's documented paths (its KusciaAPI HTTP server listens on 8082).
KUSCIA_JOB_ROUTES = RouteTable(
    service="kuscia.proto.api.v1alpha1.kusciaapi.JobService",
    prefix="/api/v1/job/",
    paths={
        "create": "CreateJob",
        "query": "QueryJob",
        "status/batchQuery": "BatchQueryJobStatus",
        "delete": "DeleteJob",
        "stop": "StopJob",
        "watch": "WatchJob",
        "approve": "ApproveJob",
        "suspend": "SuspendJob",
        "restart": "RestartJob",
        "cancel": "CancelJob",
        "list": "ListJobs",  # dagwire extension: Kuscia has no listing
    },
    in_band=True,
    # Kuscia decodes with protojson's DiscardUnknown (pkg/web/decorator/binder/
    # json_proto_binder.go), and its docs list fields its messages lack (`header` on
    # ApproveJob): a Kuscia client may send them. It encodes with EmitUnpopulated
    # (pkg/web/decorator/proto_decorator.go): `"schedule_config": null`.
    go_protojson=True,
)

# dagwire's own: `{noun}/{verb}`, one path per RPC, in the service's order.
WORKFLOW_ROUTES = RouteTable(
    service="dagwire.v1.WorkflowService",
    prefix="/api/v1/workflow/",
    paths={
        "pipeline/create": "CreatePipeline",
        "pipeline/get": "GetPipeline",
        "pipeline/list": "ListPipelines",
        "pipeline/update": "UpdatePipeline",
        "pipeline/delete": "DeletePipeline",
        "pipeline/version/get": "GetPipelineVersion",
        "pipeline/version/delete": "DeletePipelineVersion",
        "run/create": "CreateRun",
        "run/get": "GetRun",
        "run/list": "ListRuns",
        "run/stop": "StopRun",
        "run/retry": "RetryRun",
        "run/delete": "DeleteRun",
        "run/watch": "WatchRuns",
        "cache/list": "ListCacheEntries",
        "cache/get": "GetCacheEntry",
        "cache/delete": "DeleteCacheEntry",
        "fs/create": "CreateFileSystem",
        "fs/get": "GetFileSystem",
        "fs/list": "ListFileSystems",
        "fs/delete": "DeleteFileSystem",
        "artifact/list": "ListArtifacts",
        "log/get": "GetRunLog",
        "statistics/get": "GetStepStatistics",
        "log/tail": "TailRunLog",
        "schedule/create": "CreateSchedule",
        "schedule/get": "GetSchedule",
        "schedule/list": "ListSchedules",
        "schedule/stop": "StopSchedule",
        "schedule/delete": "DeleteSchedule",
    },
)

STEP_EXECUTION_ROUTES = RouteTable(
    service="dagwire.v1.StepExecutionService",
    prefix="/api/v1/stepexecution/",
    paths={
        "get": "GetStepExecution",
        "list": "ListStepExecutions",
        "act": "ActOnStepExecution",
        "watch": "WatchStepExecutions",
    },
)

ROUTE_TABLES: tuple[RouteTable, ...] = (KUSCIA_JOB_ROUTES, WORKFLOW_ROUTES, STEP_EXECUTION_ROUTES)
