"""watch_runs survives dropped streams like watch_jobs (it resumes after the last
resource_version seen), RunHandle.result waits on it, and iter_runs follows page tokens.
Driven by a scripted WorkflowService."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import grpc
import pytest

from dagwire.client import (
    AsyncDagwireClient,
    DagwireClient,
    EventType,
    NotFoundError,
    RunEvent,
    RunStatus,
    WaitTimeoutError,
    WatchExpiredError,
)
from dagwire.v1 import enums_pb2
from dagwire.v1 import workflow_request_response_pb2 as wf
from tests.client.scripted_workflow import (
    Script,
    ScriptedWorkflowService,
    added,
    deleted,
    heartbeat,
    modified,
    run_message,
    scripted_workflow_server,
)

SUCCEEDED = enums_pb2.RUN_STATUS_SUCCEEDED


@pytest.fixture
def service() -> Iterator[ScriptedWorkflowService]:
    with scripted_workflow_server() as service:
        yield service


@pytest.fixture
def client(service: ScriptedWorkflowService) -> Iterator[DagwireClient]:
    with DagwireClient(target=service.address, timeout=5) as client:
        yield client


def _take(events: Iterator[RunEvent], n: int) -> list[tuple[str, str, int]]:
    taken = [(e.type.value, e.run_id, e.resource_version) for e in itertools.islice(events, n)]
    events.close()  # type: ignore[attr-defined]
    return taken


def test_a_dropped_run_stream_resumes_after_the_last_event_seen(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    service.scripts = [
        Script([added("r", 3), modified("r", 5)], abort=grpc.StatusCode.UNAVAILABLE),
        Script([modified("r", 5), modified("r", 6)]),
    ]
    assert _take(client.watch_runs(), 3) == [
        ("ADDED", "r", 3),
        ("MODIFIED", "r", 5),
        ("MODIFIED", "r", 6),
    ]
    assert [r.resume_from for r in service.watch_requests] == [0, 5]


def test_run_ids_and_timeout_are_sent_and_heartbeats_move_the_resume_point(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    service.scripts = [
        Script([added("r", 3), heartbeat(9)], abort=grpc.StatusCode.RESOURCE_EXHAUSTED),
        Script([modified("r", 10)]),
    ]
    assert _take(client.watch_runs(["r"], timeout_seconds=30), 2) == [
        ("ADDED", "r", 3),
        ("MODIFIED", "r", 10),
    ]
    first, second = service.watch_requests
    assert (list(first.run_ids), first.timeout_seconds) == (["r"], 30)
    assert second.resume_from == 9


def test_a_lone_run_id_is_not_split_into_characters(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    service.scripts = [Script([added("run-1", 1)])]
    _take(client.watch_runs("run-1"), 1)  # type: ignore[arg-type]
    assert list(service.watch_requests[0].run_ids) == ["run-1"]


def test_events_of_other_runs_are_filtered_out(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    service.scripts = [Script([added("other", 1), added("r", 2), modified("r", 3)])]
    assert [rid for _, rid, _ in _take(client.watch_runs(["r"]), 2)] == ["r", "r"]


def test_an_expired_resume_point_raises_watch_expired(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    service.scripts = [
        Script([added("r", 3), modified("r", 4)], abort=grpc.StatusCode.UNAVAILABLE),
        Script([], abort=grpc.StatusCode.OUT_OF_RANGE),
    ]
    events = client.watch_runs()
    assert [e.resource_version for e in itertools.islice(events, 2)] == [3, 4]
    with pytest.raises(WatchExpiredError):
        next(events)


def test_result_waits_for_the_watch_to_show_the_run_finished(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    # GetRun answers "running", so result() watches; once the watch shows the run
    # succeeded it reads the run again, now finished.
    service.runs["r"] = [run_message("r"), run_message("r", SUCCEEDED)]
    service.scripts = [Script([added("r", 1), heartbeat(2), modified("r", 3, SUCCEEDED)])]
    run = client.run_handle("r").result(timeout=10)
    assert run.status is RunStatus.SUCCEEDED
    assert list(service.watch_requests[0].run_ids) == ["r"]
    assert len([r for r in service.requests if isinstance(r, wf.GetRunRequest)]) == 2


def test_result_of_a_finished_run_returns_without_watching(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    service.runs["r"] = [run_message("r", SUCCEEDED)]
    assert client.run_handle("r").result().status is RunStatus.SUCCEEDED
    assert service.watch_requests == []


def test_result_raises_not_found_when_the_run_is_deleted_meanwhile(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    service.runs["r"] = [run_message("r")]
    service.scripts = [Script([added("r", 1), deleted("r", 2)])]
    with pytest.raises(NotFoundError, match="deleted"):
        client.run_handle("r").result(timeout=10)


def test_result_gives_up_after_its_timeout(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    service.runs["r"] = [run_message("r")]
    service.scripts = [Script([added("r", 1)] + [heartbeat(n) for n in range(2, 400)])]
    with pytest.raises(WaitTimeoutError):
        client.run_handle("r").result(timeout=0.2)


def test_iter_runs_follows_page_tokens_to_the_last_page(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    service.pages = {
        "": wf.ListRunsResponse(runs=[run_message("r3"), run_message("r2")], next_page_token="p2"),
        "p2": wf.ListRunsResponse(runs=[run_message("r1")]),
    }
    runs = list(client.iter_runs(status="running", page_size=2))
    assert [r.run_id for r in runs] == ["r3", "r2", "r1"]
    requests = [r for r in service.requests if isinstance(r, wf.ListRunsRequest)]
    assert [(r.page_token, r.page_size, r.filter) for r in requests] == [
        ("", 2, "status=running"),
        ("p2", 2, "status=running"),
    ]


def test_list_runs_returns_one_page_with_its_token(
    service: ScriptedWorkflowService, client: DagwireClient
) -> None:
    service.pages = {"": wf.ListRunsResponse(runs=[run_message("r3")], next_page_token="p2")}
    page = client.list_runs()
    assert ([r.run_id for r in page], page.next_page_token) == (["r3"], "p2")


async def test_the_async_twin_watches_waits_and_pages(service: ScriptedWorkflowService) -> None:
    service.scripts = [
        Script([added("r", 3), modified("r", 4)], abort=grpc.StatusCode.UNAVAILABLE),
        Script([modified("r", 5, SUCCEEDED)]),
    ]
    service.runs["r"] = [run_message("r")]
    service.pages = {
        "": wf.ListRunsResponse(runs=[run_message("r2")], next_page_token="p2"),
        "p2": wf.ListRunsResponse(runs=[run_message("r1")]),
    }
    async with AsyncDagwireClient(target=service.address, timeout=5) as client:
        events = client.watch_runs()
        seen = [await anext(events) for _ in range(3)]
        await events.aclose()
        assert [(e.type, e.resource_version) for e in seen] == [
            (EventType.ADDED, 3),
            (EventType.MODIFIED, 4),
            (EventType.MODIFIED, 5),
        ]
        assert [r.resume_from for r in service.watch_requests] == [0, 4]
        assert [r.run_id async for r in client.iter_runs()] == ["r2", "r1"]
        service.runs["r"] = [run_message("r", SUCCEEDED)]
        assert (await client.run_handle("r").result()).status is RunStatus.SUCCEEDED
