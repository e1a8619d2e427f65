"""A Node.js client with no .proto files of dagwire's learns the API by server
reflection v1 (as newer clients do), builds its stubs from the reflected descriptors
with the proto-loader options the README gives, and gets a Kuscia answer."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from tests.interop.conftest import JOB_SERVICE
from tests.interop.test_node_client import NODE_DIR, node_modules
from tests.processes import ServerProcess


@pytest.fixture(scope="module")
def reflected(server_process: ServerProcess) -> dict[str, Any]:
    result = subprocess.run(
        ["node", str(NODE_DIR / "reflected.js"), server_process.address, "job-never-made"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(node_modules())},
    )
    assert result.returncode == 0, result.stderr
    seen: dict[str, Any] = json.loads(result.stdout)
    return seen


def test_v1_reflection_lists_the_services_to_node(reflected: dict[str, Any]) -> None:
    assert {JOB_SERVICE, "grpc.reflection.v1.ServerReflection"} <= set(reflected["services"])


def test_node_calls_the_job_service_built_from_reflection(reflected: dict[str, Any]) -> None:
    # keepCase: the request's job_id arrived (without it the field is silently dropped
    # and the answer is "job_id must not be empty"); defaults: code is a number.
    assert reflected["queried"] == {
        "code": 11202,
        "message": "job 'job-never-made' does not exist",
        "data": None,
    }
