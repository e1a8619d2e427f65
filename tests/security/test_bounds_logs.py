"""Log lines stay small whatever a caller sent: no traceback renders locals (structlog's
console default with rich printed every local of every frame, so one failed
300k-id query wrote 60 MB), a traceback is cut to a few kilobytes, and so is any value.
The 300k-id query itself is in test_bounds_batch_query (a real process's log)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

import structlog

from dagwire.server.app import configure_logging
from dagwire.server.observability.logs import MAX_TRACEBACK_CHARS, MAX_VALUE_CHARS

LOCAL_MARKER = "a-local-variable-of-the-failing-frame"


def failure_with_large_locals() -> tuple[type[BaseException], BaseException, TracebackType]:
    def handler(job_ids: list[str]) -> None:
        marker = LOCAL_MARKER
        raise RuntimeError(f"too many SQL variables in {marker[:0]}" + "?, " * 300_000)

    try:
        handler([f"job-{index}" for index in range(300_000)])
    except RuntimeError:
        kind, error, traceback = sys.exc_info()
        assert kind is not None and error is not None and traceback is not None
        return kind, error, traceback
    raise AssertionError("handler did not raise")


def rendered(event: dict[str, Any]) -> str:
    """The line the server's configured console pipeline writes for `event`."""
    configure_logging("console")
    for processor in structlog.get_config()["processors"]:
        event = processor(None, "error", event)
    assert isinstance(event, str)
    return event


def test_a_logged_exception_shows_no_locals_and_is_cut() -> None:
    line = rendered({"event": "unexpected error", "exc_info": failure_with_large_locals()})
    assert "RuntimeError: too many SQL variables" in line
    assert LOCAL_MARKER not in line
    assert "job-299999" not in line
    assert len(line) < MAX_TRACEBACK_CHARS + 1_000


def test_a_huge_logged_value_is_cut_saying_how_long_it_was() -> None:
    line = rendered({"event": "launch failed", "error": "e" * 5_000_000})
    assert len(line) < MAX_VALUE_CHARS + 500
    assert "(5000000 characters)" in line
