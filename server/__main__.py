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
    if config.workers > 1:
        # The supervisor of the API workers, each this program with --workers 1.
        from dagwire.server.workers import supervise

        try:
            sys.exit(asyncio.run(supervise(config, sys.argv[1:] if argv is None else argv)))
        except ListenError as error:
            print(f"dagwire: {error}", file=sys.stderr)
            sys.exit(2)
    # Everything imported so far lives as long as the process: take it out of the
    # collector's view, and collect young objects less often. Full collections over a
    # large heap were what made slow watch deliveries (the p99) in the benchmarks.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        asyncio.run(serve(config))
    except ListenError as error:
        # A usage error, like a bad flag: one line and exit status 2, no traceback.
        print(f"dagwire: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
