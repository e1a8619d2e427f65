"""A second server started on a port the first one holds (a second `make run`) says in one
line which port and which flag moves it, and exits 2: no traceback, nothing started."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import ServerProcess, free_port


@dataclass(frozen=True)
class Running:
    """The first server's gRPC and HTTP addresses."""

    address: str
    http: str


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    http = f"127.0.0.1:{free_port()}"
    server = ServerProcess(tmp_path_factory.mktemp("first"), "--http-listen", http).start()
    try:
        yield Running(server.address, http)
    finally:
        assert server.stop() == 0


def start_second(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dagwire.server", "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_naming(
    result: subprocess.CompletedProcess[str], address: str, flag: str
) -> None:
    assert result.returncode == 2
    assert result.stdout == ""  # no banner: it never listened
    assert result.stderr == (
        f"dagwire: cannot listen on {address} ({flag}): Address already in use; "
        f"choose another with {flag} HOST:PORT\n"
    )


def test_the_grpc_port_of_a_running_server_is_refused_not_shared(
    running: Running, tmp_path: Path
) -> None:
    result = start_second(tmp_path, "--listen", running.address)
    assert_one_line_naming(result, running.address, "--listen")


def test_the_http_port_of_a_running_server_is_refused(running: Running, tmp_path: Path) -> None:
    result = start_second(
        tmp_path, "--listen", f"127.0.0.1:{free_port()}", "--http-listen", running.http
    )
    assert_one_line_naming(result, running.http, "--http-listen")


def test_a_metrics_port_in_use_names_the_metrics_flag(running: Running, tmp_path: Path) -> None:
    result = start_second(
        tmp_path, "--listen", f"127.0.0.1:{free_port()}", "--metrics-listen", running.address
    )
    assert_one_line_naming(result, running.address, "--metrics-listen")


def test_a_refused_start_recovers_no_job_and_leaves_no_store(
    running: Running, tmp_path: Path
) -> None:
    start_second(tmp_path, "--listen", running.address)
    assert not (tmp_path / "data" / "dagwire.db").exists()
