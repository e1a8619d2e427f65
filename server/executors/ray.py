"""Run party processes on a Ray cluster, one Ray task per party.

Each party is a Ray streaming-generator task. On the worker it writes its own task.json
and progress file into a private temporary directory, runs the app image's command there
as a child process with the same environment variables the local executor sets, and
streams back what happened: started (where), output chunks and progress, the exit code.
This server is the task's consumer: it writes the output into the same per-attempt
directory as the local executor (data_dir/tasks/<job>/<task>/<domain>/<attempt>/ with
task.json, output.log, progress and exit_status), so reading logs and recovering after a
restart work the same for both, and the cluster needs no file system shared with it. A
`ray_task.json` there records that the attempt ran on Ray, and where.

Processes and cleanup. The command stays in the Ray worker's process group, which Ray
(2.10 and later) kills as a whole when the worker ends; every party gets a fresh worker
(`max_calls=1`) that ends with it. So a force-cancelled task, a task whose driver died,
and whatever a finished app left running in the background are all cleaned up by Ray.
terminate() first cancels softly: the worker sends the command SIGTERM and waits up to
`kill_grace` before SIGKILL, as the local executor does; `ray.cancel(force=True)` ends
the worker when that did not finish it in time.

Sandbox. The worker runs the command in the same bubblewrap sandbox as the local executor
(dagwire.server.executors.sandbox), built from a _SandboxRequest sent with the task: the
party's limits, whether it gets the network, its output and input paths. A node without a
working bwrap refuses the party (exit 127, saying why) unless the server runs
--unsandboxed without a sandbox of its own. The sandbox dies with its bwrap
(--die-with-parent): on Ray nothing recovers a party after its launcher is gone.

Recovery. The task is not detached (Ray has no detached tasks, only detached actors):
it belongs to the Ray job of the server process that submitted it, its driver, and Ray
kills it when that process exits. A party still running when the server stopped is
therefore gone after a restart. recover() reports the exit recorded on disk if there is
one, and otherwise reports the party lost, so that the engine relaunches it.

Fencing. On a replica a driver may live on while its jobs are taken over (stopped, or
cut off from the database): each task then fences itself (dagwire.server.executors.
ray_fencing) once its owner's fence deadline passes, and a replica that takes a job
over reports a party it has no record of lost only once that deadline surely passed
(dagwire.server.executors.fencing: `settling`, `verdict`).

Ray is imported lazily: a server that does not use this executor never loads it, and
one that does connects (ray.init) at the first launch, not at start. All blocking Ray
calls run in a worker thread; the task's results are awaited on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import json
import logging
import os
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from dagwire.server.engine.names import path_below
from dagwire.server.executors._files import write_atomic
from dagwire.server.executors.base import (
    Fence,
    PartyExited,
    PartyKey,
    PartyLaunch,
    PartyProgress,
    PartyStarted,
    ReportSink,
)
from dagwire.server.executors.fencing import (
    FENCED_EXIT_CODE,
    FenceBoard,
    Verdict,
    fenced_exit,
    settling,
    verdict,
)
from dagwire.server.executors.images import AppImage, AppImageRegistry
from dagwire.server.executors.local import (
    START_FAILURE_EXIT_CODE,
    VANISHED_EXIT_CODE,
    _AttemptFiles,
    _check_executable,
    _exit_message,
    _read_int,
    _read_progress,
    _task_document,
    party_env,
)
from dagwire.server.executors.ray_fencing import (
    RAY_NAMESPACE,
    FenceOrder,
    FencePusher,
    Watchdog,
    kill_party,
)
from dagwire.server.executors.sandbox import (
    Limits,
    SandboxPolicy,
    SandboxSpec,
    hand_over,
    probe,
    quantity,
    resolved,
    sandbox_argv,
    sandbox_env,
)

if TYPE_CHECKING:
    from ray import ObjectRefGenerator

_log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "auto"
INSTALL_HINT = "pip install 'dagwire[ray]' (or 'ray>=2.60')"
# What a terminated party reports: the code a process killed by SIGTERM gives.
TERMINATED_EXIT_CODE = -signal.SIGTERM
# A task that failed on Ray without an exit code of its command.
RAY_FAILURE_EXIT_CODE = 1
LOST_MESSAGE = (
    "lost with its server (a Ray task dies with the server that submitted it, its driver; "
    "no exit status recorded)"
)
# Seconds terminate() waits, beyond the worker's own kill grace, before it force-cancels.
_FORCE_MARGIN = 2.0
# The most output one streamed item carries.
_MAX_CHUNK = 1 << 20


class RayUnavailableError(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached."""


def ray_installed() -> bool:
    """Whether the ray package can be imported, without importing it (that is slow)."""
    return importlib.util.find_spec("ray") is not None


# --- what the Ray task streams back -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Started:
    """The command runs; where."""

    node_id: str
    task_id: str
    worker_pid: int
    hostname: str


@dataclass(frozen=True, slots=True)
class _Output:
    """Output written since the last item, and the progress if it changed."""

    log: bytes
    progress: float | None


@dataclass(frozen=True, slots=True)
class _Ended:
    exit_code: int
    message: str = ""
    # Its watchdog killed it (or it never started): its owner's fence deadline passed.
    fenced: bool = False


_Item = _Started | _Output | _Ended


@dataclass(frozen=True, slots=True)
class _SandboxRequest:
    """The sandbox contract, sent with each party to its worker: the worker builds the same
    sandbox the local executor does (the operator's policy, the party's limits, network
    and paths), or refuses to run."""

    policy: SandboxPolicy
    limits: Limits
    network: bool
    writable: tuple[str, ...] = ()
    readonly: tuple[str, ...] = ()


def _tool(path: str) -> str:
    """The server's tool path where the worker has it too, else its name on PATH."""
    return path if os.access(path, os.X_OK) else Path(path).name


def _sandboxed(
    command: tuple[str, ...], request: _SandboxRequest | None, workdir: Path
) -> tuple[list[str], str]:
    """The worker's argv for `command`, or why this node cannot sandbox it."""
    if request is None:  # the operator said --unsandboxed
        return list(command), ""
    given = request.policy
    # The server's data dir is hidden where this node has it; another node has none.
    policy = resolved(
        replace(
            given,
            bwrap=_tool(given.bwrap),
            prlimit=_tool(given.prlimit),
            setpriv=_tool(given.setpriv),
            hidden_dirs=tuple(path for path in given.hidden_dirs if path.is_dir()),
        )
    )
    problem = probe(policy)
    if problem is not None:
        return [], (
            f"no sandbox on Ray node {socket.gethostname()}: {problem}; tenant code does "
            "not run bare (the server's --unsandboxed allows it)"
        )
    spec = SandboxSpec(
        workdir=workdir,
        readonly=tuple(Path(p) for p in request.readonly),
        writable=tuple(Path(p) for p in request.writable),
        network=request.network,
        limits=request.limits,
        die_with_parent=True,
    )
    hand_over(policy, [workdir, *spec.writable])
    return sandbox_argv(policy, spec, command), ""


# --- the Ray task: runs on a worker -----------------------------------------------------------


def _run_party(
    command: tuple[str, ...],
    env: Mapping[str, str],
    document: Mapping[str, object],
    poll_interval: float,
    kill_grace: float,
    sandbox: _SandboxRequest | None = None,
    fence: FenceOrder | None = None,
) -> Iterator[_Item]:
    """The body of the Ray task; see the module docstring."""
    import ray  # on a Ray worker, ray is there

    watchdog = None if fence is None else Watchdog(fence)
    if watchdog is not None and not watchdog.admits():
        yield _Ended(FENCED_EXIT_CODE, watchdog.describe(), fenced=True)
        return

    context = ray.get_runtime_context()
    with tempfile.TemporaryDirectory(prefix="dagwire-party-") as workdir:
        directory = Path(workdir)
        task_file = directory / "task.json"
        task_file.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        progress_file = directory / "progress"
        argv, problem = _sandboxed(command, sandbox, directory)
        if problem:
            yield _Ended(START_FAILURE_EXIT_CODE, problem)
            return
        base = os.environ if sandbox is None else sandbox_env(os.environ, directory)
        process_env = {
            **base,
            **env,
            "DAGWIRE_TASK_FILE": str(task_file),
            "DAGWIRE_PROGRESS_FILE": str(progress_file),
        }
        try:
            # Inside a sandbox a missing program would only show as exit 127 of prlimit
            # (a NUL byte fails in Popen, with its own error).
            if "\0" not in command[0]:
                _check_executable(command[0], process_env, directory)
            # No new session: the command stays in the worker's process group, which
            # Ray kills with the worker (see the module docstring).
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=process_env,
                cwd=directory,
            )
        except OSError as exc:
            yield _Ended(START_FAILURE_EXIT_CODE, f"failed to start: {exc}")
            return
        yield _Started(
            node_id=context.get_node_id(),
            task_id=context.get_task_id() or "",
            worker_pid=os.getpid(),
            hostname=socket.gethostname(),
        )
        if watchdog is not None:
            watchdog.start(functools.partial(kill_party, process.pid))
        with process:
            try:
                yield from _follow(
                    process,
                    progress_file,
                    context,
                    poll_interval,
                    kill_grace,
                    sandboxed=sandbox is not None,
                    watchdog=watchdog,
                )
            except BaseException:
                # A soft ray.cancel() interrupts the task (KeyboardInterrupt) or closes
                # the generator at a yield (GeneratorExit): stop the command, then go.
                if process.poll() is None:
                    _stop(process, kill_grace, sandboxed=sandbox is not None)
                raise
            finally:
                if watchdog is not None:
                    watchdog.stop()


def _follow(
    process: subprocess.Popen[bytes],
    progress_file: Path,
    context: Any,
    poll_interval: float,
    kill_grace: float,
    *,
    sandboxed: bool,
    watchdog: Watchdog | None = None,
) -> Iterator[_Item]:
    assert process.stdout is not None
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    last_progress: float | None = None
    eof = False
    while True:
        if context.is_canceled():
            # Anything yielded now is dropped: the consumer sees the cancellation.
            _stop(process, kill_grace, sandboxed=sandboxed)
            return
        exited = process.poll() is not None
        if not exited:
            if eof:
                time.sleep(poll_interval)
            else:
                select.select([fd], [], [], poll_interval)
        chunk, eof = _read_available(fd, eof)
        progress = _read_progress(progress_file)
        changed = progress is not None and progress != last_progress
        if changed:
            last_progress = progress
        if chunk or changed:
            yield _Output(chunk, progress if changed else None)
        if exited:
            # Exited before the read: what is left in the pipe is all it wrote (less
            # what a background child of it may still write).
            while chunk:
                chunk, eof = _read_available(fd, eof)
                if chunk:
                    yield _Output(chunk, None)
            if watchdog is not None and watchdog.fired.is_set():
                yield _Ended(process.returncode, watchdog.describe(), fenced=True)
            else:
                yield _Ended(process.returncode)
            return


def _read_available(fd: int, eof: bool) -> tuple[bytes, bool]:
    """What can be read without blocking (up to _MAX_CHUNK), and whether the pipe ended."""
    chunks: list[bytes] = []
    size = 0
    while not eof and size < _MAX_CHUNK:
        try:
            data = os.read(fd, 64 << 10)
        except BlockingIOError:
            break
        if not data:
            eof = True
            break
        chunks.append(data)
        size += len(data)
    return b"".join(chunks), eof


def _stop(process: subprocess.Popen[bytes], kill_grace: float, *, sandboxed: bool) -> None:
    """SIGTERM, then SIGKILL after the grace. In a sandbox SIGTERM goes to the processes
    inside (bwrap neither forwards it nor, as pid 1 there, takes it), so that the command
    can clean up; killing bwrap then ends the whole sandbox (--die-with-parent)."""
    if sandboxed:
        for pid in _descendants(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    else:
        process.terminate()
    try:
        process.wait(kill_grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _descendants(root: int) -> list[int]:
    """The processes below `root` (from /proc), children first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = list(children.get(root, ()))
    while pending:
        pid = pending.pop(0)
        found.append(pid)
        pending.extend(children.get(pid, ()))
    return found


# --- the connection to the cluster, one per server process -----------------------------------


class _Connection:
    """ray.init once for all the executors of this process; ray.shutdown when the last one
    closes, unless Ray was connected before (by the embedding program) and is not ours."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._owned = False

    def acquire(self, address: str) -> None:
        """Blocking: call it in a worker thread."""
        with self._lock:
            # Ray's driver would otherwise install absl's failure signal handler ahead of
            # the server's own, which prints a stack dump at every SIGTERM, the server's
            # normal stop. Ray reads this when it is first imported, so before that.
            os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
            # ray.init runs in a worker thread on purpose (SIGTERM stays the server's), and
            # Ray warns about exactly that at every start: it reads like trouble.
            logging.getLogger("ray._private.worker").addFilter(_not_the_sigterm_notice)
            try:
                import ray
            except ImportError as exc:
                raise RayUnavailableError(
                    f"the Ray executor needs the ray package: {INSTALL_HINT}"
                ) from exc
            if not ray.is_initialized():
                _check_reachable(address)
                try:
                    ray.init(
                        address=address,
                        namespace=RAY_NAMESPACE,
                        # The tasks' output goes to their log files, not to our stderr.
                        log_to_driver=False,
                        # Ray's own records go through the server's logging set-up.
                        configure_logging=False,
                    )
                except Exception as exc:  # ConnectionError, ValueError, RuntimeError...
                    raise RayUnavailableError(
                        f"cannot connect to the Ray cluster at {address!r}: {exc}"
                    ) from exc
                self._owned = True
            self._users += 1

    def release(self) -> None:
        """Blocking: call it in a worker thread."""
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._owned:
                import ray

                ray.shutdown()
                self._owned = False


def _not_the_sigterm_notice(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("SIGTERM handler is not set")


_CONNECTION = _Connection()
_REACH_TIMEOUT = 5.0


def _check_reachable(address: str) -> None:
    """Fail fast when a host:port address does not answer: ray.init would retry for many
    minutes. ("auto" and ray:// addresses are Ray's to resolve.)"""
    host, separator, port = address.rpartition(":")
    if "://" in address or not separator or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=_REACH_TIMEOUT).close()
    except OSError as exc:
        raise RayUnavailableError(
            f"cannot connect to the Ray cluster at {address!r}: {exc}"
        ) from exc


@functools.cache
def _remote_party() -> Any:
    import ray

    # max_retries=0: the engine decides about re-running a party, not Ray.
    # max_calls=1: a fresh worker per party, which ends (and takes every process the
    # party left behind with it) when the party ends.
    return ray.remote(num_returns="streaming", max_retries=0, max_calls=1)(_run_party)


# --- the executor: runs in the server ---------------------------------------------------------


@dataclass(slots=True)
class _Party:
    """A Ray task this executor follows."""

    key: PartyKey
    files: _AttemptFiles
    generator: ObjectRefGenerator[Any] | None = None
    watcher: asyncio.Task[None] | None = None
    started: bool = False
    terminate_reason: str | None = None
    log: IO[bytes] | None = None


@dataclass(slots=True)
class _Settling:
    """A party found nowhere at recovery, whose previous owner may still run it: looked
    at again once that owner's processes are surely dead."""

    key: PartyKey
    files: _AttemptFiles
    fence: Fence | None
    waiter: asyncio.Task[None] | None = None


class RayExecutor:
    """Runs each party as a Ray task; see the module docstring."""

    def __init__(
        self,
        data_dir: Path,
        registry: AppImageRegistry,
        sink: ReportSink,
        address: str = DEFAULT_ADDRESS,
        progress_poll_interval: float = 0.2,
        *,
        kill_grace: float = 2.0,
        sandbox: SandboxPolicy | None = None,
        unsandboxed: bool = False,
        fences: FenceBoard | None = None,
    ) -> None:
        if not ray_installed():
            raise RayUnavailableError(f"the Ray executor needs the ray package: {INSTALL_HINT}")
        self._tasks_dir = data_dir.absolute() / "tasks"
        self._registry = registry
        self._sink = sink
        self._address = address
        self._poll_interval = progress_poll_interval
        self._kill_grace = kill_grace
        # Workers sandbox every party (or refuse it) unless the operator said --unsandboxed
        # on a server that has no sandbox itself.
        self._sandbox = sandbox
        self._unsandboxed = unsandboxed and sandbox is None
        self._parties: dict[PartyKey, _Party] = {}
        self._settling: dict[PartyKey, _Settling] = {}
        self._connect_lock = asyncio.Lock()
        self._connected = False
        # On a replica: its fence deadlines, which the cluster's keeper is told of.
        self._fences = fences
        self._pusher = None if fences is None else FencePusher(fences)

    def knows_image(self, app_image: str) -> bool:
        return app_image in self._registry

    def holds(self, key: PartyKey) -> bool:
        """Whether this party runs here now (launched and not yet reported exited), or
        is being recovered."""
        return key in self._parties or key in self._settling

    def ran_here(self, key: PartyKey) -> bool:
        """Whether this attempt was launched on Ray (by this or an earlier server)."""
        try:
            return _ray_record(self._files(key)).is_file()
        except ValueError:  # the key cannot name a directory: never launched
            return False

    def log_path(self, key: PartyKey) -> str:
        return str(self._files(key).log)

    async def launch(self, launch: PartyLaunch) -> None:
        image = (
            AppImage(name=launch.app_image, command=launch.command, network=launch.network)
            if launch.command
            else self._registry.get(launch.app_image)
        )
        options = _task_options(launch)  # a bad resource value fails before anything runs
        key = launch.key
        files = self._files(key)
        # Held from now on, so that a terminate() while we connect (the first connection
        # takes seconds) is not lost: a replica that lost the job must not submit it.
        party = _Party(key, files)
        self._parties[key] = party
        try:
            await self._connect()
            files.prepare()
            document = _task_document(launch)
            write_atomic(files.task, json.dumps(document, indent=2) + "\n")
            write_atomic(_ray_record(files), json.dumps({"address": self._address}) + "\n")
            party.log = files.log.open("wb")
            if party.terminate_reason is not None:
                self._finish(party, TERMINATED_EXIT_CODE, f"terminated: {party.terminate_reason}")
                return
            party.generator = await asyncio.to_thread(
                _submit,
                options,
                image.command,
                party_env(launch, image),  # the worker's own environment is the base
                document,
                self._poll_interval,
                self._kill_grace,
                self._sandbox_request(launch, image),
                self._fence_order(launch.fence),
            )
        except BaseException:
            self._forget(party)
            raise
        party.watcher = asyncio.create_task(self._watch(party), name=f"dagwire ray {key}")
        party.watcher.add_done_callback(functools.partial(_watcher_done, key))
        if party.terminate_reason is not None:  # terminate() came while we submitted
            await self._cancel(party)

    def _fence_order(self, fence: Fence | None) -> FenceOrder | None:
        if fence is None or self._fences is None:
            return None
        # A replica renews its fence before it ever launches: no deadline yet would be
        # a bug, and the party then dies at once rather than run unfenced.
        deadline = self._fences.deadline(fence.replica_id) or 0.0
        return FenceOrder(fence.replica_id, fence.epoch, deadline)

    def _sandbox_request(self, launch: PartyLaunch, image: AppImage) -> _SandboxRequest | None:
        if self._unsandboxed:
            return None
        policy = self._sandbox or SandboxPolicy()
        return _SandboxRequest(
            policy=policy,
            limits=policy.limits.for_resources(launch.resources),
            network=image.network and policy.allow_network,
            writable=launch.writable_paths,
            readonly=launch.readable_paths,
        )

    async def terminate(self, key: PartyKey, reason: str) -> None:
        party = self._parties.get(key)
        if party is None:
            return
        party.terminate_reason = reason
        if party.generator is not None:
            await self._cancel(party)

    async def recover(self, launches: Iterable[PartyLaunch]) -> None:
        for launch in launches:
            key = launch.key
            if key in self._parties or key in self._settling:
                continue
            try:
                files = self._files(key)
            except ValueError as error:  # stored by a version that did not check ids
                self._sink(PartyExited(key, START_FAILURE_EXIT_CODE, f"cannot recover: {error}"))
                continue
            self._recover(_Settling(key, files, launch.fence), settle=True)

    def _recover(self, party: _Settling, *, settle: bool) -> None:
        """Report how the party ended, from its records; a task of another driver cannot
        be followed. With `settle`, a party with no record whose previous owner may still
        run it is looked at again once that owner's processes are surely dead."""
        key, files = party.key, party.files
        status = _read_int(files.exit_status)
        wait = settling(party.fence, time.monotonic()) if settle else 0.0
        found = verdict(
            fenced_mark=files.fenced.exists(),
            exit_recorded=status is not None,
            running=False,
            wait=wait,
        )
        if found is Verdict.SETTLING:
            party.waiter = asyncio.create_task(self._settle(party, wait), name=f"dagwire {key}")
            party.waiter.add_done_callback(functools.partial(_watcher_done, key))
            self._settling[key] = party
            return
        if found is Verdict.FENCED:
            self._sink(fenced_exit(key))  # what else it left is not its result
            return
        progress = _read_progress(files.progress)
        if progress is not None:
            self._sink(PartyProgress(key, progress))
        if status is None:
            self._sink(PartyExited(key, VANISHED_EXIT_CODE, LOST_MESSAGE, lost=True))
        else:
            self._sink(PartyExited(key, status, _exit_message(status, None)))

    async def _settle(self, party: _Settling, wait: float) -> None:
        await asyncio.sleep(wait)
        if self._settling.get(party.key) is party:
            del self._settling[party.key]
            self._recover(party, settle=False)

    async def close(self) -> None:
        """Stop following the tasks and end them: they could not outlive this process (their
        driver) anyway, and ending them now keeps a task from running unobserved. Their
        keys have no exit record, so the next start reports them lost and relaunches them."""
        parties = list(self._parties.values())
        self._parties.clear()
        settling = list(self._settling.values())
        self._settling.clear()
        watchers = [p.watcher for p in parties if p.watcher is not None]
        watchers += [p.waiter for p in settling if p.waiter is not None]
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        for party in parties:
            _close_log(party)
            if party.generator is not None:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(_cancel, party.generator, True)
        if self._pusher is not None:
            await self._pusher.close()
        if self._connected:
            self._connected = False
            await asyncio.to_thread(_CONNECTION.release)

    # --- internals -----------------------------------------------------------------------

    def _files(self, key: PartyKey) -> _AttemptFiles:
        # The local executor's layout, so that logs and records are found the same way.
        parts = (key.job_id, key.task_id, key.domain_id, str(key.attempt))
        return _AttemptFiles(path_below(self._tasks_dir, *parts))

    async def _connect(self) -> None:
        async with self._connect_lock:
            if not self._connected:
                await asyncio.to_thread(_CONNECTION.acquire, self._address)
                self._connected = True
            if self._pusher is not None:
                # Before the first launch: its watchdog asks the keeper at once.
                await self._pusher.start()

    async def _cancel(self, party: _Party) -> None:
        """Cancel softly (the worker stops the command with SIGTERM, then SIGKILL after
        kill_grace); force-cancel when the task has not ended some time after that."""
        generator, watcher = party.generator, party.watcher
        assert generator is not None and watcher is not None
        await asyncio.to_thread(_cancel, generator, False)
        await asyncio.wait({watcher}, timeout=self._kill_grace + _FORCE_MARGIN)
        if not watcher.done():
            _log.warning("Ray task of %s did not end when cancelled; forcing", party.key)
            await asyncio.to_thread(_cancel, generator, True)

    async def _watch(self, party: _Party) -> None:
        assert party.generator is not None
        ended: _Ended | None = None
        try:
            async for ref in party.generator:
                item = await ref
                if isinstance(item, _Started):
                    self._on_started(party, item)
                elif isinstance(item, _Output):
                    self._on_output(party, item)
                elif isinstance(item, _Ended):
                    ended = item
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._on_failure(party, error)
            return
        if ended is None:
            self._finish(party, RAY_FAILURE_EXIT_CODE, "the Ray task ended without an exit status")
        elif ended.fenced:
            self._finish_fenced(party, ended.message)
        elif ended.message:
            self._finish(party, ended.exit_code, ended.message)
        else:
            self._finish(party, ended.exit_code, _exit_message(ended.exit_code, None))

    def _on_started(self, party: _Party, item: _Started) -> None:
        party.started = True
        record = {
            "address": self._address,
            "node_id": item.node_id,
            "task_id": item.task_id,
            "worker_pid": item.worker_pid,
            "hostname": item.hostname,
        }
        try:
            write_atomic(_ray_record(party.files), json.dumps(record) + "\n")
        except OSError:
            _log.warning("could not record where %s runs", party.key, exc_info=True)
        self._sink(PartyStarted(party.key))

    def _on_output(self, party: _Party, item: _Output) -> None:
        if item.log and party.log is not None:
            party.log.write(item.log)
            party.log.flush()
        if item.progress is not None:
            with contextlib.suppress(OSError):  # the report below is what counts
                write_atomic(party.files.progress, repr(item.progress))
            self._sink(PartyProgress(party.key, item.progress))

    def _on_failure(self, party: _Party, error: Exception) -> None:
        from ray import exceptions

        if isinstance(error, exceptions.TaskCancelledError) or party.terminate_reason:
            reason = party.terminate_reason or "cancelled on the Ray cluster"
            self._finish(party, TERMINATED_EXIT_CODE, f"terminated: {reason}")
        elif isinstance(error, exceptions.OutOfMemoryError):
            self._finish(party, -signal.SIGKILL, f"killed by Ray for lack of memory: {error}")
        elif isinstance(
            error,
            exceptions.WorkerCrashedError
            | exceptions.NodeDiedError
            | exceptions.LocalRayletDiedError
            | exceptions.OwnerDiedError
            | exceptions.ObjectLostError,
        ):
            # The cluster lost it, not the app: the engine relaunches it (a few times).
            self._finish(party, VANISHED_EXIT_CODE, f"lost on Ray ({_summary(error)})", lost=True)
        else:
            verb = "failed on Ray" if party.started else "could not start on Ray"
            code = RAY_FAILURE_EXIT_CODE if party.started else START_FAILURE_EXIT_CODE
            if not isinstance(error, exceptions.RayError):
                _log.error("following the Ray task of %s failed", party.key, exc_info=error)
            self._finish(party, code, f"{verb}: {_summary(error)}")

    def _finish(self, party: _Party, exit_code: int, message: str, *, lost: bool = False) -> None:
        """Record and report the one PartyExited; lost parties get no record, so that a
        restarted server reports them lost too."""
        _close_log(party)
        if self._parties.get(party.key) is not party:
            return  # closed meanwhile
        del self._parties[party.key]
        if not lost:
            try:
                write_atomic(party.files.exit_status, str(exit_code))
            except OSError:
                _log.warning("could not record the exit of %s", party.key, exc_info=True)
        self._sink(PartyExited(party.key, exit_code, message, lost=lost))

    def _finish_fenced(self, party: _Party, why: str) -> None:
        """Its watchdog killed it: mark the attempt fenced (no exit record, so that no
        recovery takes it for finished) and report it lost."""
        _close_log(party)
        if self._parties.get(party.key) is not party:
            return
        del self._parties[party.key]
        _log.warning("the Ray task of %s was %s", party.key, why)
        try:
            party.files.fenced.touch()
        except OSError:
            _log.warning("could not mark %s fenced", party.key, exc_info=True)
        self._sink(fenced_exit(party.key))

    def _forget(self, party: _Party) -> None:
        _close_log(party)
        if self._parties.get(party.key) is party:
            del self._parties[party.key]


def _ray_record(files: _AttemptFiles) -> Path:
    return files.directory / "ray_task.json"


def _close_log(party: _Party) -> None:
    if party.log is not None:
        party.log.close()
        party.log = None


def _watcher_done(key: PartyKey, task: asyncio.Task[None]) -> None:
    # Nothing awaits a watcher; without this its failure would only surface as
    # "Task exception was never retrieved" at garbage collection.
    if not task.cancelled() and (error := task.exception()) is not None:
        _log.error("following the Ray task of %s failed", key, exc_info=error)


def _submit(
    options: Mapping[str, Any],
    command: tuple[str, ...],
    env: Mapping[str, str],
    document: Mapping[str, object],
    poll_interval: float,
    kill_grace: float,
    sandbox: _SandboxRequest | None,
    fence: FenceOrder | None,
) -> ObjectRefGenerator[Any]:
    """Blocking (the first call exports the function to the cluster): call it in a thread."""
    remote = _remote_party().options(**options)
    generator: ObjectRefGenerator[Any] = remote.remote(
        command, dict(env), dict(document), poll_interval, kill_grace, sandbox, fence
    )
    return generator


def _cancel(generator: ObjectRefGenerator[Any], force: bool) -> None:
    import ray

    ray.cancel(generator, force=force)


def _summary(error: BaseException) -> str:
    """One line about an error: for an error raised in the task, the original exception
    (a RayTaskError's own text starts with the task's name and a traceback)."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        error = cause
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _task_options(launch: PartyLaunch) -> dict[str, Any]:
    """Ray task options: a readable name, and the party's cpu and memory as Ray resources
    (Kubernetes quantities, as Kuscia gives them: "2", "500m", "1Gi")."""
    key = launch.key
    options: dict[str, Any] = {
        "name": f"dagwire {key.job_id}/{key.task_id}/{key.domain_id}#{key.attempt}"
    }
    cpu = launch.resources.get("cpu", "").strip()
    if cpu:
        options["num_cpus"] = quantity(cpu, "cpu")
    memory = launch.resources.get("memory", "").strip()
    if memory:
        options["memory"] = int(quantity(memory, "memory"))
    return options
