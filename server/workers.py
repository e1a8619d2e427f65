"""`--workers N`: N API worker processes serving one port, for a server that uses every
core (one Python process tops out at one core, whatever the machine).

Why this design: each worker is a whole server, a replica among others on the shared
PostgreSQL database (dagwire.server.runtime.replicas). The kernel spreads connections
over the workers' listening sockets (SO_REUSEPORT); each worker writes its own jobs
through its own group commit, and the database orders everything: resource versions
from one sequence, per-job locks, the commit horizon (dagwire.server.store.pg). No
front process relays calls (it would be the one-core ceiling again) and no writer is
shared (its lock was the serial section that made 3 replicas slower than 1). Watchers
on any worker see one totally ordered stream and resume on any other, as with
replicas; a worker that dies loses no acknowledged job (it was committed), and its
jobs are taken over by the others once its lease expires, or by itself, restarted
here under the same replica id, at once.

This process, the supervisor, only reserves the ports (so that ":0" means one port
for all), starts the workers, prints the listening line once they all listen, restarts
a worker that dies and passes SIGTERM/SIGINT on. It imports nothing of the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass, field
from typing import Any

from dagwire.server.config import ServerConfig
from dagwire.server.ports import ListenError, listen_socket, reason, split_host_port

# How long a worker gets to start listening, and to stop after SIGTERM.
START_SECONDS = 120.0
STOP_SECONDS = 30.0
# A worker that dies is started again after this long (doubling while it keeps dying
# before it listens, up to RESTART_MAX_SECONDS).
RESTART_SECONDS = 0.5
RESTART_MAX_SECONDS = 30.0
_LISTENING = b"dagwire listening on "


@dataclass
class _Worker:
    index: int
    argv: list[str]
    process: asyncio.subprocess.Process | None = None
    listening: asyncio.Event = field(default_factory=asyncio.Event)
    restart_delay: float = RESTART_SECONDS


def reserve(listen: str, flag: str) -> tuple[socket.socket, str]:
    """Binds `listen` (host:port, port 0: a free one) with SO_REUSEPORT without listening:
    the port is this server's, and the workers bind it too. Returns the socket (kept
    open while the workers run) and the address with its port."""
    try:
        host, port = split_host_port(listen)
    except ValueError:
        raise ListenError(listen, flag, "expected host:port") from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if port:
            # Free now, for anyone: another program's listener, even one that set
            # SO_REUSEPORT too, would otherwise share the connections with us.
            listen_socket(host, port).close()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ListenError(listen, flag, reason(error)) from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return sock, f"{shown}:{bound}"


def worker_argv(
    argv: list[str], config: ServerConfig, index: int, base_id: str, ports: dict[str, str]
) -> list[str]:
    """The command line of worker `index`: the supervisor's own, with one worker, the
    shared ports made concrete, and a replica id of its own (stable across restarts, so
    a restarted worker picks its jobs up at once). /metrics is served by worker 0 only:
    counters are per process, and a scrape should see one process's consistently."""
    extra = ["--workers", "1", "--shared-port", "--replica-id", f"{base_id}-w{index}"]
    extra += ["--listen", ports["--listen"]]
    if "--http-listen" in ports:
        extra += ["--http-listen", ports["--http-listen"]]
    if config.metrics_listen is not None:
        extra += ["--metrics-listen", ports["--metrics-listen"] if index == 0 else ""]
    return [sys.executable, "-m", "dagwire.server", *argv, *extra]


async def supervise(config: ServerConfig, argv: list[str]) -> int:
    """Run `config.workers` workers until SIGTERM or SIGINT; the exit status."""
    reserved: list[socket.socket] = []
    ports: dict[str, str] = {}
    try:
        for flag, listen in (
            ("--listen", config.listen),
            ("--http-listen", config.http_listen),
            ("--metrics-listen", config.metrics_listen),
        ):
            if listen is None:
                continue
            if flag == "--metrics-listen":  # worker 0 alone: an ordinary port
                ports[flag] = listen
                continue
            sock, address = reserve(listen, flag)
            reserved.append(sock)
            ports[flag] = address
        base_id = (
            config.replica_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        )
        workers = [
            _Worker(index, worker_argv(argv, config, index, base_id, ports))
            for index in range(config.workers)
        ]
        return await _run(config, workers, ports)
    finally:
        for sock in reserved:
            sock.close()


async def _run(config: ServerConfig, workers: list[_Worker], ports: dict[str, str]) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    tasks = [asyncio.create_task(_keep(worker, stopping)) for worker in workers]
    ready = asyncio.create_task(_all_listening(workers))
    stopped = asyncio.create_task(stopping.wait())
    failed = asyncio.create_task(_first_failure(tasks))
    watched: set[asyncio.Task[Any]] = {ready, stopped, failed}
    try:
        done, _ = await asyncio.wait(
            watched,
            timeout=START_SECONDS,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if failed in done:
            stopping.set()
            return failed.result()
        if not done:
            print(f"dagwire: the workers did not start within {START_SECONDS:g} s", file=sys.stderr)
            stopping.set()
            return 1
        if stopped not in done:
            _announce(config, ports)
            await stopping.wait()
        return 0
    finally:
        stopping.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for leftover in (stopped, failed, ready):
            leftover.cancel()
        await asyncio.gather(stopped, failed, ready, return_exceptions=True)


async def _all_listening(workers: list[_Worker]) -> None:
    for worker in workers:
        await worker.listening.wait()


async def _first_failure(tasks: list[asyncio.Task[int]]) -> int:
    """The exit status of the first worker that failed before it ever listened."""
    for next_done in asyncio.as_completed(tasks):
        status = await next_done
        if status:
            return status
    return 0


def _announce(config: ServerConfig, ports: dict[str, str]) -> None:
    address = ports["--listen"]
    print(
        f"dagwire listening on {address} ({config.workers} workers, store: "
        f"{_redacted(config.store_url)}, executor: {config.executor})\n"
        f"  try: grpcurl -plaintext {address} list",
        flush=True,
    )
    if "--http-listen" in ports:
        print(f"  http gateway on http://{ports['--http-listen']}", flush=True)


async def _keep(worker: _Worker, stopping: asyncio.Event) -> int:
    """Runs the worker, again whenever it dies, until `stopping`; the exit status of a
    worker that died before it ever listened (a usage error: not restarted)."""
    while not stopping.is_set():
        worker.process = await asyncio.create_subprocess_exec(
            *worker.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
        )
        reader = asyncio.create_task(_read_stdout(worker))
        waiting = asyncio.create_task(stopping.wait())
        exited = asyncio.create_task(worker.process.wait())
        await asyncio.wait([waiting, exited], return_when=asyncio.FIRST_COMPLETED)
        if not exited.done():
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_SECONDS):
                    await exited
            except TimeoutError:
                worker.process.kill()
                await exited
        waiting.cancel()
        await asyncio.gather(reader, waiting, return_exceptions=True)
        if stopping.is_set():
            return 0
        status = worker.process.returncode or 0
        if not worker.listening.is_set():
            return status or 1
        print(
            f"dagwire: worker {worker.index} exited with status {status}; "
            f"starting it again in {worker.restart_delay:g} s",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(worker.restart_delay):
                await stopping.wait()
        worker.restart_delay = min(worker.restart_delay * 2, RESTART_MAX_SECONDS)
    return 0


async def _read_stdout(worker: _Worker) -> None:
    """Notes when the worker listens; its other lines (the hints of a single server)
    are dropped: the supervisor prints its own."""
    assert worker.process is not None and worker.process.stdout is not None
    while line := await worker.process.stdout.readline():
        if line.startswith(_LISTENING):
            if worker.listening.is_set():
                worker.restart_delay = RESTART_SECONDS  # listening again after a restart
            worker.listening.set()


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
