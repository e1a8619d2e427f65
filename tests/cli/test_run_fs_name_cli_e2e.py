"""`dagwire run create --fs-name` runs PaddleFlow's base_pipeline (no fs_options)
unchanged in the named file system, through the SDK's create_run(fs_name=...)."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.conftest import Run
from tests.workflow.paddleflow import EXAMPLES, install_ppl


def test_run_create_with_fs_name_runs_base_pipeline_in_that_fs(
    cli: Run, dagwire_server: Any
) -> None:
    ppl = install_ppl(dagwire_server)
    # example/pipeline/base_pipeline/run.yaml, unchanged
    spec = str(EXAMPLES / "base_pipeline" / "run.yaml")
    created = cli("--json", "run", "create", "-f", spec, "--fs-name", "ppl")
    assert created.exit_code == 0, created.stderr
    run_id = json.loads(created.stdout)["run_id"]
    cli("run", "watch", run_id, "--timeout", "60")
    run = json.loads(cli("--json", "run", "get", run_id).stdout)
    assert run["status"] == "RUN_STATUS_SUCCEEDED", run.get("run_msg")
    assert (ppl / "output" / run_id / "model").is_file()
