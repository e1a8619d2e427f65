"""The blocking client is generated from the asyncio one, and the two offer the same calls."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dagwire.client import (
    AsyncDagwireClient,
    AsyncJobHandle,
    AsyncRunHandle,
    DagwireClient,
    JobHandle,
    RunHandle,
    _unasync,
)

SCRIPT = Path(_unasync.__file__)
TWINS = [
    pytest.param(AsyncDagwireClient, DagwireClient, id="client"),
    pytest.param(AsyncJobHandle, JobHandle, id="job-handle"),
    pytest.param(AsyncRunHandle, RunHandle, id="run-handle"),
]
# The context-manager protocol is the one place where the two spell a method differently.
PROTOCOL = {"__aenter__": "__enter__", "__aexit__": "__exit__"}


def _public(cls: type) -> dict[str, object]:
    return {
        PROTOCOL.get(name, name): member
        for name, member in vars(cls).items()
        if not name.startswith("_") or name in {"__init__", *PROTOCOL, *PROTOCOL.values()}
    }


def _unasync_annotation(annotation: object) -> object:
    """AsyncX is X (AsyncIterator -> Iterator, AsyncJobHandle -> JobHandle)."""
    if isinstance(annotation, str):
        return re.sub(r"\bAsync(\w+)", r"\1", annotation)
    return annotation


def _shape(function: object) -> tuple[object, ...]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return (
        tuple(
            (p.name, p.kind, p.default, _unasync_annotation(p.annotation))
            for p in signature.parameters.values()
        ),
        _unasync_annotation(signature.return_annotation),
    )


def test_the_sync_client_is_exactly_the_output_of_unasync() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_unasync_check_fails_and_shows_the_diff_when_the_sync_client_was_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = tmp_path / "_sync.py"
    edited.write_text(_unasync.TARGET.read_text().replace("def get_job(", "def fetch_job("))
    monkeypatch.setattr(_unasync, "TARGET", edited)

    assert _unasync.main(["--check"]) == 1
    assert "-    def get_job(" in capsys.readouterr().err
    assert "def fetch_job(" in edited.read_text()  # --check writes nothing


def test_unasync_refuses_async_code_that_survives_the_substitutions() -> None:
    with pytest.raises(ValueError, match="'asyncio' survived"):
        _unasync.unasync("import asyncio.locks\n")


@pytest.mark.parametrize(("async_cls", "sync_cls"), TWINS)
def test_the_twins_have_the_same_public_methods(async_cls: type, sync_cls: type) -> None:
    assert sorted(_public(async_cls)) == sorted(_public(sync_cls))


@pytest.mark.parametrize(("async_cls", "sync_cls"), TWINS)
def test_each_public_method_has_the_same_signature_in_both_twins(
    async_cls: type, sync_cls: type
) -> None:
    sync_methods = _public(sync_cls)
    for name, method in _public(async_cls).items():
        assert _shape(method) == _shape(sync_methods[name]), name


@pytest.mark.parametrize(("async_cls", "sync_cls"), TWINS)
def test_what_the_async_twin_awaits_the_sync_twin_returns(async_cls: type, sync_cls: type) -> None:
    sync_methods = _public(sync_cls)
    for name, method in _public(async_cls).items():
        twin = sync_methods[name]
        if inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method):
            assert not inspect.iscoroutinefunction(twin), name
            assert not inspect.isasyncgenfunction(twin), name
            assert inspect.isgeneratorfunction(twin) == inspect.isasyncgenfunction(method), name
