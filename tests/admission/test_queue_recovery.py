"""A named queue across kill -9: a queue of one core and three steps naming it; the
server dies while one step runs and two wait. Started again, the queue is read back from
the store before recovery, the running step holds its core and the waiting ones wait
again: every step runs exactly once, never two at once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from dagwire.client import AsyncDagwireClient, Resources
from tests.eventually import assert_eventually
from tests.processes import ServerProcess


def run_yaml(work: Path) -> str:
    lines = ["name: crash-q", "parallelism: 3", "entry_points:"]
    for name in ("a", "b", "c"):
        script = (
            f"echo start {name} $(date +%s.%N) >> {work}/record; sleep 1.5; "
            f"echo end {name} $(date +%s.%N) >> {work}/record"
        )
        lines.append(f"  {name}: {{command: '{script}', env: {{PF_JOB_QUEUE_NAME: one-q}}}}")
    return "\n".join(lines) + "\n"


def records(work: Path) -> list[list[str]]:
    return [line.split() for line in (work / "record").read_text().splitlines()]


async def test_a_queue_holds_across_a_crash(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        async with AsyncDagwireClient(target=server.address, timeout=10) as client:
            await client.create_queue("one-q", Resources(cpu="1"))
            run_id = (await client.create_run(run_yaml(tmp_path))).run_id
            await assert_eventually(
                lambda: client.get_queue("one-q"),
                lambda q: q.running == 1 and q.waiting == 2,
                timeout=30,
            )
    finally:
        server.kill()

    again = ServerProcess(tmp_path, port=int(server.address.rsplit(":", 1)[1])).start()
    try:
        async with AsyncDagwireClient(target=again.address, timeout=10) as client:
            run = await client.run_handle(run_id).result(timeout=60)
            assert (await client.get_queue("one-q")).running == 0
    finally:
        again.stop()
    assert run.status.value == "succeeded", [(s.name, s.message) for s in run.steps]
    lines = records(tmp_path)
    assert Counter(name for kind, name, _ in lines if kind == "start") == {"a": 1, "b": 1, "c": 1}
    edges = sorted((float(at), 1 if kind == "start" else -1) for kind, _, at in lines)
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak == 1
