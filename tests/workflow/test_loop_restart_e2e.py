"""A loop laid out at run time survives a server restart: its copies are stored with
the run (the job's spec changed while it ran), still listed after the restart, and the
copies that were running are recovered with their own items and finish."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from dagwire.client import DagwireClient, RunStatus, StepStatus
from dagwire.server.config import ServerConfig
from tests.conftest import ServerThread

SPEC = """
name: loop-restart
entry_points:
  list:
    command: "echo '[\\"x\\", \\"y\\"]' > {{items}}"
    artifacts: {output: [items]}
  wait:
    deps: list
    command: "while [ ! -e %(work)s/go ]; do sleep 0.05; done; echo $PF_LOOP_ARGUMENT > %(work)s/$PF_STEP_NAME"
    loop_argument: "{{items}}"
    artifacts: {input: {items: "{{list.items}}"}}
"""


def _until(check: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_loops_copies_survive_a_restart_and_finish(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    first = ServerThread(server_config)
    first.start()
    second = ServerThread(dataclasses.replace(server_config, listen=first.address))
    try:
        with DagwireClient(target=first.address, timeout=10) as client:
            run_id = client.create_run(SPEC % {"work": work}).run_id

            def copies_running() -> bool:
                steps = {s.name: s.status for s in client.get_run(run_id).steps}
                return steps.get("wait") is StepStatus.RUNNING and (
                    steps.get("wait-1") is StepStatus.RUNNING
                )

            _until(copies_running)
        first.stop()
        second.start()
        (work / "go").write_text("")
        with DagwireClient(target=second.address, timeout=10) as client:
            done = client.run_handle(run_id).result(timeout=60)
        assert done.status is RunStatus.SUCCEEDED, done.run_msg
        assert [s.name for s in done.steps] == ["list", "wait", "wait-1"]
        assert (work / "wait").read_text().strip() == "x"
        assert (work / "wait-1").read_text().strip() == "y"
    finally:
        second.stop()
