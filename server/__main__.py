"""`python -m dagwire.server`: run the server."""

from __future__ import annotations

import asyncio
import gc
import sys

from dagwire.server.app import configure_logging, serve
from dagwire.server.config import parse_args
from dagwire.server.ports import ListenError


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    configure_logging(config.log_format)
    # Everything imported so far lives as long as the process: take it out of the
    # collector's view, and collect young objects less often. Full collections over a
    # large heap were what made slow watch deliveries (the p99) in the benchmarks.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        asyncio.run(serve(config))
    except ListenError as error:
        # One line naming the address, no traceback: the operator's fix is obvious.
        print(f"dagwire: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
