"""Where a step's file systems are on the host, and what its sandbox sees of them.

A file system named in `fs_options` (or the run's fs_name) is a folder the server
manages: `<fs dir>/<owner domain>/<name>`, the fs dir being the operator's choice
(--fs-dir, default `<data dir>/fs`). A run sees only its owner's file systems. As in
PaddleFlow, a step starts in its main file system (else in its first extra one): the
command is prefixed with a `cd` there, unless its env says `PF_MOUNT_PATH: NONE`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dagwire.server.engine.names import path_below

# The owner folder of an operator's file systems: a domain name never starts with "_".
OPERATOR_FOLDER = "_operator"
NO_CHDIR = "NONE"


@dataclass(frozen=True, slots=True)
class StepMounts:
    """The host folders a step sees: where it starts, what it may read and write, and
    which it also sees at their mount_path (host folder, path inside, read-only)."""

    cwd: str = ""
    readable: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    binds: tuple[tuple[str, str, bool], ...] = ()


def fs_path(fs_dir: Path, owner: str, reference: str) -> Path:
    """The host folder of `name` or `name/sub/path` of `owner`; ValueError if a part
    cannot name a folder (the spec was checked; a stored config is re-checked here)."""
    return path_below(fs_dir, owner or OPERATOR_FOLDER, *reference.split("/"))


def step_mounts(
    fs_dir: Path,
    owner: str,
    main_fs: str,
    extra_fs: Sequence[str],
    read_only: Sequence[bool],
    mount_path_env: str,
    mount_paths: Sequence[str] = (),
    located: Mapping[str, Path] | None = None,
) -> StepMounts:
    """The step's folders, made when missing (a new file system starts empty).
    `mount_paths` (the main fs's, then each extra fs's; "" for none) are PaddleFlow's
    mount_path: given, the folder is bound there too (read-only as asked) and the main
    fs's is where the step starts. Only a sandbox can bind: without, pass none.
    `located` holds the folders of registered file systems (workflow.fs_registry); any
    other name is the server-managed folder."""
    known = located or {}

    def where(reference: str) -> Path:
        return known.get(reference) or fs_path(fs_dir, owner, reference)

    main = where(main_fs) if main_fs else None
    extras = [(where(ref), ro) for ref, ro in zip(extra_fs, read_only, strict=True)]
    for folder in [main, *(path for path, _ in extras)]:
        if folder is not None:
            os.makedirs(folder, exist_ok=True)
    writable = [str(main)] if main is not None else []
    writable += [str(path) for path, ro in extras if not ro]
    readable = tuple(str(path) for path, ro in extras if ro)
    folders: list[tuple[Path | None, bool]] = [(main, False), *extras]
    binds = tuple(
        (str(folder), target, ro)
        for (folder, ro), target in zip(folders, mount_paths, strict=False)
        if folder is not None and target
    )
    first = main if main is not None else (extras[0][0] if extras else None)
    inside = dict((source, target) for source, target, _ in binds)
    cwd = "" if first is None or mount_path_env == NO_CHDIR else inside.get(str(first), str(first))
    return StepMounts(cwd=cwd, readable=readable, writable=tuple(writable), binds=binds)


def in_directory(command: str, cwd: str) -> str:
    """`command` run from `cwd`, as PaddleFlow prefixes a step's command with a cd; a
    multi-line command stays one script."""
    if not cwd:
        return command
    return f"cd {shlex.quote(cwd)} || exit 1\n{command}"
