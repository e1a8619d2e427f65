"""`dagwire run create --fs-name` runs pipelines/relay_basic (no fs_options; mirrors
PaddleFlow's example/pipeline/base_pipeline) in the named file system, through the SDK's
create_run(fs_name=...)."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.conftest import Run
from tests.workflow.paddleflow import PIPELINES, install_ppl


def test_run_create_with_fs_name_runs_relay_basic_in_that_fs(cli: Run, dagwire_server: Any) -> None:
    ppl = install_ppl(dagwire_server)
    spec = str(PIPELINES / "relay_basic" / "run.yaml")
    created = cli("--json", "run", "create", "-f", spec, "--fs-name", "ppl")
    assert created.exit_code == 0, created.stderr
    run_id = json.loads(created.stdout)["run_id"]
    cli("run", "watch", run_id, "--timeout", "60")
    run = json.loads(cli("--json", "run", "get", run_id).stdout)
    assert run["status"] == "RUN_STATUS_SUCCEEDED", run.get("run_msg")
    assert (ppl / "weights" / run_id / "weights.txt").is_file()
