"""Fixtures for the SDK tests: Kuscia's documented job body, and small runnable jobs.

End-to-end tests use the `dagwire_server` fixture from tests/conftest.py (a real server on
a free port with a temporary SQLite store).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.client import scripted
from tests.client.scripted import ScriptedJobService

SEED_JOB_PATH = Path(__file__).parents[1] / "data" / "kuscia_create_job.json"


@pytest.fixture
def seed_job_text() -> str:
    """The JSON body of Kuscia's CreateJob curl example, byte for byte."""
    return SEED_JOB_PATH.read_text()


@pytest.fixture
def seed_job_body(seed_job_text: str) -> dict[str, Any]:
    return dict(json.loads(seed_job_text))


@pytest.fixture
def job_body(seed_job_body: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """Builds the seed job under a fresh id, with every task running `image` / `config`."""

    def build(image: str = "dagwire-sleep", config: Any = None, **overrides: Any) -> dict[str, Any]:
        body = copy.deepcopy(seed_job_body)
        body["job_id"] = f"job-{uuid.uuid4().hex[:12]}"
        for task in body["tasks"]:
            task["app_image"] = image
            task["task_input_config"] = json.dumps(
                {"sleep_seconds": 0.2} if config is None else config
            )
        body.update(overrides)
        return body

    return build


@pytest.fixture
def scripted_server() -> Iterator[ScriptedJobService]:
    with scripted.scripted_server() as service:
        yield service


@pytest.fixture(autouse=True)
def _fast_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dagwire.client._base.RECONNECT_INITIAL_DELAY", 0.01)
    monkeypatch.setattr("dagwire.client._base.RECONNECT_MAX_DELAY", 0.05)
