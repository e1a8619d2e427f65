"""The workflow commands without a real server: usage errors exit 2 before any call, and a
server's INVALID_ARGUMENT is printed with one field violation a line (scripted server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dagwire.client.cli import main
from tests.client.scripted_workflow import (
    ScriptedWorkflowService,
    bad_spec_status,
    scripted_workflow_server,
)

SCHEDULE = ["schedule", "create", "s", "--pipeline-id", "p", "--crontab", "* * * * *"]


def invoke(*args: str, input: str | None = None) -> Result:
    # Port 1 refuses connections: a command that got as far as calling would exit 1.
    return CliRunner().invoke(main, ["--target", "127.0.0.1:1", *args], input=input)


@pytest.fixture
def service() -> Iterator[ScriptedWorkflowService]:
    with scripted_workflow_server() as service:
        yield service


def test_help_lists_the_workflow_groups() -> None:
    result = CliRunner().invoke(main, ["--help"])
    for group in ("pipeline", "run", "artifact", "cache", "schedule"):
        assert f"  {group} " in result.stdout


@pytest.mark.parametrize(
    ("group", "commands"),
    [
        pytest.param(
            "pipeline",
            ["create", "list", "get", "update", "delete", "version-get", "version-delete"],
            id="pipeline",
        ),
        pytest.param(
            "run",
            ["create", "list", "get", "stop", "retry", "delete", "watch", "logs", "stats"],
            id="run",
        ),
        pytest.param("artifact", ["list"], id="artifact"),
        pytest.param("cache", ["list", "get", "delete"], id="cache"),
        pytest.param("schedule", ["create", "list", "get", "stop", "delete"], id="schedule"),
    ],
)
def test_every_group_has_its_commands(group: str, commands: list[str]) -> None:
    result = CliRunner().invoke(main, [group, "--help"])
    assert result.exit_code == 0
    listed = result.stdout.split("Commands:")[1]
    assert sorted(line.split()[0] for line in listed.strip().splitlines()) == sorted(commands)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["run", "create"], id="no-source"),
        pytest.param(["run", "create", "--pipeline-id", "p", "--source-run", "r"], id="two"),
        pytest.param(["run", "create", "--source-run", "r", "--version", "2"], id="version-alone"),
        pytest.param(["run", "create", "--source-run", "r", "--param", "novalue"], id="bad-param"),
        pytest.param(
            ["run", "create", "--source-run", "r", "--failure-strategy", "maybe"], id="bad-strategy"
        ),
        pytest.param(["run", "list", "--status", "done"], id="bad-status"),
        pytest.param(["run", "logs", "r", "--position", "middle"], id="bad-position"),
        pytest.param(["artifact", "list", "--type", "model"], id="bad-type"),
        pytest.param([*SCHEDULE, "--start-time", "tomorrow"], id="bad-time"),
        pytest.param(["schedule", "create", "s", "--crontab", "* * * * *"], id="no-pipeline"),
        pytest.param(["pipeline", "create"], id="no-file"),
        pytest.param(["pipeline", "version-get", "ppl-1"], id="no-version"),
    ],
)
def test_usage_errors_exit_2_without_calling_the_server(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "UNAVAILABLE" not in result.output


def test_an_empty_spec_file_is_a_usage_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("\n")
    result = invoke("pipeline", "create", "-f", str(empty))
    assert result.exit_code == 2
    assert "empty" in result.stderr


def test_an_unreachable_server_exits_1_naming_the_address_and_make_run() -> None:
    result = invoke("run", "get", "run-1")
    assert result.exit_code == 1
    assert "no dagwire server answers at 127.0.0.1:1" in result.stderr
    assert "`make run`" in result.stderr


def test_field_violations_are_printed_one_a_line(
    service: ScriptedWorkflowService, tmp_path: Path
) -> None:
    service.error = bad_spec_status()
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\n")
    result = CliRunner().invoke(
        main, ["--target", service.address, "pipeline", "create", "-f", str(spec)]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: INVALID_ARGUMENT: the request is invalid",
        "  entry_points.b.deps: unknown step 'x'; steps: a, b",
        "  parameters.epochs: must be an int",
    ]


def test_the_spec_is_sent_as_read_from_stdin_with_the_token(
    service: ScriptedWorkflowService,
) -> None:
    text = "name: diamond\nentry_points:\n  a: {command: echo}\n"
    result = CliRunner().invoke(
        main,
        ["--target", service.address, "--token", "s3cret", "pipeline", "create", "-f", "-"],
        input=text,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "created pipeline ppl-00000001 (diamond) version 1"
    assert service.requests[0].pipeline_yaml == text
    assert service.metadata[0]["token"] == "s3cret"
