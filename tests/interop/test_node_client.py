"""A Node.js client (@grpc/grpc-js and @grpc/proto-loader from the npm registry, loading
the .proto files from proto/) drives a job from CreateJob to DeleteJob.

The packages are installed once per package.json into a cache folder
($DAGWIRE_NODE_CACHE, default ~/.cache/dagwire/interop-node); the tests skip, saying
why, where node or npm is missing or the install fails (no registry, say)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import PROTO_ROOT, seed_body
from tests.processes import ServerProcess

NODE_DIR = Path(__file__).parent / "node"
JOB_ID = "job-alice-bob-node"


def node_modules() -> Path:
    """Where @grpc/grpc-js and @grpc/proto-loader are installed; skips if they cannot be."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed, so the Node.js client cannot run")
    manifest = (NODE_DIR / "package.json").read_bytes()
    default_cache = Path.home() / ".cache" / "dagwire" / "interop-node"
    cache = Path(os.environ.get("DAGWIRE_NODE_CACHE", default_cache))
    folder = cache / hashlib.sha256(manifest).hexdigest()[:16]
    installed = folder / "node_modules"
    if not (folder / ".installed").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_bytes(manifest)
        try:
            result = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock"],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("npm install of @grpc/grpc-js took more than 5 minutes")
        if result.returncode != 0:
            pytest.skip(f"npm install of @grpc/grpc-js failed: {result.stderr.strip()[-500:]}")
        (folder / ".installed").touch()
    return installed


@pytest.fixture(scope="module")
def lifecycle(
    server_process: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """What the Node.js client saw, driving one job through its lifecycle."""
    modules = node_modules()
    body = tmp_path_factory.mktemp("node") / "create_job.json"
    body.write_text(json.dumps(seed_body(JOB_ID)))
    result = subprocess.run(
        [
            "node",
            str(NODE_DIR / "lifecycle.js"),
            server_process.address,
            str(PROTO_ROOT),
            str(body),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(modules)},
    )
    assert result.returncode == 0, result.stderr
    seen: dict[str, Any] = json.loads(result.stdout)
    return seen


def test_node_creates_the_kuscia_job(lifecycle: dict[str, Any]) -> None:
    assert lifecycle["created"] == {"code": 0, "job_id": JOB_ID}


def test_node_watches_the_job_until_it_succeeds(lifecycle: dict[str, Any]) -> None:
    assert lifecycle["watched"][-1] == "MODIFIED:Succeeded"


def test_node_queries_the_succeeded_job_with_both_tasks(lifecycle: dict[str, Any]) -> None:
    assert lifecycle["queried"] == {
        "code": 0,
        "state": "Succeeded",
        "tasks": ["job-psi", "job-split"],
        "task_states": ["Succeeded", "Succeeded"],
    }


def test_node_deletes_the_job(lifecycle: dict[str, Any]) -> None:
    assert lifecycle["deleted"] == {"code": 0, "message": "success", "job_id": JOB_ID}


def test_node_finds_the_deleted_job_gone(lifecycle: dict[str, Any]) -> None:
    assert lifecycle["gone"] == {"code": 11202}
