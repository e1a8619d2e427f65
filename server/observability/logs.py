"""Log lines of bounded size: nothing a caller sends can make one line large.

A traceback is rendered plainly: structlog's default console renderer, with rich
installed, prints every local of every frame (`show_locals`), so an error while handling
a request printed the whole request (300k job ids: 60 MB of log). Values and rendered
tracebacks are cut to a few kilobytes besides, whatever they hold.
"""

from __future__ import annotations

import io
from typing import Any

import structlog
from structlog.typing import EventDict, ExcInfo, WrappedLogger

from dagwire.server.engine.quoting import shortened

# The most characters of one logged value, and of one rendered traceback.
MAX_VALUE_CHARS = 2_000
MAX_TRACEBACK_CHARS = 20_000


def bounded_values(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Cut every long string value (the event included) to MAX_VALUE_CHARS."""
    for key, value in event.items():
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            event[key] = shortened(value, MAX_VALUE_CHARS) + f" ({len(value)} characters)"
    return event


def plain_traceback(sio: io.TextIOBase | Any, exc_info: ExcInfo) -> None:
    """The standard library's traceback, without locals, cut to MAX_TRACEBACK_CHARS."""
    buffer = io.StringIO()
    structlog.dev.plain_traceback(buffer, exc_info)
    sio.write(shortened(buffer.getvalue(), MAX_TRACEBACK_CHARS))


def console_renderer() -> structlog.dev.ConsoleRenderer:
    return structlog.dev.ConsoleRenderer(colors=False, exception_formatter=plain_traceback)
