"""Fixtures for the CLI tests: click's CliRunner in-process, against the real server from
the `dagwire_server` fixture (tests/conftest.py), and Kuscia's documented job body."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import CliRunner, Result

from dagwire.client.cli import main

SEED_JOB_PATH = Path(__file__).parents[1] / "data" / "kuscia_create_job.json"

Run = Callable[..., Result]


@pytest.fixture
def seed_job_file() -> Path:
    """Kuscia's CreateJob curl body, unchanged (app_image secretflow-image)."""
    return SEED_JOB_PATH


@pytest.fixture
def job_file(tmp_path: Path) -> Callable[..., Path]:
    """Writes the seed job with another id and app image / config to a JSON file."""

    def write(
        job_id: str, image: str = "dagwire-sleep", config: dict[str, Any] | None = None
    ) -> Path:
        body = json.loads(SEED_JOB_PATH.read_text())
        body["job_id"] = job_id
        for task in body["tasks"]:
            task["app_image"] = image
            task["task_input_config"] = json.dumps(config or {"sleep_seconds": 0.1})
        path = tmp_path / f"{job_id}.json"
        path.write_text(json.dumps(body))
        return path

    return write


@pytest.fixture
def cli(dagwire_server: Any) -> Iterator[Run]:
    """Runs `dagwire --target <server> ARGS...` in-process; stdout and stderr kept apart.

    The server shares this process, so its log lines are captured rather than printed
    into the CLI's stdout.
    """

    def run(*args: str, input: str | None = None, global_args: Sequence[str] = ()) -> Result:
        argv = ["--target", dagwire_server.address, *global_args, *args]
        return CliRunner().invoke(main, argv, input=input, catch_exceptions=False)

    with structlog.testing.capture_logs():
        yield run
