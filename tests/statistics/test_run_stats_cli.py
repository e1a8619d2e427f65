"""`dagwire run stats RUN [--step S]`: the CLI's view of GetStepStatistics, in a table or
as the wire messages with --json."""

from __future__ import annotations

import json

import structlog
from click.testing import CliRunner, Result

from dagwire.client.cli import main
from dagwire.v1 import workflow_service_pb2_grpc as rpc
from tests.conftest import ServerThread
from tests.security.sandboxing import ALICE_TOKEN, one_step, run_to_end
from tests.statistics.conftest import BURN, MB


def _cli(server: ServerThread, *args: str) -> Result:
    argv = ["--target", server.address, "--token", ALICE_TOKEN, *args]
    with structlog.testing.capture_logs():
        return CliRunner().invoke(main, argv, catch_exceptions=False)


async def test_run_stats_prints_each_finished_steps_figures(
    workflows: rpc.WorkflowServiceStub, dagwire_server: ServerThread
) -> None:
    run = await run_to_end(workflows, one_step(BURN))

    table = _cli(dagwire_server, "run", "stats", run.run_id)
    machine = _cli(dagwire_server, "--json", "run", "stats", run.run_id, "--step", "probe")

    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert "CPU S" in lines[1] and "PEAK MEM" in lines[1]
    assert lines[3].strip("│ ").split()[0] == "probe"
    (entry,) = json.loads(machine.stdout)["statistics"]
    assert entry["cpu_seconds"] >= 0.2
    assert int(entry["peak_memory_bytes"]) >= 40 * MB


async def test_run_stats_of_an_unknown_run_fails(dagwire_server: ServerThread) -> None:
    result = _cli(dagwire_server, "run", "stats", "run-00000000")

    assert result.exit_code != 0
    assert "run-00000000" in result.stderr
