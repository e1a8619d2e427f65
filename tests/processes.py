"""A dagwire server as a user runs it: `python -m dagwire.server` in its own process,
which tests can stop gracefully, kill -9 and start again on the same store."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    def __init__(self, workdir: Path, *extra_args: str, port: int | None = None) -> None:
        self.workdir = workdir
        self.address = f"127.0.0.1:{port or free_port()}"
        self.extra_args = extra_args
        self.log_path = workdir / "server.log"
        self.banner = ""
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def start(self) -> ServerProcess:
        self._log = self.log_path.open("a")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dagwire.server",
                "--listen",
                self.address,
                "--data-dir",
                str(self.workdir / "data"),
                # Steps write markers into the test's folder (the data dir stays hidden).
                "--sandbox-share",
                str(self.workdir),
                # The tests' probe scripts, from a checkout that may lie under /tmp.
                "--sandbox-read",
                str(Path(__file__).resolve().parent),
                # Admission never holds a test back; admission tests pass a small one.
                "--capacity-cpu",
                "256",
                *self.extra_args,
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self._process.stdout is not None
        self.banner = self._process.stdout.readline() + self._process.stdout.readline()
        if "dagwire listening on" not in self.banner:
            raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")
        return self

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 15) -> int:
        assert self._process is not None and self._log is not None
        self._process.send_signal(sig)
        code = self._process.wait(timeout=timeout)
        self._log.close()
        return code

    def kill(self) -> None:
        """kill -9: no shutdown code runs at all."""
        self.stop(signal.SIGKILL)

    @property
    def database(self) -> Path:
        return self.workdir / "data" / "dagwire.db"
