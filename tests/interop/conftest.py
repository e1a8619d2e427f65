"""Interop: clients in other languages and tools drive a server started as a user starts
it (`python -m dagwire.server`, a real process), with Kuscia's documented payloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import ServerProcess

REPO = Path(__file__).parent.parent.parent
PROTO_ROOT = REPO / "proto"
SEED_BODY = REPO / "tests" / "data" / "kuscia_create_job.json"
JOB_SERVICE = "kuscia.proto.api.v1alpha1.kusciaapi.JobService"


@pytest.fixture(scope="module")
def server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("interop")).start()
    try:
        yield server
    finally:
        assert server.stop() == 0, "SIGTERM must end the server cleanly"


def seed_body(job_id: str) -> dict[str, Any]:
    """Kuscia's documented CreateJob body (tasks job-psi -> job-split), under `job_id`."""
    body: dict[str, Any] = json.loads(SEED_BODY.read_text())
    body["job_id"] = job_id
    return body
