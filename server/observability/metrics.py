"""The Prometheus metrics of one server.

Every server owns a registry of its own instead of prometheus-client's global one, so
that several servers in one process (as in the tests) never add to each other's
counters. RPC outcomes are recorded as calls end, by the gRPC interceptor and by the
HTTP gateway alike; gauges that describe state (jobs by state, watchers, queue depth)
are read when Prometheus scrapes, so they are never stale and cost nothing between
scrapes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

# Calls range from sub-millisecond queries to watch streams that last hours.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    60.0,
    600.0,
    3600.0,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST

Refresh = Callable[[], Awaitable[None]]


class ServerMetrics:
    """The registry of one server and its RPC metrics. Other parts register their own
    metrics in `registry` and ask to be refreshed before each scrape with `on_scrape`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("service", "method", "transport", "code")
        self._handled = Counter(
            "dagwire_rpc_handled",
            "Calls completed, by service, method, transport (grpc or http) and code: the "
            "in-band Kuscia status code where the response carries one (0 is success), "
            "else the gRPC status name.",
            labels,
            registry=self.registry,
        )
        self._seconds = Histogram(
            "dagwire_rpc_duration_seconds",
            "Time from a call's arrival to its end (a stream's whole life), by service, "
            "method, transport and code.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._refreshers: list[Refresh] = []

    def observe_rpc(self, full_method: str, *, transport: str, code: str, seconds: float) -> None:
        """Record one finished call; `full_method` is gRPC's "/package.Service/Method"."""
        service, _, method = full_method.lstrip("/").rpartition("/")
        self._handled.labels(service, method, transport, code).inc()
        self._seconds.labels(service, method, transport, code).observe(seconds)

    def on_scrape(self, refresh: Refresh) -> None:
        """Run `refresh` before every scrape, to update gauges read from async sources."""
        self._refreshers.append(refresh)

    async def render(self) -> bytes:
        """The text exposition format, after refreshing every scrape-time gauge."""
        for refresh in self._refreshers:
            await refresh()
        return generate_latest(self.registry)
