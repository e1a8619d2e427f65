"""Quoting caller values in error messages and logs, at a bounded size and cost.

An error that quotes what the caller sent must not grow with it: a value may be a
megabyte string or, from YAML, a nested structure of millions of elements. `quoted`
shows at most about QUOTE_LIMIT characters and never walks more than a few levels or
elements of a container, so quoting costs the same whatever the caller sent.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable

QUOTE_LIMIT = 200
_ELLIPSIS = "..."


def _repr_limits() -> reprlib.Repr:
    limits = reprlib.Repr()
    limits.maxlevel = 2
    limits.maxstring = QUOTE_LIMIT
    limits.maxlong = 40
    limits.maxother = QUOTE_LIMIT
    for attribute in ("maxtuple", "maxlist", "maxdict", "maxset", "maxfrozenset", "maxdeque"):
        setattr(limits, attribute, 8)
    return limits


_REPR = _repr_limits()


def quoted(value: object) -> str:
    """repr(value), cut to about QUOTE_LIMIT characters (a cut ends in '...' and says
    how long a string was)."""
    try:
        text = _REPR.repr(value)
    except (ValueError, RecursionError):  # e.g. an int too long to convert to text
        return f"<{type(value).__name__} too large to show>"
    if isinstance(value, str) and len(value) > QUOTE_LIMIT:
        return f"{text} ({len(value)} characters)"
    return shortened(text)


def shortened(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` if it is at most `limit` characters, else its start and '...'."""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(_ELLIPSIS), 0)] + _ELLIPSIS


def quoted_list(values: Iterable[object], limit: int = 10) -> str:
    """Comma-separated names, at most `limit` of them, then how many more there are."""
    items = list(values)
    shown = ", ".join(shortened(str(item), 80) for item in items[:limit])
    rest = len(items) - limit
    return f"{shown} (and {rest} more)" if rest > 0 else shown
