"""A second `dagwire serve` on a port another server holds exits at once, with one line
naming the port (grpc's default SO_REUSEPORT would let it share the port silently)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ServerThread


def second_serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dagwire.server", "--data-dir", str(tmp_path / "second"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def server_overrides() -> dict[str, object]:
    return {"http_listen": "127.0.0.1:0"}


def test_a_second_server_on_the_grpc_port_exits_naming_it(
    dagwire_server: ServerThread, tmp_path: Path
) -> None:
    taken = dagwire_server.address
    result = second_serve(tmp_path, "--listen", taken, "--http-listen", "")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"dagwire: cannot listen on {taken}: the port is taken by another process"
    ]


def test_a_second_server_on_the_http_port_exits_naming_it(
    dagwire_server: ServerThread, tmp_path: Path
) -> None:
    assert dagwire_server.server is not None and dagwire_server.server.http is not None
    taken = dagwire_server.server.http.address
    result = second_serve(tmp_path, "--listen", "127.0.0.1:0", "--http-listen", taken)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"dagwire: cannot listen on {taken}: the port is taken by another process"
    ]
