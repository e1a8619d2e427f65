"""A servicer context whose trailers accumulate instead of replacing one another.

grpc's `context.abort(code, details, trailing_metadata)` and `set_trailing_metadata`
replace whatever trailers were set before: an error with rich status details
(`grpc-status-details-bin`) would lose the request id set when the call began. The
context the interceptors hand to the handlers merges instead: a later value of a key
replaces an earlier value of that key only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn, cast

import grpc

from dagwire.server.rpc.handlers import Context

Metadata = Sequence[tuple[str, str | bytes]]


def merged(earlier: Metadata, later: Metadata) -> tuple[tuple[str, str | bytes], ...]:
    """`earlier` without the keys `later` sets, then `later`."""
    replaced = {key for key, _ in later}
    return (*((key, value) for key, value in earlier if key not in replaced), *later)


class MergingContext:
    """Delegates everything to the call's own context except the two methods that set
    trailers, which merge them with those set before."""

    def __init__(self, context: Context) -> None:
        self._context = context

    @classmethod
    def around(cls, context: Context) -> Context:
        """`context`, wrapped once however many interceptors ask."""
        if isinstance(context, MergingContext):
            return cast(Context, context)
        return cast(Context, cls(context))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def _earlier(self) -> Metadata:
        return tuple(self._context.trailing_metadata() or ())

    def set_trailing_metadata(self, trailing_metadata: Metadata) -> None:
        self._context.set_trailing_metadata(merged(self._earlier(), tuple(trailing_metadata)))

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Metadata = ()
    ) -> NoReturn:
        await self._context.abort(code, details, merged(self._earlier(), trailing_metadata))
        raise AssertionError("abort returned")  # pragma: no cover

    async def abort_with_status(self, status: grpc.Status) -> NoReturn:
        await self.abort(status.code, status.details, status.trailing_metadata)
