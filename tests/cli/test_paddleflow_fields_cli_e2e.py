"""The `dagwire` CLI (through the sync SDK) exposes the request fields PaddleFlow's SDK
and CLI send, over a real server:
- run list --run-id: client/paddleflow/run/run_api.py list_run `runFilter`;
- schedule list --schedule-id: client/paddleflow/schedule/schedule_api.py list_schedule
  `scheduleFilter`;
- pipeline get --page-size/--page-token: client/paddleflow/pipeline/pipeline_api.py
  show_pipeline `maxKeys`/`marker` over the versions;
- run create --fs-name --yaml-path: run_api.py add_run `fsname` + `runYamlPath`;
- pipeline create/update --fs-name --yaml-path: pipeline_api.py create_pipeline and
  update_pipeline `fsname` + `yamlPath`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dagwire.server.workflow.filesystems import OPERATOR_FOLDER
from tests.cli.conftest import Run

SPEC = "name: {name}\nentry_points:\n  say: {{command: 'echo {word}'}}\n"


def as_json(cli: Run, *args: str) -> Any:
    result = cli("--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def write(tmp_path: Path) -> Any:
    def write(name: str, word: str = "hi") -> str:
        path = tmp_path / f"{name}-{word}.yaml"
        path.write_text(SPEC.format(name=name, word=word))
        return str(path)

    return write


@pytest.fixture
def work_fs(dagwire_server: Any) -> Path:
    """The operator's server-managed file system `work` (the CLI calls without a token:
    as an operator)."""
    folder: Path = dagwire_server.config.file_systems_dir / OPERATOR_FOLDER / "work"
    (folder / "specs").mkdir(parents=True, exist_ok=True)
    return folder


def test_run_list_by_run_id_lists_that_run_only(cli: Run, write: Any) -> None:
    first = as_json(cli, "run", "create", "-f", write("a"))["run_id"]
    as_json(cli, "run", "create", "-f", write("b"))

    listed = as_json(cli, "run", "list", "--run-id", first)

    assert [run["run_id"] for run in listed["runs"]] == [first]


def test_schedule_list_by_schedule_id_lists_that_schedule_only(cli: Run, write: Any) -> None:
    pid = as_json(cli, "pipeline", "create", "-f", write("p"))["pipeline_id"]
    made = [
        as_json(cli, "schedule", "create", name, "--pipeline-id", pid, "--crontab", "0 2 * * *")[
            "schedule_id"
        ]
        for name in ("nightly", "weekly")
    ]

    listed = as_json(cli, "schedule", "list", "--schedule-id", made[1])

    assert [s["schedule_id"] for s in listed["schedules"]] == [made[1]]


def test_pipeline_get_pages_its_versions_newest_first(cli: Run, write: Any) -> None:
    pid = as_json(cli, "pipeline", "create", "-f", write("p"))["pipeline_id"]
    as_json(cli, "pipeline", "update", pid, "-f", write("p", "again"))

    first = as_json(cli, "pipeline", "get", pid, "--page-size", "1")
    token = first["next_page_token"]
    second = as_json(cli, "pipeline", "get", pid, "--page-size", "1", "--page-token", token)

    assert [v["pipeline_version_id"] for v in first["pipeline_versions"]] == ["2"]
    assert token
    assert [v["pipeline_version_id"] for v in second["pipeline_versions"]] == ["1"]
    assert second["next_page_token"] == ""


def test_run_create_runs_the_spec_at_a_path_in_a_file_system(cli: Run, work_fs: Path) -> None:
    (work_fs / "specs" / "run.yaml").write_text(SPEC.format(name="by-path", word="hi"))

    created = as_json(cli, "run", "create", "--fs-name", "work", "--yaml-path", "specs/run.yaml")
    cli("run", "watch", created["run_id"], "--timeout", "60")

    run = as_json(cli, "run", "get", created["run_id"])
    assert (run["name"], run["status"]) == ("by-path", "RUN_STATUS_SUCCEEDED")
    assert run["fs_name"] == "work"


def test_pipeline_create_and_update_read_the_spec_at_a_path(cli: Run, work_fs: Path) -> None:
    (work_fs / "specs" / "v1.yaml").write_text(SPEC.format(name="from-fs", word="one"))
    (work_fs / "specs" / "v2.yaml").write_text(SPEC.format(name="from-fs", word="two"))

    created = as_json(
        cli, "pipeline", "create", "--fs-name", "work", "--yaml-path", "specs/v1.yaml"
    )
    updated = as_json(
        cli,
        "pipeline",
        "update",
        created["pipeline_id"],
        "--fs-name",
        "work",
        "--yaml-path",
        "specs/v2.yaml",
    )

    assert created["name"] == "from-fs"
    version = as_json(
        cli, "pipeline", "version-get", created["pipeline_id"], updated["pipeline_version_id"]
    )
    assert "echo two" in version["pipeline_yaml"]


def test_a_yaml_path_without_its_file_system_is_a_usage_error(cli: Run) -> None:
    result = cli("run", "create", "--yaml-path", "specs/run.yaml")

    assert result.exit_code == 2
    assert "--yaml-path needs --fs-name" in result.stderr
