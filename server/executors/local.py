"""Run party processes on this machine as asyncio subprocesses.

Each attempt gets a directory data_dir/tasks/<job_id>/<task_id>/<domain_id>/<attempt>/
holding task.json, output.log, progress, pid and exit_status. The process writes its
output and its exit status there itself (through a tiny shell wrapper), never through
the server, so it can outlive a server restart and be recovered from disk.

With a sandbox (dagwire.server.executors.sandbox) the wrapper stays outside and runs the
command in bubblewrap. The process then writes only the attempt's `work/` directory (its
cwd, holding its progress file) and its declared outputs: the records the server trusts
(pid, exit_status) stay where the tenant cannot touch them, so it cannot plant a symlink
for the root-run wrapper to write through, nor a pid for a later recovery to kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import json
import logging
import math
import os
import shutil
import signal
import stat
import sys
import time
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagwire.server.engine.names import path_below
from dagwire.server.engine.usage import ProcessUsage
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
    WATCHDOG_POLL_SECONDS,
    FenceBoard,
    Verdict,
    fenced_exit,
    settling,
    verdict,
)
from dagwire.server.executors.images import AppImage, AppImageRegistry
from dagwire.server.executors.sandbox import (
    SandboxPolicy,
    SandboxSpec,
    hand_over,
    opened_folders,
    sandbox_argv,
    sandbox_env,
)

_log = logging.getLogger(__name__)

# Runs the command, then records its exit code atomically (tmp + mv) so the record is on
# disk even if the server is gone, and exits with the same code. Trapping SIGTERM keeps
# the shell alive until the command (which gets the default SIGTERM action back) has
# exited, so a terminated command's status is recorded too and the command is not
# orphaned; only SIGKILL stops the shell early.
_RECORD_STATUS = (
    'printf %s "$rc" > "$DAGWIRE_STATUS_FILE.tmp" '
    '&& mv -f "$DAGWIRE_STATUS_FILE.tmp" "$DAGWIRE_STATUS_FILE"; '
    'exit "$rc"'
)
_STATUS_WRAPPER = 'trap : TERM; "$@"; rc=$?; ' + _RECORD_STATUS
# On a replica, the same with a watchdog beside the command (dagwire.server.executors.
# fencing): every poll it touches a clock file and compares it with the owner's fence
# file (through the attempt's `fence` link, which a new owner may re-point); once the
# deadline has passed it leaves the `fenced` marker and kills the whole process group,
# itself and the wrapper included, so no exit status is recorded. `[ -nt ]` and `: >`
# are shell builtins: a poll costs one `sleep`.
_FENCED_WRAPPER = (
    "trap : TERM; "
    f"( trap - TERM; while sleep {WATCHDOG_POLL_SECONDS}; do "
    ': > "$DAGWIRE_FENCE_CLOCK"; '
    '[ "$DAGWIRE_FENCE" -nt "$DAGWIRE_FENCE_CLOCK" ] && continue; '
    ': > "$DAGWIRE_FENCED"; kill -KILL 0; done ) & '
    '"$@"; rc=$?; kill "$!" 2>/dev/null; ' + _RECORD_STATUS
)
# The same code a shell uses when it cannot find a command.
START_FAILURE_EXIT_CODE = 127
VANISHED_EXIT_CODE = -1
VANISHED_MESSAGE = (
    "lost with its server (the process vanished while the server was down; no exit status recorded)"
)
_GROUP_EXIT_POLL_SECONDS = 0.05
_REAPER_WAIT_POLLS = 20


@dataclass(frozen=True, slots=True)
class _AttemptFiles:
    directory: Path
    sandboxed: bool = False

    @property
    def work(self) -> Path:
        """The process's own directory: the attempt directory itself unsandboxed, else
        its `work/` (the only part a sandboxed process may write)."""
        return self.directory / "work" if self.sandboxed else self.directory

    @property
    def task(self) -> Path:
        return self.directory / "task.json"

    @property
    def log(self) -> Path:
        return self.directory / "output.log"

    @property
    def progress(self) -> Path:
        return self.work / "progress"

    @property
    def pid(self) -> Path:
        return self.directory / "pid"

    @property
    def statistics(self) -> Path:
        """What the process cost, written by its reaper (executors/reaper.py)."""
        return self.directory / "statistics.json"

    @property
    def exit_status(self) -> Path:
        return self.directory / "exit_status"

    @property
    def fence(self) -> Path:
        """A link to the owner replica's fence file, which its watchdog follows."""
        return self.directory / "fence"

    @property
    def fence_clock(self) -> Path:
        return self.directory / "fence_clock"

    @property
    def fenced(self) -> Path:
        """Left by the watchdog that killed the process: whatever else the attempt
        left (an exit status, progress) is not its result."""
        return self.directory / "fenced"

    def prepare(self) -> None:
        """Create the directory; drop records a previous launch of this key left behind,
        which would otherwise be mistaken for this process's."""
        self.work.mkdir(parents=True, exist_ok=True)
        stale_records = (self.progress, self.pid, self.exit_status, self.statistics)
        for stale in (*stale_records, self.fence, self.fenced):
            stale.unlink(missing_ok=True)

    def point_fence(self, target: Path) -> None:
        """(Re-)point the `fence` link at an owner's fence file, atomically."""
        temporary = self.directory / "fence.tmp"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(target)
        temporary.replace(self.fence)

    def fenced_to(self, target: Path) -> bool:
        """Whether the attempt runs under `target` (no other replica took it over)."""
        try:
            return Path(os.readlink(self.fence)) == target
        except OSError:
            return False


@dataclass(slots=True)
class _Party:
    """A process this executor watches."""

    key: PartyKey
    files: _AttemptFiles
    pid: int
    # None for a process recovered after a restart: it is not our child any more.
    process: asyncio.subprocess.Process | None = None
    last_progress: float | None = None
    terminate_reason: str | None = None
    last_signal: int | None = None
    fence: Fence | None = None
    # Found nowhere, waiting for its previous owner's processes to be surely dead.
    settling: bool = False


class LocalExecutor:
    """Runs each party as a local process group; see the module docstring for the layout."""

    def __init__(
        self,
        data_dir: Path,
        registry: AppImageRegistry,
        sink: ReportSink,
        progress_poll_interval: float = 0.2,
        *,
        kill_grace: float = 2.0,
        sandbox: SandboxPolicy | None = None,
        fences: FenceBoard | None = None,
        usage_interval: float = 1.0,
        usage_samples: int = 120,
    ) -> None:
        # Absolute, because processes run with their attempt directory as working directory
        # and get these paths in their environment.
        self._tasks_dir = data_dir.absolute() / "tasks"
        self._registry = registry
        self._sink = sink
        self._poll_interval = progress_poll_interval
        self._kill_grace = kill_grace
        # None runs processes bare on the host (no sandbox available, --unsandboxed).
        self._sandbox = sandbox
        # On a replica: the fence files its launches' watchdogs follow.
        self._fences = fences
        # How often each process's reaper samples its tree, and how many samples it keeps.
        self._reaper = _Reaper(usage_interval, usage_samples)
        self._parties: dict[PartyKey, _Party] = {}
        self._watchers: dict[PartyKey, asyncio.Task[None]] = {}

    def knows_image(self, app_image: str) -> bool:
        return app_image in self._registry

    def log_path(self, key: PartyKey) -> str:
        return str(self._files(key).log)

    async def launch(self, launch: PartyLaunch) -> None:
        image = (
            AppImage(name=launch.app_image, command=launch.command, network=launch.network)
            if launch.command
            else self._registry.get(launch.app_image)
        )
        key = launch.key
        files = self._files(key)
        fence = self._fence_file(launch.fence)
        try:
            process = await _start(launch, image, files, self._sandbox, fence, self._reaper)
        except (OSError, ValueError) as exc:  # ValueError: resources its limits cannot use
            self._report_start_failure(key, files, exc)
            return
        party = _Party(key, files, process.pid, process=process, fence=launch.fence)
        self._parties[key] = party
        _record_pid(files, process.pid)
        self._sink(PartyStarted(key))
        self._spawn_watcher(party, self._watch_child(party, process))

    async def terminate(self, key: PartyKey, reason: str) -> None:
        party = self._parties.get(key)
        if party is None or party.settling:
            return  # a settling party has no process here; its report follows anyway
        fence = self._fence_file(party.fence)
        if fence is not None and not party.files.fenced_to(fence):
            # Another replica re-pointed the attempt at its own fence when it took the
            # job over (a shared data dir): the process is its now.
            self._forget(party)
            return
        if not _signal_group(party, signal.SIGTERM):
            return
        # Set only once a signal was delivered: a process that ended on its own just before
        # keeps its real exit message.
        party.terminate_reason = reason
        if not await _group_exits_within(party.pid, self._kill_grace):
            _signal_group(party, signal.SIGKILL)

    async def recover(self, launches: Iterable[PartyLaunch]) -> None:
        for launch in launches:
            key = launch.key
            if key in self._parties:
                continue
            try:
                files = self._files(key)
            except ValueError as error:  # stored by a version that did not check ids
                self._sink(PartyExited(key, START_FAILURE_EXIT_CODE, f"cannot recover: {error}"))
                continue
            party = _Party(key, files, pid=_read_int(files.pid) or 0, fence=launch.fence)
            self._recover(party, settle=True)

    def _recover(self, party: _Party, *, settle: bool) -> None:
        """Re-attach to the party's process, or report how it ended. With `settle`, a
        party with no trace here whose previous owner may still run it elsewhere is
        looked at again once that owner's processes are surely dead."""
        files = party.files
        status = _read_int(files.exit_status)
        wait = settling(party.fence, time.monotonic()) if settle else 0.0
        found = verdict(
            fenced_mark=files.fenced.exists(),
            exit_recorded=status is not None,
            # With its status recorded, the wrapper is about to exit, if it has not.
            running=status is None and party.pid > 0 and _is_group_leader(party.pid),
            wait=wait,
        )
        if found is Verdict.RUNNING:
            fence = self._fence_file(party.fence)
            if fence is not None:
                files.point_fence(fence)  # ours now: its watchdog follows our lease
            self._parties[party.key] = party
            self._spawn_watcher(party, self._watch_detached(party))
        elif found is Verdict.SETTLING:
            party.settling = True
            self._parties[party.key] = party
            self._spawn_watcher(party, self._settle(party, wait))
        else:  # FENCED, EXITED and LOST: _finish tells them apart by the same records
            self._finish(party, status)

    async def _settle(self, party: _Party, wait: float) -> None:
        await asyncio.sleep(wait)
        self._parties.pop(party.key, None)
        party.settling = False
        self._recover(party, settle=False)

    async def close(self) -> None:
        watchers = list(self._watchers.values())
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        for party in self._parties.values():
            if party.process is not None:
                _disown(party.process)
        self._parties.clear()

    def _fence_file(self, fence: Fence | None) -> Path | None:
        if fence is None or self._fences is None:
            return None
        return self._fences.file(fence.replica_id)

    def _forget(self, party: _Party) -> None:
        """Stop watching a party (and reporting on it) without touching its process."""
        self._parties.pop(party.key, None)
        watcher = self._watchers.pop(party.key, None)
        if watcher is not None:
            watcher.cancel()
        if party.process is not None:
            _disown(party.process)

    def _files(self, key: PartyKey) -> _AttemptFiles:
        parts = (key.job_id, key.task_id, key.domain_id, str(key.attempt))
        return _AttemptFiles(
            path_below(self._tasks_dir, *parts), sandboxed=self._sandbox is not None
        )

    def _report_start_failure(self, key: PartyKey, files: _AttemptFiles, exc: Exception) -> None:
        # Best effort: a recovery after a restart then reports the same failure.
        with contextlib.suppress(OSError):
            write_atomic(files.exit_status, str(START_FAILURE_EXIT_CODE))
        self._sink(PartyExited(key, START_FAILURE_EXIT_CODE, f"failed to start: {exc}"))

    def _spawn_watcher(self, party: _Party, watch: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(watch, name=f"dagwire watcher {party.key}")
        self._watchers[party.key] = task
        task.add_done_callback(functools.partial(self._watcher_done, party.key))

    def _watcher_done(self, key: PartyKey, task: asyncio.Task[None]) -> None:
        if self._watchers.get(key) is task:
            del self._watchers[key]
        # Nothing awaits a watcher; without this its failure would only surface as
        # "Task exception was never retrieved" at garbage collection.
        if not task.cancelled() and (error := task.exception()) is not None:
            _log.error("watching %s failed", key, exc_info=error)

    async def _watch_child(self, party: _Party, process: asyncio.subprocess.Process) -> None:
        waiter = asyncio.ensure_future(process.wait())
        try:
            while not waiter.done():
                await asyncio.wait({waiter}, timeout=self._poll_interval)
                self._poll_progress(party)
        finally:
            waiter.cancel()
        status = _read_int(party.files.exit_status)
        # No status file means the wrapper itself died, so the return code is its signal.
        self._finish(party, waiter.result() if status is None else status)

    async def _watch_detached(self, party: _Party) -> None:
        # Not our child, so there is nothing to await: poll its records and its pid.
        while (status := _read_int(party.files.exit_status)) is None and _is_group_leader(
            party.pid
        ):
            self._poll_progress(party)
            await asyncio.sleep(self._poll_interval)
        if status is None:
            # The wrapper writes the status just before it exits: look once more.
            status = _read_int(party.files.exit_status)
        else:
            # Its reaper writes the statistics once the wrapper has exited: give it a
            # moment to (it leads the group; bounded, as a stuck one must not hold the exit).
            for _ in range(_REAPER_WAIT_POLLS):
                if not _is_group_leader(party.pid):
                    break
                await asyncio.sleep(_GROUP_EXIT_POLL_SECONDS)
        self._finish(party, status)

    def _poll_progress(self, party: _Party) -> None:
        progress = _read_progress(party.files.progress)
        if progress is not None and progress != party.last_progress:
            party.last_progress = progress
            self._sink(PartyProgress(party.key, progress))

    def _finish(self, party: _Party, exit_code: int | None) -> None:
        """Report the last progress, then the one PartyExited; exit_code None means the
        process is gone without a record."""
        self._parties.pop(party.key, None)
        if party.files.fenced.exists():
            # Its watchdog killed it: whatever it left is not its result.
            self._sink(fenced_exit(party.key))
            return
        self._poll_progress(party)
        if exit_code is None:
            if party.last_signal is None:
                self._sink(PartyExited(party.key, VANISHED_EXIT_CODE, VANISHED_MESSAGE, lost=True))
                return
            # We killed it ourselves (a recovered process is not our child: no return code).
            exit_code = -party.last_signal
        message = _exit_message(exit_code, party.terminate_reason)
        usage = read_usage(party.files.statistics)
        self._sink(PartyExited(party.key, exit_code, message, usage=usage))


async def _start(
    launch: PartyLaunch,
    image: AppImage,
    files: _AttemptFiles,
    sandbox: SandboxPolicy | None,
    fence: Path | None,
    reaper: _Reaper,
) -> asyncio.subprocess.Process:
    files.prepare()
    write_atomic(files.task, json.dumps(_task_document(launch), indent=2) + "\n")
    env = _process_env(launch, image, files, sandboxed=sandbox is not None)
    wrapper = _STATUS_WRAPPER
    if fence is not None:
        files.point_fence(fence)
        wrapper = _FENCED_WRAPPER
        env.update(
            DAGWIRE_FENCE=str(files.fence),
            DAGWIRE_FENCE_CLOCK=str(files.fence_clock),
            DAGWIRE_FENCED=str(files.fenced),
        )
    _check_executable(image.command[0], env, files.work)
    command = list(image.command)
    if sandbox is not None:
        spec = _sandbox_spec(launch, image, files, sandbox)
        hand_over(sandbox, [spec.workdir, *spec.writable])
        command = sandbox_argv(sandbox, spec, command)
    with files.log.open("wb") as log:
        # The log is the process's own stdout/stderr, not a pipe to us, so it keeps
        # writing when the server is gone. A new session makes it a process group that
        # terminate() can kill with all its children; the reaper leads it, over the
        # wrapper.
        return await asyncio.create_subprocess_exec(
            *reaper.argv(files.statistics),
            "/bin/sh",
            "-c",
            wrapper,
            "sh",
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=files.directory,
            start_new_session=True,
        )


@dataclass(frozen=True, slots=True)
class _Reaper:
    """The reaper every process runs under (executors/reaper.py): it measures the
    process tree from the kernel's accounting. A script of the standard library run
    without site-packages, so it costs a bare interpreter start per process."""

    interval: float
    samples: int

    def argv(self, statistics: Path) -> list[str]:
        return [
            sys.executable,
            "-I",
            "-S",
            str(_REAPER_SCRIPT),
            str(statistics),
            repr(self.interval),
            str(self.samples),
            "--",
        ]


_REAPER_SCRIPT = Path(__file__).with_name("reaper.py")


def read_usage(path: Path) -> ProcessUsage | None:
    """The figures the reaper left, or None (no reaper ran: a start failure, a process
    of an older server)."""
    text = read_small_file(path, 1 << 20)
    if text is None:
        return None
    try:
        return ProcessUsage.from_json(json.loads(text))
    except ValueError:
        return None


def _check_executable(program: str, env: Mapping[str, str], cwd: Path) -> None:
    # Without this check the wrapper shell would start fine, print "not found" into the
    # log and exit 127; checking first puts the reason into the PartyExited message.
    candidate = str(cwd / program) if "/" in program else program
    if shutil.which(candidate, path=env.get("PATH", os.defpath)) is None:
        raise FileNotFoundError(errno.ENOENT, "command not found or not executable", program)


def _record_pid(files: _AttemptFiles, pid: int) -> None:
    try:
        write_atomic(files.pid, str(pid))
    except OSError:
        # The process runs; only a recovery after a restart would miss the pid.
        _log.warning("could not record pid %d in %s", pid, files.pid, exc_info=True)


def _task_document(launch: PartyLaunch) -> dict[str, object]:
    key = launch.key
    document: dict[str, object] = {
        "job_id": key.job_id,
        "task_id": key.task_id,
        "task_alias": launch.task_alias,
        "domain_id": key.domain_id,
        "role": launch.role,
        "attempt": key.attempt,
        "task_input_config": launch.task_input_config,
        # A party's endpoints where its node allocated them (a federation).
        "parties": [
            {"domain_id": p.domain_id, "role": p.role}
            | ({"endpoints": list(p.endpoints)} if p.endpoints else {})
            for p in launch.parties
        ],
        "resources": dict(launch.resources),
        "custom_fields": dict(launch.custom_fields),
    }
    if launch.fence is not None:  # on a replica: the lease it was launched under
        document["lease"] = {"replica_id": launch.fence.replica_id, "epoch": launch.fence.epoch}
    return document


def _cluster_define(launch: PartyLaunch) -> dict[str, object]:
    """Kuscia's ClusterDefine in protojson form, as Kuscia puts it in TASK_CLUSTER_DEFINE.

    A party's services list its endpoints (port name "peer"), where its node allocated
    them; empty where none was (a single server allocates none).
    """
    parties = launch.parties
    me = (launch.key.domain_id, launch.role)
    exact = [i for i, p in enumerate(parties) if (p.domain_id, p.role) == me]
    same_domain = [i for i, p in enumerate(parties) if p.domain_id == launch.key.domain_id]
    self_index = (exact or same_domain or [-1])[0]
    return {
        "parties": [
            {
                "name": p.domain_id,
                "role": p.role,
                "services": (
                    [{"portName": "peer", "endpoints": list(p.endpoints)}] if p.endpoints else []
                ),
            }
            for p in parties
        ],
        "selfPartyIdx": self_index,
        "selfEndpointIdx": 0,
    }


def party_env(launch: PartyLaunch, image: AppImage) -> dict[str, str]:
    """The variables a party's process gets wherever it runs (locally or on Ray), on top
    of the environment it starts in. dagwire's own come last: an image must not be able
    to redirect them."""
    key = launch.key
    return {
        **image.env,
        **launch.env,
        "DAGWIRE_JOB_ID": key.job_id,
        "DAGWIRE_TASK_ID": key.task_id,
        "DAGWIRE_TASK_ALIAS": launch.task_alias,
        "DAGWIRE_DOMAIN_ID": key.domain_id,
        "DAGWIRE_ROLE": launch.role,
        "DAGWIRE_ATTEMPT": str(key.attempt),
        "DAGWIRE_TASK_INPUT_CONFIG": launch.task_input_config,
        "TASK_ID": key.task_id,
        "TASK_INPUT_CONFIG": launch.task_input_config,
        "TASK_CLUSTER_DEFINE": json.dumps(_cluster_define(launch)),
    }


def _sandbox_spec(
    launch: PartyLaunch, image: AppImage, files: _AttemptFiles, policy: SandboxPolicy
) -> SandboxSpec:
    """The attempt directory read-only (task.json, the records), its work directory and
    the launch's outputs writable, the launch's inputs readable."""
    return SandboxSpec(
        workdir=files.work,
        readonly=(files.directory, *(Path(p) for p in launch.readable_paths)),
        writable=tuple(Path(p) for p in launch.writable_paths),
        network=image.network,
        limits=policy.limits.for_resources(launch.resources),
        mounts=launch.mounts,
        opened=opened_folders([Path(m.target) for m in launch.mounts], policy.hidden_dirs),
    )


def _process_env(
    launch: PartyLaunch, image: AppImage, files: _AttemptFiles, *, sandboxed: bool
) -> dict[str, str]:
    """A local process: this server's environment (only the harmless part of it in a
    sandbox), the party's variables, and the files of its attempt folder."""
    base = sandbox_env(os.environ, files.work) if sandboxed else os.environ
    return {
        **base,
        **party_env(launch, image),
        "DAGWIRE_TASK_FILE": str(files.task),
        "DAGWIRE_PROGRESS_FILE": str(files.progress),
        "DAGWIRE_STATUS_FILE": str(files.exit_status),
    }


def _signal_group(party: _Party, signum: signal.Signals) -> bool:
    """Signal the party's whole process group; False if the group is already gone."""
    try:
        os.killpg(party.pid, signum)
    except ProcessLookupError:
        return False
    party.last_signal = signum
    return True


async def _group_exits_within(pgid: int, grace: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while loop.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        await asyncio.sleep(_GROUP_EXIT_POLL_SECONDS)
    return False


def _is_group_leader(pid: int) -> bool:
    """Whether pid still runs as the leader of its own group, as our wrappers do; a
    recycled pid almost never is."""
    try:
        return os.getpgid(pid) == pid and not _is_zombie(pid)
    except OSError:
        return False


def _is_zombie(pid: int) -> bool:
    # A recovered wrapper is no longer our child; where nothing reaps orphans (an init
    # that does not, e.g. a container without one) it would look alive forever.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return False  # no procfs: count on the orphan being reaped
    return stat.rpartition(")")[2].split()[0] == "Z"


def _disown(process: asyncio.subprocess.Process) -> None:
    # asyncio kills a still-running child when its transport is garbage collected
    # (BaseSubprocessTransport.__del__ calls close(), which kills it), which happens once
    # the event loop is gone on Python 3.12+. Marking the transport closed lets the
    # process outlive the server, as close() promises; there is no public way to do it.
    transport = getattr(process, "_transport", None)
    if transport is not None:
        transport._closed = True


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def read_small_file(path: Path, limit: int = 1 << 16) -> str | None:
    """The text of a small regular file a tenant may have written, or None. Never follows
    a symlink nor blocks on a FIFO (the server reads these in its event loop), and reads
    at most `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit).decode("utf-8", errors="replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_progress(path: Path) -> float | None:
    text = read_small_file(path, 64)
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return None if math.isnan(value) else min(max(value, 0.0), 1.0)


def _exit_message(exit_code: int, terminate_reason: str | None) -> str:
    if terminate_reason is not None:
        return f"terminated: {terminate_reason}"
    if exit_code == 0:
        return ""
    if exit_code < 0:
        return f"killed by signal {-exit_code} ({_signal_name(-exit_code)})"
    if 128 < exit_code < 128 + signal.NSIG:
        # Shells report a child killed by signal N as 128 + N (137 is often the OOM killer).
        return f"exit code {exit_code}, probably killed by {_signal_name(exit_code - 128)}"
    return f"exit code {exit_code}"


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "an unknown signal"
