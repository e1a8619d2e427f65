"""The sandbox every tenant process runs in: bubblewrap (`bwrap`) plus resource limits.

`sandbox_argv` is a pure function from what the operator decided once (SandboxPolicy) and
what one process needs (SandboxSpec) to the argv that runs a command inside the sandbox,
so the local executor and the Ray worker build the same sandbox. Inside it the process has
its own mount, pid, ipc, uts, cgroup and network namespaces (the network only when the
image asks and the operator allows it), sees the host file system read-only, a private
/tmp, no trace of the server's data dir (store, token files, other tasks' files), writes
only its own work directory and its declared outputs, holds no capabilities, and runs
under prlimit's limits on processes, address space, CPU time and file size.

bwrap is Debian's `bubblewrap` package; prlimit comes with util-linux. `probe` tries both
once at start: a server without a working sandbox refuses tenants' free `command:` steps
unless the operator starts it with --unsandboxed.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dagwire.server.executors.base import Mount

# How a user installs the sandbox where the project's set-up cannot (not root).
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install "
    "bubblewrap) and make sure unprivileged user namespaces are enabled "
    "(sysctl kernel.unprivileged_userns_clone=1 where that knob exists)"
)
# Environment variables a sandboxed process inherits from the server; nothing else of the
# server's environment (credentials, database URLs) reaches tenant code.
INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH")
HOSTNAME = "dagwire-sandbox"
# Every namespace but the user's (see SandboxPolicy.user).
_NAMESPACES = ("--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try")
_PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-process resource limits (prlimit); RLIMIT_NPROC counts the processes of the
    sandbox's user, so it bounds fork bombs of unprivileged users (root is exempt)."""

    processes: int = 1024
    memory_bytes: int = 4 << 30  # address space
    cpu_seconds: int = 3600  # per core the party asks for
    file_bytes: int = 8 << 30  # the largest file it may write

    def for_resources(self, resources: Mapping[str, str]) -> Limits:
        """These limits adjusted to a party's Kuscia resources: `memory` is the address
        space, `cpu` (cores) scales the CPU-time budget."""
        limits = self
        memory = resources.get("memory", "").strip()
        if memory:
            limits = replace(limits, memory_bytes=max(1 << 20, int(quantity(memory, "memory"))))
        cpu = resources.get("cpu", "").strip()
        if cpu:
            cores = quantity(cpu, "cpu")
            limits = replace(limits, cpu_seconds=max(1, math.ceil(self.cpu_seconds * cores)))
        return limits

    def prlimit_args(self) -> list[str]:
        return [
            f"--nproc={self.processes}",
            f"--as={self.memory_bytes}",
            f"--cpu={self.cpu_seconds}",
            f"--fsize={self.file_bytes}",
        ]


@dataclass(frozen=True, slots=True)
class SandboxPolicy:
    """What the operator decides once for every sandbox of this server."""

    bwrap: str = "bwrap"
    prlimit: str = "prlimit"
    # Invisible inside (an empty tmpfs over each): the data dir.
    hidden_dirs: tuple[Path, ...] = ()
    # Replaced by an unreadable /dev/null inside: token file, TLS key.
    hidden_files: tuple[Path, ...] = ()
    # Read-only inside even where the private /tmp would cover them: what the built-in
    # app images run (this server's interpreter, its virtualenv, dagwire's own code).
    runtime: tuple[Path, ...] = field(default_factory=lambda: server_runtime())
    # Host paths the operator lets every sandbox read, even under /tmp.
    shared_readable: tuple[Path, ...] = ()
    # Host paths the operator shares read-write with every sandbox (the data dir stays
    # hidden even below one of them).
    shared_writable: tuple[Path, ...] = ()
    allow_network: bool = False
    limits: Limits = field(default_factory=Limits)
    # (uid, gid) the process runs as, for a server running as root (--sandbox-user):
    # root, even without capabilities, owns the host's root-only files and is exempt from
    # the process limit. None: the server's own user.
    user: tuple[int, int] | None = None
    setpriv: str = "setpriv"


@dataclass(frozen=True, slots=True)
class HostEntry:
    """One entry of a host folder the sandbox re-creates (see `opened_folders`): shown
    read-only as it is, or as the same symlink."""

    name: str
    link: str | None = None  # a symlink's target, else None


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """One process's sandbox: its work directory (also its cwd), what else it reads and
    writes, whether it asks for the network, and its limits."""

    workdir: Path
    readonly: tuple[Path, ...] = ()
    writable: tuple[Path, ...] = ()
    network: bool = False
    limits: Limits = field(default_factory=Limits)
    # Where nothing recovers a process after its launcher is gone (a Ray worker), the
    # sandbox dies with its bwrap; the local executor's parties outlive a server restart.
    die_with_parent: bool = False
    # Folders bound at other paths, and the host folders that must be re-created as a
    # tmpfs holding their entries so that a mount's missing target can be made there
    # (the host is bound read-only: nothing can be made in it). See opened_folders.
    mounts: tuple[Mount, ...] = ()
    opened: Mapping[Path, tuple[HostEntry, ...]] = field(default_factory=dict)


def sandbox_argv(policy: SandboxPolicy, spec: SandboxSpec, command: Sequence[str]) -> list[str]:
    """The argv running `command` in the sandbox. Later mounts cover earlier ones, so
    the order is: read-only host, private /tmp, the server's runtime and the
    operator's read-only shares, the operator's writable shares, the hidden data dir and
    secrets, then this process's own paths inside the hidden data dir."""
    if policy.user is None:
        argv = [policy.bwrap, "--unshare-all"]
        if spec.network and policy.allow_network:
            argv.append("--share-net")
    else:
        # No user namespace: the uid switch inside must be a real one on the host.
        argv = [policy.bwrap, *_NAMESPACES]
        if not (spec.network and policy.allow_network):
            argv.append("--unshare-net")
    mounts = _Mounts()
    root = Path("/")
    if root in spec.opened:  # bwrap's own root is a tmpfs: the host's entries on it
        mounts.note_tmpfs(root)
        argv += _entries(mounts, root, spec.opened[root])
    else:
        argv += ["--ro-bind", "/", "/"]
    argv += ["--dev", "/dev", "--proc", "/proc"]
    for folder, entries in spec.opened.items():
        if folder != root:
            argv += mounts.tmpfs(folder) + _entries(mounts, folder, entries)
    argv += mounts.tmpfs(Path("/tmp"))
    for path in (*policy.runtime, *policy.shared_readable):
        argv += mounts.bind("--ro-bind-try", path)
    for path in policy.shared_writable:
        argv += mounts.bind("--bind-try", path)
    for path in policy.hidden_dirs:
        argv += mounts.tmpfs(path)
    for path in policy.hidden_files:
        argv += ["--ro-bind-try", "/dev/null", str(path)]
    for path in spec.readonly:
        argv += mounts.bind("--ro-bind-try", path)
    argv += mounts.bind("--bind", spec.workdir)
    for path in spec.writable:
        argv += mounts.bind("--bind-try", path)
    for mount in spec.mounts:
        option = "--ro-bind" if mount.read_only else "--bind"
        argv += mounts.bind(option, Path(mount.source), Path(mount.target))
    for folder in spec.opened:  # the re-created folders stay as read-only as the host
        argv += ["--remount-ro", str(folder)]
    argv += ["--chdir", str(spec.workdir), "--hostname", HOSTNAME]
    if policy.user is None:
        argv += ["--cap-drop", "ALL"]
    else:
        # setpriv needs CAP_SETUID/CAP_SETGID for the switch, which clears every other.
        argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    if spec.die_with_parent:
        argv.append("--die-with-parent")
    # No --new-session: the sandbox stays in the launcher's process group, which is how
    # the executor signals the whole party.
    argv.append("--")
    if policy.user is not None:
        uid, gid = policy.user
        argv += [
            policy.setpriv,
            f"--reuid={uid}",
            f"--regid={gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
        ]
    argv += [policy.prlimit, *spec.limits.prlimit_args(), "--", *command]
    return argv


def server_runtime() -> tuple[Path, ...]:
    """What a built-in app image needs to run as the server does: the interpreter's
    installation, the virtualenv, and the folders dagwire's code loads from (an editable
    install runs it from the checkout). A checkout or virtualenv under /tmp would
    otherwise vanish behind the sandbox's private /tmp."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent}
    # This package's folder (dagwire.server), and the top `dagwire` package's (the
    # generated code), which loads first: found loaded, not imported from here.
    paths.add(Path(__file__).resolve().parents[1])
    top = sys.modules.get("dagwire")
    if top is not None and top.__file__ is not None:
        paths.add(Path(top.__file__).resolve().parent)
    return tuple(sorted(paths))


class _Mounts:
    """The mounts of one argv, in order. A bind below a tmpfs needs its parent folders
    made there first: bwrap would make them itself, but mode 0700 (root's), which a
    sandbox user could not pass through; they are made 0755 instead."""

    def __init__(self) -> None:
        self._tmpfs: list[Path] = []
        self._bound: list[Path] = []
        self._made: set[Path] = set()

    def tmpfs(self, path: Path) -> list[str]:
        self._tmpfs.append(path)
        return ["--tmpfs", str(path)]

    def note_tmpfs(self, path: Path) -> None:
        """`path` is a tmpfs made otherwise (bwrap's root)."""
        self._tmpfs.append(path)

    def bind(self, option: str, path: Path, target: Path | None = None) -> list[str]:
        """Bind host `path` at `target` (default: the same path)."""
        source, path = path, target or path
        argv: list[str] = []
        # The deepest mount holding `path` decides: below a bind, the host's folders show.
        holders = [m for m in (*self._tmpfs, *self._bound) if path.is_relative_to(m) and m != path]
        deepest = max(holders, key=lambda m: len(m.parts), default=None)
        if deepest is not None and deepest in self._tmpfs:
            for parent in reversed(path.parents):
                if (
                    parent.is_relative_to(deepest)
                    and parent != deepest
                    and parent not in self._made
                ):
                    self._made.add(parent)
                    argv += ["--perms", "0755", "--dir", str(parent)]
        self._bound.append(path)
        return [*argv, option, str(source), str(path)]


def _entries(mounts: _Mounts, folder: Path, entries: tuple[HostEntry, ...]) -> list[str]:
    """A re-created host folder's entries: each as it is on the host, read-only."""
    argv: list[str] = []
    for entry in entries:
        path = folder / entry.name
        if entry.link is not None:
            argv += ["--symlink", entry.link, str(path)]
        else:
            argv += mounts.bind("--ro-bind-try", path)
    return argv


# Never re-created: the sandbox makes its own /dev, /proc and /tmp.
_OWN_FOLDERS = frozenset({Path("/dev"), Path("/proc"), Path("/tmp")})


def opened_folders(
    targets: Sequence[Path], private: Sequence[Path] = ()
) -> dict[Path, tuple[HostEntry, ...]]:
    """The host folders to re-create so that each missing `target` can be made: the
    deepest existing folder above it, with its entries (reads the host file system).
    Targets that exist, or lie below a folder the sandbox makes private anyway (its
    /tmp, the hidden data dir: `private`), need none. ValueError for a target that
    cannot be a mount point (relative, the root, below /dev or /proc, below a symlink)."""
    opened: dict[Path, tuple[HostEntry, ...]] = {}
    for target in targets:
        if not target.is_absolute() or target == Path("/") or ".." in target.parts:
            raise ValueError(f"cannot mount at {str(target)!r}")
        if any(target.is_relative_to(own) for own in (Path("/dev"), Path("/proc"))):
            raise ValueError(f"cannot mount at {str(target)!r}: the sandbox makes its own")
        if any(target.is_relative_to(p) for p in (Path("/tmp"), *private)):
            continue
        if target.is_dir() and not target.is_symlink():
            continue
        folder = Path("/")
        for part in target.parts[1:]:
            child = folder / part
            if child.is_symlink() or (child.exists() and not child.is_dir()):
                raise ValueError(f"cannot mount at {str(target)!r}: {str(child)!r} is no folder")
            if not child.exists():
                break
            folder = child
        if folder not in opened:
            opened[folder] = _host_entries(folder)
    return opened


def _host_entries(folder: Path) -> tuple[HostEntry, ...]:
    entries = []
    for name in sorted(os.listdir(folder)):
        path = folder / name
        if path in _OWN_FOLDERS:
            continue
        entries.append(HostEntry(name, os.readlink(path) if path.is_symlink() else None))
    return tuple(entries)


def hand_over(policy: SandboxPolicy, paths: Sequence[Path]) -> None:
    """Make the directories a sandboxed process writes its own, when it runs as the
    sandbox user (the server created them as root)."""
    if policy.user is None:
        return
    uid, gid = policy.user
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            os.chown(path, uid, gid)


def sandbox_env(base: Mapping[str, str], workdir: Path) -> dict[str, str]:
    """What a sandboxed process starts with from the server's environment `base`."""
    env = {name: base[name] for name in INHERITED_ENV if name in base}
    env.setdefault("PATH", os.defpath)
    return {**env, "HOME": str(workdir), "TMPDIR": "/tmp"}


def probe(policy: SandboxPolicy) -> str | None:
    """Run `true` in a sandbox of this policy; None when it works, else why not."""
    bwrap, prlimit = shutil.which(policy.bwrap), shutil.which(policy.prlimit)
    if bwrap is None:
        return f"{policy.bwrap} not found; {INSTALL_HINT}"
    if prlimit is None:
        return f"{policy.prlimit} not found; install util-linux"
    if policy.user is not None and os.geteuid() != 0:
        return "a sandbox user (--sandbox-user) needs a server running as root"
    if policy.user is not None and shutil.which(policy.setpriv) is None:
        return f"{policy.setpriv} not found; install util-linux"
    ready = replace(policy, bwrap=bwrap, prlimit=prlimit)
    argv = sandbox_argv(ready, SandboxSpec(workdir=Path("/tmp")), ["true"])
    try:
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{bwrap} did not run: {error}; {INSTALL_HINT}"
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace").strip()[:200]
        return f"{bwrap} failed (exit {result.returncode}: {stderr}); {INSTALL_HINT}"
    return None


def resolved(policy: SandboxPolicy) -> SandboxPolicy:
    """The policy with absolute tool paths and real host paths (a mount needs the real
    path: hiding a symlink to the data dir would hide nothing)."""
    return replace(
        policy,
        bwrap=shutil.which(policy.bwrap) or policy.bwrap,
        prlimit=shutil.which(policy.prlimit) or policy.prlimit,
        setpriv=shutil.which(policy.setpriv) or policy.setpriv,
        hidden_dirs=tuple(p.resolve() for p in policy.hidden_dirs),
        hidden_files=tuple(p.resolve() for p in policy.hidden_files),
        shared_writable=tuple(p.resolve() for p in policy.shared_writable),
    )


_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(m|k|K|M|G|T|Ki|Mi|Gi|Ti)?$")
_SUFFIXES: Mapping[str | None, float] = {
    None: 1.0,
    "m": 1e-3,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


def quantity(text: str, name: str) -> float:
    """A Kubernetes quantity ("2", "500m", "1Gi") as a number."""
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"resource {name} {text!r} is not a quantity such as 2, 500m or 1Gi")
    return float(match.group(1)) * _SUFFIXES[match.group(2)]
