"""The bare grpc.aio baseline: an echo service with generic handlers and no proto.

    python -m bench.echo --listen 127.0.0.1:0

`Unary` returns the request bytes unchanged. `Stream` takes a count (big-endian uint32)
followed by a payload and streams the payload back `count` times. Both carry raw bytes,
so what the baseline costs is gRPC itself: no decoding, no work, no store.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import struct
from collections.abc import AsyncIterator

import grpc

SERVICE = "bench.Echo"
UNARY = f"/{SERVICE}/Unary"
STREAM = f"/{SERVICE}/Stream"
_COUNT = struct.Struct("!I")


def stream_request(count: int, payload: bytes) -> bytes:
    return _COUNT.pack(count) + payload


async def _unary(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return request


async def _stream(
    request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
) -> AsyncIterator[bytes]:
    (count,) = _COUNT.unpack_from(request)
    payload = request[_COUNT.size :]
    for _ in range(count):
        yield payload


def _handlers() -> grpc.GenericRpcHandler:
    # No serializers: requests and responses stay bytes on both sides.
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Unary": grpc.unary_unary_rpc_method_handler(_unary),
            "Stream": grpc.unary_stream_rpc_method_handler(_stream),
        },
    )


async def serve(listen: str) -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_handlers(),))
    port = server.add_insecure_port(listen)
    await server.start()
    host = listen.rsplit(":", 1)[0]
    # The same first line the dagwire server prints: the harness reads the port from it.
    print(f"echo listening on {host}:{port}", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.echo")
    parser.add_argument("--listen", default="127.0.0.1:0")
    asyncio.run(serve(parser.parse_args().listen))


if __name__ == "__main__":
    main()
