"""A run's spec read from a file system by its path (PaddleFlow's runYamlPath): the
file at `path` below the folder of the run's main file system.

The folder may hold what a tenant's steps wrote, symbolic links included, and the
server reads it with its own rights: every part of the path is opened relative to the
one before with O_NOFOLLOW, so that no link leads the read out of the folder, and only a
regular file of at most MAX_YAML_BYTES is read."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from dagwire.server.workflow.errors import InvalidArgument
from dagwire.server.workflow.spec import MAX_YAML_BYTES

FIELD = "run_yaml_path"


def spec_parts(path: str, field_name: str = FIELD) -> list[str]:
    """The path's parts below the folder; InvalidArgument for an empty path or `..`."""
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if not parts or ".." in parts or len(path) > 4096:
        raise InvalidArgument.of(field_name, "a relative path below the file system, without ..")
    return parts


def read_spec(folder: Path, path: str, field_name: str = FIELD) -> str:
    """The text of `folder`/`path` (blocking: run it in a thread); InvalidArgument on
    `field_name` says why there is none."""
    parts = spec_parts(path, field_name)
    try:
        directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        raise InvalidArgument.of(
            field_name, f"{path}: the file system holds no such file"
        ) from None
    try:
        for part in parts[:-1]:
            below = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=directory)
            os.close(directory)
            directory = below
        descriptor = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory)
    except OSError as error:
        raise InvalidArgument.of(field_name, f"{path}: {_why(error)}") from None
    finally:
        os.close(directory)
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise InvalidArgument.of(field_name, f"{path}: not a regular file")
        data = file.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        raise InvalidArgument.of(field_name, f"{path}: the spec exceeds {MAX_YAML_BYTES} bytes")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise InvalidArgument.of(field_name, f"{path}: not UTF-8 text") from None


def _why(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a part of the path is a symbolic link, which the server does not follow"
    if error.errno == errno.ENOTDIR:
        return "a part of the path is not a folder (or is a symbolic link)"
    return "the file system holds no such file"
