"""Writes the blocking client (``client/_sync.py``) from the asyncio one (``client/_async.py``).

The async client is the only one written by hand; this script derives its twin by token
substitution, as httpcore's ``scripts/unasync.py`` does::

    python client/_unasync.py           # rewrite client/_sync.py
    python client/_unasync.py --check   # exit 1 when client/_sync.py is not its output

``_async.py`` is written so that every substitution below gives correct, lint-clean sync
code: no other edits are made, so a change to the sync client is a change to the async
one (or to this table).
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "_async.py"
TARGET = HERE / "_sync.py"

HEADER = "# Generated from _async.py by _unasync.py (edit those, then run it): do not edit.\n"

# (pattern, replacement), applied in order to the whole text. Patterns on names match whole
# words only, so that e.g. ``AsyncDagwireClient`` and ``asyncio`` are not cut in half.
SUBSTITUTIONS: Sequence[tuple[str, str]] = (
    # The module docstring and the imports that differ.
    (r"^\"\"\"The asyncio client", '"""The blocking client'),
    (r"^import asyncio\nimport functools\n", "import functools\nimport time\n"),
    (
        r"^from collections\.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping$",
        "from collections.abc import Callable, Generator, Iterable, Iterator, Mapping",
    ),
    (r"\baclosing\b", "closing"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\bgrpc\.aio\.", "grpc."),
    # grpc.aio's Channel.close takes the grace period the blocking one lacks.
    (r"\.close\(grace=None\)", ".close()"),
    # ``[async] for x in y: yield x`` is how an async generator says ``yield from y``.
    (r"(?:async )?for (\w+) in (\w+):\n\s+yield \1\n", r"yield from \2\n"),
    # The keywords.
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\bawait ", ""),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    # Names: AsyncX is X.
    (r"\bAsyncGenerator\b", "Generator"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsync(DagwireClient|JobHandle|RunHandle)\b", r"\1"),
    # Words in docstrings that only the async twin needs.
    (r"``async with``", "``with``"),
    (r"\basyncio client\b", "blocking client"),
    # Lint waivers that only async code needs (a ``timeout`` argument, kept for parity).
    (r"  # noqa: ASYNC\d+[^\n]*", ""),
)


def unasync(text: str) -> str:
    """The sync twin of the async client's source."""
    for pattern, replacement in SUBSTITUTIONS:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    leftover = re.search(r"\b(async|await|asyncio|aio|Async\w*)\b", text)
    if leftover:
        line = text.count("\n", 0, leftover.start()) + 1
        raise ValueError(f"_sync.py line {line}: {leftover.group()!r} survived the substitutions")
    return HEADER + text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="fail (exit 1) when _sync.py differs; write nothing"
    )
    args = parser.parse_args(argv)
    expected = unasync(SOURCE.read_text(encoding="utf-8"))
    actual = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if not args.check:
        if actual != expected:
            TARGET.write_text(expected, encoding="utf-8")
            print(f"wrote {TARGET.name}")
        return 0
    if actual == expected:
        return 0
    diff = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        f"{TARGET.name} (generated)",
        f"{TARGET.name} (on disk)",
    )
    sys.stderr.writelines(diff)
    print(
        f"{TARGET.name} is not generated from {SOURCE.name}: run `python client/_unasync.py`",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
