"""A queue's quota, end to end over a real server: a queue of 2 CPUs and 20 one-CPU
steps never runs more than 2 at once (from the intervals the processes record), all
succeed, and those that wait say so with the queue's reason while they wait."""

from __future__ import annotations

from pathlib import Path

from dagwire.server.engine.quota import Resources
from dagwire.v1 import enums_pb2 as enums
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread, assert_eventually
from tests.workflow.conftest import get_run, run_yaml, wait_finished

STEPS = 20


def run_spec(work_dir: Path, queue: str) -> str:
    lines = ["name: quota", "parallelism: 20", "entry_points:"]
    for index in range(STEPS):
        script = (
            f"date +%s.%N > {work_dir}/s{index}.start; sleep 0.3; "
            f"date +%s.%N > {work_dir}/s{index}.end"
        )
        lines.append(f"  s{index}: {{command: '{script}', env: {{PF_JOB_QUEUE_NAME: {queue}}}}}")
    return "\n".join(lines) + "\n"


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


async def test_a_queue_of_two_cpus_runs_twenty_steps_two_at_a_time(
    dagwire_server: ServerThread, workflows: rpc.WorkflowServiceStub, tmp_path: Path
) -> None:
    assert dagwire_server.server is not None
    queues = dagwire_server.server.queues
    dagwire_server._call(queues.create_queue("demo-q", Resources(cpu=2000), Resources()))
    work_dir = tmp_path / "work"
    work_dir.mkdir()

    run = await run_yaml(workflows, run_spec(work_dir, "demo-q"))

    def queued_steps(found: object) -> list[str]:
        return [s.message for s in found.steps if s.status == enums.STEP_STATUS_PENDING]  # type: ignore[attr-defined]

    waiting = await assert_eventually(
        lambda: get_run(workflows, run.run_id),
        lambda found: any(m.startswith("queued in demo-q") for m in queued_steps(found)),
        timeout=30,
    )
    assert "queued in demo-q: needs cpu 1, 2 of 2 in use" in queued_steps(waiting)
    usage = dagwire_server.server.admission.usage("demo-q")
    assert usage.running <= 2 and usage.used.cpu <= 2000

    finished = await wait_finished(workflows, run.run_id, timeout=120)
    assert finished.status == enums.RUN_STATUS_SUCCEEDED, finished
    assert all(not step.message for step in finished.steps)  # the wait is over
    intervals = [
        (
            float((work_dir / f"s{i}.start").read_text()),
            float((work_dir / f"s{i}.end").read_text()),
        )
        for i in range(STEPS)
    ]
    assert max_overlap(intervals) <= 2
    assert max_overlap(intervals) == 2  # the quota was used, not just respected
    assert dagwire_server.server.admission.usage("demo-q").running == 0
