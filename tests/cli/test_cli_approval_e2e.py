"""`dagwire job approve` on a server where bob's domain must approve every job."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Run

SEED_JOB_ID = "job-alice-bob-001"


@pytest.fixture
def approval_domains() -> frozenset[str]:
    return frozenset({"bob"})


def test_accepted_job_runs_to_success(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    result = cli("job", "approve", SEED_JOB_ID, "--accept", "--domain", "bob", "--reason", "ok")
    assert result.stdout.strip() == f"accepted job {SEED_JOB_ID}"
    watched = cli("job", "watch", SEED_JOB_ID, "--timeout", "60")
    assert watched.stdout.splitlines()[-1].startswith(f"{SEED_JOB_ID} Succeeded")


def test_rejected_job_ends_in_approval_reject(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    assert cli("job", "approve", SEED_JOB_ID, "--reject", "--domain", "bob").exit_code == 0
    watched = cli("job", "watch", SEED_JOB_ID, "--timeout", "60")
    assert watched.stdout.splitlines()[-1].startswith(f"{SEED_JOB_ID} ApprovalReject")


def test_approving_a_job_that_is_not_waiting_exits_1(cli: Run, seed_job_file: Path) -> None:
    cli("job", "create", "-f", str(seed_job_file))
    cli("job", "approve", SEED_JOB_ID, "--accept", "--domain", "bob")
    cli("job", "watch", SEED_JOB_ID, "--timeout", "60")
    assert cli("job", "approve", SEED_JOB_ID, "--accept", "--domain", "bob").exit_code == 1
