"""A real, small Ray cluster for the tests: `ray start --head --block` as a child process
in its own process group, on loopback only, with 2 CPUs and a private temp dir."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.processes import free_port

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="ray is not installed (pip install 'dagwire[ray]'; it is in the dev extra)",
)
# Ray binds and advertises the machine's outward address unless told it is on its own;
# tests stay on loopback. Ray reads this when it is imported: the drivers (this test
# process, the servers it starts) need it in their environment too.
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
CPUS = 2


class RayCluster:
    def __init__(self, cpus: int = CPUS) -> None:
        # Logical CPUs: how many parties (one CPU each by default) run at the same time.
        self.cpus = cpus
        # Short: Ray's unix socket paths under it must stay within 107 characters.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="dgray-"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log_path = self.temp_dir / "ray-start.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 60.0) -> RayCluster:
        ray = Path(sys.executable).with_name("ray")
        ports = {
            "--ray-client-server-port": free_port(),
            "--dashboard-agent-listen-port": free_port(),
            "--dashboard-agent-grpc-port": free_port(),
            "--runtime-env-agent-port": free_port(),
            "--metrics-export-port": free_port(),
        }
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [
                str(ray),
                "start",
                "--head",
                "--block",
                f"--port={self.port}",
                "--node-ip-address=127.0.0.1",
                f"--num-cpus={self.cpus}",
                "--num-gpus=0",
                "--object-store-memory=100000000",
                "--disable-usage-stats",
                "--include-dashboard=false",
                f"--temp-dir={self.temp_dir}",
                *(f"{flag}={port}" for flag, port in ports.items()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **LOOPBACK_ENV},
            start_new_session=True,  # its own group: stop() can end all of it
        )
        # A poll of its own, not assert_eventually: ray says it is up only in its log, and
        # the wait ends early, with that log, if `ray start` exits.
        deadline = time.monotonic() + timeout
        while "Ray runtime started" not in self.log_path.read_text(errors="replace"):
            if self._process.poll() is not None or time.monotonic() > deadline:
                output = self.log_path.read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"ray start --head did not come up:\n{output}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        """SIGTERM `ray start --block`, which stops the processes it started; then kill
        whatever of its process group is left."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@contextlib.contextmanager
def ray_cluster_running(cpus: int = CPUS) -> Iterator[RayCluster]:
    """A Ray head for the tests of a module, with the loopback settings in this process's
    environment (and so in the servers it starts), stopped at the end."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in LOOPBACK_ENV.items():
            env.setenv(name, value)
        cluster = RayCluster(cpus).start()
        try:
            yield cluster
        finally:
            cluster.stop()
