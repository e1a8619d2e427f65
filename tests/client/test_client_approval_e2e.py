"""Jobs whose parties require approval, decided through the SDK."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dagwire.client import DagwireClient, JobState

JobBody = Callable[..., dict[str, Any]]


@pytest.fixture
def approval_domains() -> frozenset[str]:
    return frozenset({"bob"})


@pytest.fixture
def client(dagwire_server: Any) -> Iterator[DagwireClient]:
    with DagwireClient(target=dagwire_server.address, timeout=10) as client:
        yield client


def test_job_waits_for_approval_and_runs_once_accepted(
    client: DagwireClient, job_body: JobBody
) -> None:
    handle = client.create_job(job_body())
    assert handle.describe().state == JobState.AWAITING_APPROVAL
    client.approve_job(handle.job_id, accept=True, reason="fine", domain_id="bob")
    assert handle.result(timeout=30).state == JobState.SUCCEEDED


def test_rejected_job_ends_in_approval_reject(client: DagwireClient, job_body: JobBody) -> None:
    handle = client.create_job(job_body())
    client.approve_job(handle.job_id, accept=False, reason="no", domain_id="bob")
    assert handle.result(timeout=30).state == JobState.APPROVAL_REJECT
