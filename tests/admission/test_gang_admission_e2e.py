"""The parties of a task are admitted together: on a capacity of 2 cores, six two-party
jobs whose parties wait for each other (as SecretFlow's do: each waits until its peer is
up) all succeed. Were parties admitted one by one, alice of one job and alice of another
could take both cores while their bobs wait behind them, and nothing would move."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from tests.api.conftest import create_ok, job_request, task, wait_for_state
from tests.api.conftest import stub as stub

JOBS = 6


@pytest.fixture
def app_images_file(tmp_path: Path) -> Path:
    """`rendezvous`: marks itself up, then waits (5 s at most) for its peer's mark."""
    marks = tmp_path / "marks"
    marks.mkdir()
    script = (
        f'me={marks}/"$DAGWIRE_JOB_ID.$DAGWIRE_DOMAIN_ID"; '
        'if [ "$DAGWIRE_DOMAIN_ID" = alice ]; then peer=bob; else peer=alice; fi; '
        f'other={marks}/"$DAGWIRE_JOB_ID.$peer"; touch "$me"; i=0; '
        'while [ ! -e "$other" ]; do i=$((i+1)); [ $i -gt 100 ] && exit 3; sleep 0.05; done'
    )
    path = tmp_path / "images.yaml"
    path.write_text(f"images:\n  rendezvous:\n    command: [/bin/sh, -c, '{script}']\n")
    return path


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    return {"capacity_cpu": 2.0}


async def test_parties_that_wait_for_each_other_are_admitted_together(
    stub: job_pb2_grpc.JobServiceStub,
) -> None:
    ids = [f"gang-{i}" for i in range(JOBS)]
    await asyncio.gather(
        *(create_ok(stub, job_request(i, task("meet", image="rendezvous"))) for i in ids)
    )
    for job_id in ids:
        done = await wait_for_state(
            stub, job_id, lambda s: s in ("Succeeded", "Failed"), timeout=120
        )
        assert done.data.status.state == "Succeeded", done.data.status
