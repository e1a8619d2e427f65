"""Waiting in tests, the one way: poll a probe until its value is accepted, and fail
with what was awaited and the last value seen. For a state reached through a real
channel or process, where no event says when; a test that can wait on an event (a
watch, a stream, a future) waits on that instead.

`assert_eventually` serves async tests (its probe may be sync or async);
`assert_eventually_sync` the tests of the sync client, which run no event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
DEFAULT_INTERVAL = 0.05
# A failure shows the last value seen, cut to this many characters.
SHOWN = 3000


async def assert_eventually(
    probe: Callable[[], Awaitable[T]] | Callable[[], T],
    accept: Callable[[T], object] = bool,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    what: str = "the condition",
) -> T:
    """Call `probe` (awaiting it when it returns an awaitable) until `accept` holds for
    its value (by default: the value is truthy); return that value. Fail after `timeout`
    seconds naming `what` and the last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value: Any = probe()
        if inspect.isawaitable(value):
            value = await value
        if accept(value):
            return value  # type: ignore[no-any-return]
        if loop.time() >= deadline:
            raise AssertionError(_gave_up(what, timeout, value))
        await asyncio.sleep(interval)


def assert_eventually_sync(
    probe: Callable[[], T],
    accept: Callable[[T], object] = bool,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    what: str = "the condition",
) -> T:
    """assert_eventually for code without an event loop (the sync client's tests)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if accept(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_gave_up(what, timeout, value))
        time.sleep(interval)


def _gave_up(what: str, timeout: float, value: object) -> str:
    return f"gave up waiting {timeout} s for {what}; last value: {value!r}"[:SHOWN]
