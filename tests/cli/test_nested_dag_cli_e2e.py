"""The CLI's DAG picture of a run with a nested DAG (pipelines/fan_dag, mirroring
PaddleFlow's example/pipeline/dag_example at commit 3ca9ece1) shows the sub-DAG's
steps as `dag.step`, each at its level after its inner deps, as GetRun lists them."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.conftest import Run
from tests.workflow.paddleflow import PIPELINES, install_ppl


def test_run_get_draws_the_steps_of_a_nested_dag(cli: Run, dagwire_server: Any) -> None:
    install_ppl(dagwire_server)
    created = cli("--json", "run", "create", "-f", str(PIPELINES / "fan_dag" / "run.yaml"))
    assert created.exit_code == 0, created.stderr
    run_id = json.loads(created.stdout)["run_id"]
    cli("run", "watch", run_id, "--timeout", "60")
    picture = cli("run", "get", run_id)
    assert picture.exit_code == 0, picture.stderr
    cells = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in picture.stdout.splitlines()
        if line.startswith("│")
    ]
    # LEVEL, STEP (glyph and name), STATUS, AFTER, ...
    drawn = {cell[1].split()[-1]: (cell[2], cell[3]) for cell in cells}
    assert list(drawn) == [
        "draw",
        "bucket.divide",
        "bucket.square-low",
        "bucket.square-high",
        "bucket.merge",
        "total",
    ]
    assert {status for status, _ in drawn.values()} == {"succeeded"}
    assert drawn["bucket.merge"][1] == "bucket.square-low, bucket.square-high"
