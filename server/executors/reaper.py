"""The reaper: runs one party's process as its child and records what it cost.

    python -I -S reaper.py STATISTICS_FILE INTERVAL MAX_SAMPLES -- COMMAND...

The local executor starts every party as this script over its status wrapper (the
shell that records the exit status, which runs the command, in bwrap when sandboxed):
the reaper leads the party's process group, outside the sandbox. It waits for the child with wait4(), so the CPU time
(user and system) and the peak resident set size come from the kernel's own accounting
of the child and of every descendant that was reaped inside the tree (bwrap's init reaps
the sandbox's orphans), not from polling. While the child runs it samples the process
tree from /proc every INTERVAL seconds (its cumulative CPU time and its summed resident
memory), keeping at most MAX_SAMPLES: when full, every other sample is dropped and the
interval doubles, so a long task's series still spans its whole life.

The figures go to STATISTICS_FILE (JSON, replaced atomically) after every sample and at
the end with "complete": true. The file lives in the attempt directory, which the
sandboxed process cannot write, and the reaper belongs to the party's process group, so
it outlives a server restart like the wrapper and a recovered party still finds its
figures. Standard library only, loaded without site-packages (-S): it costs a bare
interpreter start.

It ends as its child did: with the same exit code, or killed by the same signal, so
that whoever waits for it learns what it would have learnt from the child. SIGTERM to
the group reaches the child directly; the reaper ignores it and waits for the child, as
the wrapper does.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import time

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
# Bounds on one sample's walk of the tree, so that a fork bomb costs the reaper little.
_MAX_TREE = 4096
_START_FAILURE = 127
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NAME = 15
_NAME = b"dagwire-reaper"
# How long the reaper waits for adopted orphans once the command has exited.
_ORPHAN_GRACE_SECONDS = 2.0
_FIRST_SAMPLE_SECONDS = 0.1


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        print(
            "usage: reaper.py STATISTICS_FILE INTERVAL MAX_SAMPLES -- COMMAND...", file=sys.stderr
        )
        return 2
    target, interval, max_samples = argv[0], float(argv[1]), max(2, int(argv[2]))
    command = argv[4:]
    # A handler, not SIG_IGN: posix_spawn resets handled signals to their default in the
    # child, while an ignored one would stay ignored there.
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
    _become_subreaper()
    start, started = time.monotonic(), time.time()
    own_peak = _own_peak_kib()
    try:
        pid = os.posix_spawnp(command[0], command, os.environ, setsigmask=())
    except OSError as error:
        print(f"reaper: cannot run {command[0]!r}: {error}", file=sys.stderr)
        return _START_FAILURE
    samples: list[list[float]] = []
    peak = 0
    status: int | None = None
    # The first sample a moment after the start, once the command runs (not the fork).
    signal.sigtimedwait([signal.SIGCHLD], min(interval, _FIRST_SAMPLE_SECONDS))
    while True:
        status = _reap(pid, status)
        if status is not None:
            break
        user, system, rss = _tree_usage(os.getpid())
        now = time.time()
        peak = max(peak, rss)
        samples.append([round(now, 3), round(user + system, 3), rss])
        if len(samples) >= max_samples:
            del samples[1::2]
            interval *= 2
        _write(
            target,
            False,
            started,
            now,
            time.monotonic() - start,
            user,
            system,
            peak,
            0,
            interval,
            samples,
        )
        signal.sigtimedwait([signal.SIGCHLD], interval)
    _reap_orphans(time.monotonic() + _ORPHAN_GRACE_SECONDS)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    code = os.waitstatus_to_exitcode(status)
    exit_code = 128 - code if code < 0 else code  # as a shell reports a signal
    ended = time.time()
    # The end: the final CPU time, and the memory last seen (the tree's is 0 once gone).
    last_rss = samples[-1][2] if samples else 0
    samples.append([round(ended, 3), round(usage.ru_utime + usage.ru_stime, 3), last_rss])
    if len(samples) > max_samples:
        del samples[-2]
    # ru_maxrss is in KiB on Linux: the largest resident set of any one process of the
    # tree (the kernel keeps the maximum, not a sum, over reaped descendants); the
    # samples' summed RSS may be larger for a tree of several big processes. The spawned
    # child shares the reaper's memory until it execs, and the kernel keeps that high-water
    # mark as the child's own: a maximum no higher than the reaper's tells nothing, and
    # the samples speak instead.
    if usage.ru_maxrss > own_peak:
        peak = max(peak, usage.ru_maxrss * 1024)
    _write(
        target,
        True,
        started,
        ended,
        time.monotonic() - start,
        usage.ru_utime,
        usage.ru_stime,
        peak,
        exit_code,
        interval,
        samples,
    )
    if code < 0:
        _die_of(-code)
    return exit_code


def _die_of(signum: int) -> None:
    """End the way the child did: by its signal, with the default action."""
    # Not contextlib.suppress: importing contextlib costs more than the rest of the reaper.
    try:  # noqa: SIM105
        signal.signal(signum, signal.SIG_DFL)
    except (OSError, ValueError):  # SIGKILL, SIGSTOP: their default anyway
        pass
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
    os.kill(os.getpid(), signum)


def _own_peak_kib() -> int:
    """This process's resident high-water mark (VmHWM), in KiB; 0 when unknown."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _become_subreaper() -> None:
    """Adopt the tree's orphans. bwrap's outer process exits once its pid namespace's
    init has reported the command's exit, without waiting for that init: the init (whose
    counters hold the sandboxed command's) would be reparented away and its usage lost
    to us. As the subreaper, the reaper waits for it instead, and for any other orphan."""
    try:
        import ctypes  # only here: most of the reaper's start-up cost is this import

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        # Named as what it is in ps and /proc/<pid>/comm, not as one more python.
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(_NAME), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the direct child's tree only


def _reap(pid: int, status: int | None) -> int | None:
    """Reap every child that has exited (the command, adopted orphans); the command's
    wait status once it has exited, else `status` as it was."""
    while True:
        try:
            done, found, _ = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if done == 0:
            return status
        if done == pid:
            status = found


def _reap_orphans(deadline: float) -> None:
    """Wait for adopted orphans still running after the command (bwrap's init exits a
    moment after it), up to `deadline`: one that lives on (a daemon of an unsandboxed
    command) is left to init, its usage uncounted."""
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            done, _, _ = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if done == 0:
            signal.sigtimedwait([signal.SIGCHLD], min(remaining, 0.05))


def _tree_usage(root: int) -> tuple[float, float, int]:
    """User and system CPU seconds (own and reaped children's, of every live process of
    the tree) and summed resident bytes of the processes below `root` (the reaper), from
    /proc."""
    user = system = rss = 0
    pending, seen = _children(root), 0
    while pending and seen < _MAX_TREE:
        pid = pending.pop()
        seen += 1
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
            # Fields 14-17 (utime, stime, cutime, cstime) and 24 (rss), counted from 1;
            # the split starts at field 3.
            user += int(fields[11]) + int(fields[13])
            system += int(fields[12]) + int(fields[14])
            rss += int(fields[21]) * _PAGE
            pending.extend(_children(pid))
        except (OSError, ValueError, IndexError):
            continue  # it exited meanwhile; its time is in its parent's counters soon
    return user / _TICKS, system / _TICKS, rss


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", "rb") as children:
                found.extend(int(child) for child in children.read().split())
    except (OSError, ValueError):
        pass  # gone meanwhile
    return found


def _write(
    target: str,
    complete: bool,
    start_time: float,
    end_time: float,
    wall: float,
    user: float,
    system: float,
    peak: int,
    exit_code: int,
    interval: float,
    samples: list[list[float]],
) -> None:
    # JSON written by hand: every value is a bool or a finite number, and the json
    # module (with re) would double the reaper's start-up time.
    series = ",".join(f"[{t!r},{cpu!r},{int(rss)}]" for t, cpu, rss in samples)
    record = (
        f'{{"complete":{"true" if complete else "false"},"start_time":{start_time!r},'
        f'"end_time":{end_time!r},"wall_seconds":{wall!r},"user_seconds":{user!r},'
        f'"system_seconds":{system!r},"peak_rss_bytes":{int(peak)},'
        f'"exit_code":{int(exit_code)},"sample_interval":{interval!r},"samples":[{series}]}}'
    )
    temporary = f"{target}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(record)
        os.replace(temporary, target)
    except OSError:
        pass  # the figures are a report; never fail the command over them


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
