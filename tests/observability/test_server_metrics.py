"""Each server keeps its metrics in a registry of its own."""

from __future__ import annotations

from dagwire.server.observability.metrics import ServerMetrics

METHOD = "/kuscia.proto.api.v1alpha1.kusciaapi.JobService/QueryJob"
LABELS = {
    "service": "kuscia.proto.api.v1alpha1.kusciaapi.JobService",
    "method": "QueryJob",
    "transport": "grpc",
    "code": "0",
}


def test_two_servers_in_one_process_keep_their_counts_apart() -> None:
    first, second = ServerMetrics(), ServerMetrics()
    first.observe_rpc(METHOD, transport="grpc", code="0", seconds=0.01)
    assert first.registry.get_sample_value("dagwire_rpc_handled_total", LABELS) == 1
    assert second.registry.get_sample_value("dagwire_rpc_handled_total", LABELS) is None


async def test_rendering_runs_the_scrape_time_refreshers_first() -> None:
    metrics = ServerMetrics()
    refreshed: list[bool] = []

    async def refresh() -> None:
        refreshed.append(True)

    metrics.on_scrape(refresh)
    text = await metrics.render()
    assert refreshed == [True]
    assert b"# HELP dagwire_rpc_handled_total" in text
