"""Servers under test as separate processes: dagwire and the echo baseline.

Each runs in its own process so that the load generator (this process) does not share
its GIL, and on port 0 so that parallel runs never collide: the port is read back from
the "... listening on HOST:PORT" line both servers print once they serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

_LISTENING = re.compile(rb"listening on (\S+?:\d+)")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 120.0


@dataclass
class Server:
    name: str
    process: asyncio.subprocess.Process
    address: str
    log: Path
    data_dir: Path | None = None
    _profiler: asyncio.subprocess.Process | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float:
        return _status_kb(self.pid, "VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return _status_kb(self.pid, "VmHWM") / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(stat[11]) + int(stat[12])) / _CLOCK_TICKS

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._profiler is not None:
            # py-spy stops by itself once its target is gone and writes its output then.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._profiler.wait(), timeout=30)


@dataclass(frozen=True, slots=True)
class Launcher:
    """Where servers get their files, and whether each is profiled with py-spy."""

    workdir: Path
    profile_dir: Path | None = None

    def dagwire(
        self,
        name: str,
        *,
        data_dir: Path | None = None,
        args: Sequence[str] = (),
    ) -> contextlib.AbstractAsyncContextManager[Server]:
        data = data_dir or self.workdir / f"{name}-data"
        command = [
            sys.executable,
            "-m",
            "dagwire.server",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            str(data),
            "--log-format",
            "json",
            *args,
        ]
        return self._running(name, command, data)

    def echo(self, name: str = "echo") -> contextlib.AbstractAsyncContextManager[Server]:
        command = [sys.executable, "-m", "bench.echo", "--listen", "127.0.0.1:0"]
        return self._running(name, command, None)

    @contextlib.asynccontextmanager
    async def _running(
        self, name: str, command: list[str], data_dir: Path | None
    ) -> AsyncIterator[Server]:
        server = await start(name, command, self.workdir, data_dir)
        try:
            if data_dir is not None:  # dagwire (the echo server has no health service)
                if self.profile_dir is not None:
                    server._profiler = await _profile(server, self.profile_dir)
                await wait_serving(server.address)
            yield server
        finally:
            await server.stop()


async def start(name: str, command: list[str], workdir: Path, data_dir: Path | None) -> Server:
    log = workdir / f"{name}.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            cwd=Path(__file__).parent.parent,
        )
    try:
        address = await asyncio.wait_for(_read_address(process), timeout=START_TIMEOUT)
    except BaseException:
        if process.returncode is None:
            process.kill()
        await process.wait()
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{name} did not start ({command}):\n{tail}") from None
    return Server(name, process, address, log, data_dir)


async def _read_address(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        if match := _LISTENING.search(line):
            # Nothing else comes on stdout; drain it anyway so the pipe never fills up.
            asyncio.get_running_loop().create_task(_drain(process.stdout))
            return match.group(1).decode()
    raise RuntimeError("exited before listening")


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


async def wait_serving(address: str, within: float = 30.0) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest()
        response = await stub.Check(request, timeout=within, wait_for_ready=True)
        if response.status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError(f"{address} is not serving: {response}")


async def _profile(server: Server, profile_dir: Path) -> asyncio.subprocess.Process | None:
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        print("  (py-spy not installed: `pip install py-spy` to profile)", file=sys.stderr)
        return None
    # Collapsed stacks ("raw"): one line per stack with its sample count, easy to grep
    # and to turn into a flame graph.
    output = _profile_output(profile_dir, server.name)
    return await asyncio.create_subprocess_exec(
        py_spy,
        "record",
        "--pid",
        str(server.pid),
        "--rate",
        "250",
        "--format",
        "raw",
        "--output",
        str(output),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def _profile_output(profile_dir: Path, name: str) -> Path:
    profile_dir.mkdir(parents=True, exist_ok=True)
    return profile_dir / f"{name}.txt"


def free_port() -> int:
    """A loopback port free right now, for a server whose readiness is polled from spawn."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} for pid {pid}")


def local_channel(address: str) -> grpc.aio.Channel:
    """A channel with its own connection: grpc otherwise shares one subchannel (one TCP
    connection) between channels to the same address, which would make "32 clients" one."""
    return grpc.aio.insecure_channel(
        address,
        options=[
            ("grpc.use_local_subchannel_pool", 1),
            ("grpc.max_receive_message_length", 64 << 20),
        ],
    )
