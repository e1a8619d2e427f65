"""`dagwire job list` against a real server: the visible jobs, oldest first, in pages,
filtered by state (dagwire's ListJobs; Kuscia has no listing)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Run


@pytest.fixture
def three_jobs(cli: Run, job_file: Callable[..., Path]) -> list[str]:
    """job-l1 and job-l3 run on (Running), job-l2 is cancelled at once (Cancelled)."""
    for job_id in ("job-l1", "job-l2", "job-l3"):
        created = cli("job", "create", "-f", str(job_file(job_id, config={"sleep_seconds": 30})))
        assert created.exit_code == 0, created.stderr
    assert cli("job", "cancel", "job-l2").exit_code == 0
    return ["job-l1", "job-l2", "job-l3"]


def listed(cli: Run, *args: str) -> dict[str, object]:
    result = cli("--json", "job", "list", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def ids(data: dict[str, object]) -> list[str]:
    jobs = data["jobs"]
    assert isinstance(jobs, list)
    return [job["job_id"] for job in jobs]


def test_job_list_shows_every_job_oldest_first(cli: Run, three_jobs: list[str]) -> None:
    data = listed(cli)
    assert ids(data) == three_jobs
    assert data["next_page_token"] == ""


def test_job_list_pages_with_the_token_of_the_page_before(cli: Run, three_jobs: list[str]) -> None:
    first = listed(cli, "--page-size", "2")
    assert ids(first) == three_jobs[:2]
    second = listed(cli, "--page-size", "2", "--page-token", str(first["next_page_token"]))
    assert ids(second) == three_jobs[2:]
    assert second["next_page_token"] == ""


def test_job_list_all_fetches_every_page(cli: Run, three_jobs: list[str]) -> None:
    assert ids(listed(cli, "--page-size", "1", "--all")) == three_jobs


def test_job_list_filters_by_state_in_any_case(cli: Run, three_jobs: list[str]) -> None:
    assert ids(listed(cli, "--state", "cancelled")) == ["job-l2"]
    assert ids(listed(cli, "--state", "Cancelled", "--state", "Succeeded")) == ["job-l2"]


def test_job_list_table_points_to_the_next_page_on_stderr(cli: Run, three_jobs: list[str]) -> None:
    result = cli("job", "list", "--page-size", "2")
    assert result.exit_code == 0, result.stderr
    assert "job-l1" in result.stdout and "job-l2" in result.stdout
    assert "job-l3" not in result.stdout
    assert result.stderr.startswith("more: --page-token ")


def test_job_list_refuses_an_unknown_state_as_a_usage_error(cli: Run) -> None:
    result = cli("job", "list", "--state", "Sleeping")
    assert result.exit_code == 2
    assert "Sleeping" in result.stderr


def test_job_list_refuses_a_page_token_with_other_states(cli: Run, three_jobs: list[str]) -> None:
    first = listed(cli, "--page-size", "1", "--state", "running")
    result = cli(
        "job", "list", "--state", "cancelled", "--page-token", str(first["next_page_token"])
    )
    assert result.exit_code != 0
    assert "page_token: was made for filter 'state=running'" in result.stderr


def test_job_list_keeps_the_jobs_whose_id_contains_a_text(cli: Run, three_jobs: list[str]) -> None:
    assert ids(listed(cli, "--id-contains", "l2")) == ["job-l2"]
    assert ids(listed(cli, "--id-contains", "job-l", "--page-size", "2", "--all")) == three_jobs
    refused = cli("job", "list", "--id-contains", "Job*")
    assert refused.exit_code != 0
    assert "job_id_contains must be at most 63" in refused.stderr
