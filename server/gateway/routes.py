"""Which HTTP path calls which RPC: plain data, read by the gateway and by the OpenAPI
generator alike.

A service is served over HTTP by adding its table here; the gateway finds the servicer
by the service's full name. WorkflowService and StepExecutionService join this way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RouteTable:
    """`POST {prefix}{path}` calls `{service}/{rpc}` for every `path: rpc` of `paths`."""

    service: str
    prefix: str
    paths: Mapping[str, str]

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
    },
)

ROUTE_TABLES: tuple[RouteTable, ...] = (KUSCIA_JOB_ROUTES,)
