"""Identifiers that become names on disk: what a caller may choose, and what may name a
directory at all.

Job, task and party domain ids each become one directory level under the data dir
(data_dir/tasks/<job>/<task>/<domain>/<attempt>/), run ids and step names a level under
data_dir/artifacts. Checked at every entry point, and again wherever a stored id is
about to name a path, so that an id stored by an older, laxer version cannot reach
outside its directory either.
"""

from __future__ import annotations

import re
from pathlib import Path

from dagwire.server.engine.quoting import quoted

# Kuscia's check of job and domain ids (k8s validation.IsDNS1123Label, as job_service.go
# applies it): lowercase letters, digits, '-' and '.', starting and ending with a letter
# or digit, at most 63 characters.
DNS1123_LABEL_MAX = 63
DNS1123_LABEL_PATTERN = r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$"
_DNS1123_LABEL = re.compile(DNS1123_LABEL_PATTERN)
# What one path component may hold on the file systems we write to.
_MAX_COMPONENT_BYTES = 255


def is_dns1123_label(name: str) -> bool:
    """Whether `name` is a DNS-1123 label as Kuscia checks it."""
    return len(name) <= DNS1123_LABEL_MAX and _DNS1123_LABEL.match(name) is not None


def directory_name_problem(part: str) -> str | None:
    """Why `part` cannot be one directory level below a parent it must stay inside
    (None: it can). Refuses what would escape the parent or be a different directory
    ('', '.', '..', '/'), what the OS refuses (NUL, too long) and control characters,
    which no valid id holds and which make paths unreadable in logs."""
    if part in ("", ".", ".."):
        return "is empty, '.' or '..'"
    if "/" in part or "\\" in part:
        return "contains a path separator"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in part):
        return "contains a control character (NUL, newline, ...)"
    if len(part.encode("utf-8", "surrogatepass")) > _MAX_COMPONENT_BYTES:
        return f"is longer than {_MAX_COMPONENT_BYTES} bytes"
    return None


def path_below(parent: Path, *parts: str) -> Path:
    """parent/part/part/...: each part one directory level; ValueError naming the
    first part that cannot be one (see directory_name_problem)."""
    for part in parts:
        problem = directory_name_problem(part)
        if problem is not None:
            raise ValueError(f"{quoted(part)} cannot name a directory: it {problem}")
    return parent.joinpath(*parts)
