"""`dagwire fs create / list / show / delete` against a real server, through the sync
SDK: a registered local folder is what a run naming it in fs_options works in, and a
secret property never comes back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dagwire.client import DagwireClient, FileSystem
from tests.cli.conftest import Run

SPEC = """
name: on-shelf
fs_options: {main_fs: {name: shelf}}
entry_points:
  note: {command: "echo noted > note.txt"}
"""


def test_fs_commands_register_show_list_and_delete(
    cli: Run, dagwire_server: Any, tmp_path: Path
) -> None:
    shelf = tmp_path / "shelf"
    created = cli("--json", "fs", "create", "shelf", f"local://{shelf}", "-p", "owner_note=x")
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["url"] == f"local://{shelf}"
    lake = cli(
        "fs", "create", "lake", "s3://bucket-l/p", "-p", "secret_key=hush", "-p", "region=eu"
    )
    assert lake.exit_code == 0, lake.stderr
    assert "hush" not in lake.stdout and "******" in lake.stdout
    listed = json.loads(cli("--json", "fs", "list").stdout)["file_systems"]
    assert [fs["name"] for fs in listed] == ["lake", "shelf"]
    shown = cli("fs", "show", "lake")
    assert "s3://bucket-l/p" in shown.stdout and "region" in shown.stdout
    spec = tmp_path / "run.yaml"
    spec.write_text(SPEC)
    run_id = json.loads(cli("--json", "run", "create", "-f", str(spec)).stdout)["run_id"]
    cli("run", "watch", run_id, "--timeout", "60")
    run = json.loads(cli("--json", "run", "get", run_id).stdout)
    assert run["status"] == "RUN_STATUS_SUCCEEDED", run.get("run_msg")
    assert (shelf / "note.txt").read_text().strip() == "noted"
    assert cli("fs", "delete", "lake").exit_code == 0
    missing = cli("fs", "show", "lake")
    assert missing.exit_code != 0 and "does not exist" in missing.stderr
    bad = cli("fs", "create", "x", "s3://b-b", "-p", "novalue")
    assert bad.exit_code != 0 and "KEY=VALUE" in bad.stderr


def test_the_sdk_registers_and_lists_file_systems(dagwire_server: Any) -> None:
    with DagwireClient(target=dagwire_server.address) as client:
        made = client.create_file_system("attic", "s3://bucket-a", {"secretKey": "s"})
        assert isinstance(made, FileSystem) and made.properties == {"secret_key": "******"}
        assert [fs.name for fs in client.list_file_systems()] == ["attic"]
        assert client.get_file_system("attic").url == "s3://bucket-a"
        client.delete_file_system("attic")
        assert client.list_file_systems() == []
