"""`dagwire run get` shows a held step as hold, not as unknown."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.cli.conftest import Run

HELD = """\
name: held
entry_points:
  a: {command: "echo a"}
  wait: {command: "echo wait", deps: a, hold: true}
"""


def test_run_get_shows_a_held_step_as_hold(cli: Run, tmp_path: Path) -> None:
    spec = tmp_path / "held.yaml"
    spec.write_text(HELD)
    run_id = json.loads(cli("--json", "run", "create", "-f", str(spec)).stdout)["run_id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        steps = json.loads(cli("--json", "run", "get", run_id).stdout)["steps"]
        if steps[1].get("status") != "STEP_STATUS_PENDING":
            break
        time.sleep(0.05)
    table = cli("run", "get", run_id).stdout
    line = next(line for line in table.splitlines() if "wait" in line)
    assert "hold" in line and "unknown" not in line
