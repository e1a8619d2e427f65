"""Helpers for the executor tests: report collection, launches and images."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from dagwire.server.executors.base import (
    ClusterParty,
    ExecutorReport,
    PartyExited,
    PartyKey,
    PartyLaunch,
    PartyProgress,
)
from dagwire.server.executors.images import AppImage
from dagwire.server.executors.local import LocalExecutor
from tests.eventually import assert_eventually

PARTIES = (ClusterParty("alice", "host"), ClusterParty("bob", "guest"))


class Reports:
    """A report sink that records what it is given."""

    def __init__(self) -> None:
        self.items: list[ExecutorReport] = []

    def __call__(self, report: ExecutorReport) -> None:
        self.items.append(report)

    def of(self, key: PartyKey) -> list[ExecutorReport]:
        return [report for report in self.items if report.key == key]

    def progress_of(self, key: PartyKey) -> list[float]:
        return [r.progress for r in self.of(key) if isinstance(r, PartyProgress)]

    def exits_of(self, key: PartyKey) -> list[PartyExited]:
        return [r for r in self.of(key) if isinstance(r, PartyExited)]

    async def exited(self, key: PartyKey, within: float = 10.0) -> PartyExited:
        await assert_eventually(lambda: self.exits_of(key), timeout=within, what=f"{key} to exit")
        return self.exits_of(key)[0]


def make_launch(
    app_image: str,
    *,
    config: str = "",
    task_id: str = "task-1",
    domain_id: str = "alice",
    role: str = "host",
    attempt: int = 0,
) -> PartyLaunch:
    return PartyLaunch(
        key=PartyKey("job-1", task_id, domain_id, attempt),
        app_image=app_image,
        role=role,
        task_alias=f"alias-of-{task_id}",
        task_input_config=config,
        parties=PARTIES,
        resources={"cpu": "1"},
        custom_fields={"team": "blue"},
    )


def shell_image(name: str, script: str, **env: str) -> AppImage:
    return AppImage(name=name, command=("/bin/sh", "-c", script, "sh"), env=env)


def python_image(name: str, code: str) -> AppImage:
    return AppImage(name=name, command=(sys.executable, "-c", code))


def read_log(executor: LocalExecutor, key: PartyKey) -> str:
    return Path(executor.log_path(key)).read_text()


async def logged_number(read: Callable[[], str], word: str, within: float = 30.0) -> int:
    """The number on the first whole log line `<word> <number>`, once it is written.

    Polling for the word alone can read the line half-written, and a runtime such
    as Ray may log lines of its own that contain the word.
    """
    line = re.compile(rf"^{re.escape(word)} (\d+)$", re.MULTILINE)
    await assert_eventually(
        lambda: line.search(read()) is not None, timeout=within, what=f"{line.pattern!r}"
    )
    found = line.search(read())
    assert found is not None
    return int(found.group(1))


def files_under(root: Path) -> list[Path]:
    return sorted(root.rglob("*")) if root.exists() else []


def is_running(pid: int) -> bool:
    """Whether pid exists and is not a zombie (orphans are not reaped in every sandbox)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except (ProcessLookupError, FileNotFoundError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
