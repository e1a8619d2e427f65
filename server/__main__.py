"""`python -m dagwire.server`: run the server."""

from __future__ import annotations

import asyncio

from dagwire.server.app import configure_logging, serve
from dagwire.server.config import parse_args


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    configure_logging(config.log_format)
    asyncio.run(serve(config))


if __name__ == "__main__":
    main()
