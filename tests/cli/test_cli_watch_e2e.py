"""`dagwire job watch` against a real server: one line per change, until the jobs end."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Run

SEED_JOB_ID = "job-alice-bob-001"
LINE = re.compile(r"^job-alice-bob-001 \w+(  job-(psi|split) \w+( \d+%)?){2}$")


def test_watch_of_the_seed_job_prints_per_task_lines_until_it_succeeds(
    cli: Run, seed_job_file: Path
) -> None:
    assert cli("job", "create", "-f", str(seed_job_file)).exit_code == 0
    result = cli("job", "watch", SEED_JOB_ID, "--timeout", "60")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        lines[-1] == "job-alice-bob-001 Succeeded  job-psi Succeeded 100%  job-split Succeeded 100%"
    )
    assert all(LINE.match(line) for line in lines), lines


def test_watch_prints_a_line_only_when_something_changed(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    lines = cli("job", "watch", SEED_JOB_ID, "--timeout", "60").stdout.splitlines()
    assert all(a != b for a, b in itertools.pairwise(lines))


def test_watch_of_a_finished_job_prints_its_state_and_exits(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    cli("job", "watch", SEED_JOB_ID, "--timeout", "60")
    again = cli("job", "watch", SEED_JOB_ID)  # no timeout: it must end by itself
    assert again.exit_code == 0
    assert again.stdout.splitlines() == [
        "job-alice-bob-001 Succeeded  job-psi Succeeded 100%  job-split Succeeded 100%"
    ]


def test_watch_follows_several_jobs_until_all_are_terminal(
    cli: Run, job_file: Callable[..., Path]
) -> None:
    cli("job", "create", "-f", str(job_file("job-ok")))
    cli("job", "create", "-f", str(job_file("job-bad", "dagwire-fail", {"exit_code": 2})))
    result = cli("job", "watch", "job-ok", "job-bad", "--timeout", "60")
    assert result.exit_code == 0, result.stderr
    last = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert last == {"job-ok": "Succeeded", "job-bad": "Failed"}


def test_watch_shows_why_a_job_and_its_tasks_failed(
    cli: Run, job_file: Callable[..., Path]
) -> None:
    cli("job", "create", "-f", str(job_file("job-bad", "dagwire-fail", {"exit_code": 3})))
    result = cli("job", "watch", "job-bad", "--timeout", "60")
    last = result.stdout.splitlines()[-1]
    assert re.match(r"^job-bad Failed \(.+\)  job-psi Failed \(.*exit.*3.*\)", last), last


def test_watch_json_output_is_one_event_record_per_change(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    result = cli("--output", "json", "job", "watch", SEED_JOB_ID, "--timeout", "60")
    assert result.exit_code == 0, result.stderr
    decoder, text, records = json.JSONDecoder(), result.stdout, []
    position = 0
    while text[position:].strip():
        record, position = decoder.raw_decode(
            text, position + len(text[position:]) - len(text[position:].lstrip())
        )
        records.append(record)
    assert records[-1]["object"]["status"]["state"] == "Succeeded"
    assert {r["type"] for r in records} <= {"ADDED", "MODIFIED"}


def test_watch_that_times_out_before_the_job_ends_exits_1(
    cli: Run, job_file: Callable[..., Path]
) -> None:
    cli("job", "create", "-f", str(job_file("job-slow", config={"sleep_seconds": 30})))
    result = cli("job", "watch", "job-slow", "--timeout", "1")
    assert result.exit_code == 1
    assert "job-slow" in result.stderr
    cli("job", "cancel", "job-slow")


def test_watch_of_an_unknown_job_exits_1_at_once(cli: Run) -> None:
    result = cli("job", "watch", "no-such-job")
    assert result.exit_code == 1
    assert "no-such-job" in result.stderr


def _json_records(text: str) -> list[dict[str, object]]:
    """The JSON documents printed one after another."""
    decoder, records, position = json.JSONDecoder(), [], 0
    while text[position:].strip():
        position += len(text[position:]) - len(text[position:].lstrip())
        record, position = decoder.raw_decode(text, position)
        records.append(record)
    return records
