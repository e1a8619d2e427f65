"""`dagwire job ...` against a real server: create, inspect, control, and exit statuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2
from tests.cli.conftest import Run

SEED_JOB_ID = "job-alice-bob-001"


def test_job_create_takes_kuscias_seed_json_unchanged(cli: Run, seed_job_file: Path) -> None:
    result = cli("job", "create", "-f", str(seed_job_file))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"created job {SEED_JOB_ID}"


def test_job_create_reads_yaml_from_stdin(cli: Run, seed_job_file: Path) -> None:
    body = json.loads(seed_job_file.read_text())
    result = cli("--json", "job", "create", "-f", "-", input=yaml.safe_dump(body))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"job_id": SEED_JOB_ID}


def test_job_get_output_json_is_the_query_data(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    result = cli("job", "get", SEED_JOB_ID, global_args=["--output", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["job_id"], data["initiator"], data["max_parallelism"]) == (SEED_JOB_ID, "alice", 2)
    assert [t["alias"] for t in data["tasks"]] == ["job-psi", "job-split"]
    assert data["status"]["state"]


def _in_wire_order(data: dict[str, object], message: type) -> bool:
    """The keys are in field-number order (an unset message field is left out)."""
    fields = sorted(message.DESCRIPTOR.fields, key=lambda f: f.number)  # type: ignore[attr-defined]
    return list(data) == [f.name for f in fields if f.name in data]


def test_job_get_json_keeps_the_wire_field_order_at_every_level(
    cli: Run, seed_job_file: Path
) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    data = json.loads(cli("--json", "job", "get", SEED_JOB_ID).stdout)
    assert _in_wire_order(data, job_pb2.QueryJobResponseData)
    assert _in_wire_order(data["tasks"][0], job_pb2.TaskConfig)
    assert _in_wire_order(data["tasks"][0]["parties"][0], job_pb2.Party)
    assert _in_wire_order(data["status"], job_pb2.JobStatusDetail)
    assert len(data["status"]) == len(job_pb2.JobStatusDetail.DESCRIPTOR.fields)


def test_json_flag_is_shorthand_for_output_json(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    data = json.loads(cli("--json", "job", "get", SEED_JOB_ID).stdout)
    assert data["job_id"] == SEED_JOB_ID


def test_job_get_output_yaml_parses(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    result = cli("-o", "yaml", "job", "get", SEED_JOB_ID)
    assert yaml.safe_load(result.stdout)["job_id"] == SEED_JOB_ID


def test_job_get_table_shows_every_task(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    result = cli("job", "get", SEED_JOB_ID)
    assert result.exit_code == 0, result.stderr
    assert SEED_JOB_ID in result.stdout
    assert "job-psi" in result.stdout and "job-split" in result.stdout


def test_job_list_status_gives_one_entry_per_job(cli: Run, job_file: Callable[..., Path]) -> None:
    for job_id in ("job-a", "job-b"):
        cli("job", "create", "-f", str(job_file(job_id)))
    result = cli("--json", "job", "list-status", "job-b", "job-a")
    assert [entry["job_id"] for entry in json.loads(result.stdout)] == ["job-b", "job-a"]


def test_job_cancel_confirms_and_the_job_ends_cancelled(
    cli: Run, job_file: Callable[..., Path]
) -> None:
    cli("job", "create", "-f", str(job_file("job-c", config={"sleep_seconds": 30})))
    result = cli("job", "cancel", "job-c", "--reason", "not needed")
    assert result.stdout.strip() == "cancelled job job-c"
    watched = cli("job", "watch", "job-c", "--timeout", "30")
    assert watched.stdout.splitlines()[-1].startswith("job-c Cancelled")


def test_job_stop_records_the_reason(cli: Run, job_file: Callable[..., Path]) -> None:
    cli("job", "create", "-f", str(job_file("job-s", config={"sleep_seconds": 30})))
    assert cli("job", "stop", "job-s", "--reason", "operator said so").exit_code == 0
    cli("job", "watch", "job-s", "--timeout", "30")
    assert (
        "operator said so"
        in json.loads(cli("--json", "job", "get", "job-s").stdout)["status"]["err_msg"]
    )


def test_job_delete_makes_the_job_unknown(cli: Run, job_file: Callable[..., Path]) -> None:
    cli("job", "create", "-f", str(job_file("job-d")))
    assert cli("job", "delete", "job-d").stdout.strip() == "deleted job job-d"
    assert cli("job", "get", "job-d").exit_code == 1


def test_unknown_job_exits_1_with_the_message_on_stderr(cli: Run) -> None:
    result = cli("job", "get", "no-such-job")
    assert result.exit_code == 1
    assert "no-such-job" in result.stderr
    assert result.stdout == ""


def test_creating_a_taken_job_id_exits_1(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    result = cli("job", "create", "-f", str(seed_job_file))
    assert result.exit_code == 1
    assert "already exists" in result.stderr


def test_suspending_a_finished_job_exits_1(cli: Run, job_file: Callable[..., Path]) -> None:
    cli("job", "create", "-f", str(job_file("job-f")))
    cli("job", "watch", "job-f", "--timeout", "30")
    result = cli("job", "suspend", "job-f")
    assert result.exit_code == 1
    assert "11210" in result.stderr


def test_approve_without_a_decision_is_a_usage_error(cli: Run) -> None:
    assert cli("job", "approve", "job-x").exit_code == 2


def test_an_unparsable_job_file_is_a_usage_error(cli: Run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"job_id": ')
    result = cli("job", "create", "-f", str(broken))
    assert result.exit_code == 2
    assert "invalid JSON" in result.stderr


def test_an_invalid_job_is_rejected_by_the_server_with_exit_1(cli: Run, tmp_path: Path) -> None:
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("job_id: job-empty\ninitiator: alice\ntasks: []\n")
    result = cli("job", "create", "-f", str(invalid))
    assert result.exit_code == 1
    assert "11100" in result.stderr


def test_output_option_also_works_after_the_command(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    result = cli("job", "get", SEED_JOB_ID, "--output", "json")
    assert json.loads(result.stdout)["job_id"] == SEED_JOB_ID
