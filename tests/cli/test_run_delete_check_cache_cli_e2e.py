"""`dagwire run delete` checks the cache by default, as PaddleFlow's CLI and SDK do
(client/paddleflow/cli/run.py delete calls client/paddleflow/run/run_api.py delete_run,
whose checkcache defaults to True): a run whose outputs another stored run reused is kept
unless --no-check-cache."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run

CACHED = "name: c\ncache: {enable: true}\nentry_points:\n  s: {command: 'echo s'}\n"


def finished(cli: Run, spec: Path) -> str:
    created = cli("--json", "run", "create", "-f", str(spec))
    assert created.exit_code == 0, created.stderr
    run_id = str(json.loads(created.stdout)["run_id"])
    assert cli("run", "watch", run_id, "--timeout", "60").exit_code == 0
    return run_id


def test_run_delete_keeps_a_run_whose_outputs_were_reused(cli: Run, tmp_path: Path) -> None:
    spec = tmp_path / "cached.yaml"
    spec.write_text(CACHED)
    first = finished(cli, spec)
    second = finished(cli, spec)

    refused = cli("run", "delete", first)

    assert refused.exit_code == 1
    assert f"runs reused its cached outputs ({second})" in refused.stderr
    assert cli("run", "get", first).exit_code == 0


def test_run_delete_no_check_cache_deletes_it(cli: Run, tmp_path: Path) -> None:
    spec = tmp_path / "cached.yaml"
    spec.write_text(CACHED)
    first = finished(cli, spec)
    finished(cli, spec)

    deleted = cli("run", "delete", first, "--no-check-cache")

    assert deleted.exit_code == 0, deleted.stderr
    assert cli("run", "get", first).exit_code == 1
