"""CLI behaviour that needs no running server: usage, environment, `serve`, transport errors."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from dagwire.client.cli import main
from tests.client.scripted import scripted_server


def test_help_lists_the_job_and_serve_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "job" in result.stdout and "serve" in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    assert CliRunner().invoke(main, ["job", "explode"]).exit_code == 2


def test_missing_job_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["job", "create", "-f", str(tmp_path / "nope.json")])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    "command",
    [["job", "get", "job-x"], ["job", "list"], ["run", "list"], ["pipeline", "list"]],
    ids=" ".join,
)
def test_no_server_is_one_line_with_the_address_and_how_to_start_one(command: list[str]) -> None:
    result = CliRunner().invoke(main, ["--target", "127.0.0.1:1", *command])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no dagwire server answers at 127.0.0.1:1: start one with `make run`, "
        "or give its address with --target (env DAGWIRE_TARGET)\n"
    )


def test_a_typo_in_the_job_file_is_a_usage_error_naming_the_field_in_snake_case(
    tmp_path: Path,
) -> None:
    typo = tmp_path / "typo.json"
    typo.write_text('{"job_id": "j", "initiater": "alice"}')
    result = CliRunner().invoke(main, ["job", "create", "-f", str(typo)])
    assert result.exit_code == 2
    assert (
        "unknown field initiater (did you mean initiator?); CreateJobRequest has: header, "
        "job_id, initiator, max_parallelism, tasks, custom_fields"
    ) in result.stderr


def test_target_is_read_from_the_environment() -> None:
    result = CliRunner().invoke(
        main, ["job", "get", "job-x"], env={"DAGWIRE_TARGET": "127.0.0.1:1"}
    )
    assert "127.0.0.1:1" in result.stderr


def test_serve_forwards_its_arguments_to_the_server_main(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[list[str] | None] = []
    fake = types.ModuleType("dagwire.server.__main__")
    fake.main = received.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dagwire.server.__main__", fake)
    args = ["serve", "--listen", "127.0.0.1:0", "--data-dir", "/tmp/x", "--help"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert received == [["--listen", "127.0.0.1:0", "--data-dir", "/tmp/x", "--help"]]


def test_token_option_is_sent_as_token_metadata() -> None:
    with scripted_server() as service:
        result = CliRunner().invoke(
            main, ["--target", service.address, "--token", "s3cret", "job", "get", "job-x"]
        )
    assert result.exit_code == 0, result.output
    assert service.metadata[0]["token"] == "s3cret"


def test_token_is_read_from_the_environment() -> None:
    with scripted_server() as service:
        CliRunner().invoke(
            main,
            ["--target", service.address, "job", "get", "job-x"],
            env={"DAGWIRE_TOKEN": "from-env"},
        )
    assert service.metadata[0]["token"] == "from-env"
