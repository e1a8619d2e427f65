"""Every handler shape grpc.aio serves passes through dagwire's interceptor chain
(request ids and metrics first, then authentication) and answers as it would bare: a
unary coroutine, a server stream as an async generator or as a coroutine writing with
`context.write`, and the client- and bidi-streaming forms."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest

from dagwire.server.auth.interceptor import Authenticator, AuthInterceptor
from dagwire.server.auth.tokens import TokenRegistry
from dagwire.server.observability.interceptor import ObservabilityInterceptor
from dagwire.server.observability.metrics import ServerMetrics

SERVICE = "test.Shapes"
TOKEN = "shapes-9d2c"
Context = grpc.aio.ServicerContext[Any, Any]


async def unary(request: bytes, context: Context) -> bytes:
    return request.upper()


async def stream_yielded(request: bytes, context: Context) -> AsyncIterator[bytes]:
    for part in request.split():
        yield part


async def stream_written(request: bytes, context: Context) -> None:
    for part in request.split():
        await context.write(part)


async def client_streamed(requests: AsyncIterator[bytes], context: Context) -> bytes:
    return b"+".join([request async for request in requests])


async def bidi_yielded(requests: AsyncIterator[bytes], context: Context) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request.upper()


async def bidi_written(requests: AsyncIterator[bytes], context: Context) -> None:
    async for request in requests:
        await context.write(request.upper())


HANDLERS = {
    "Unary": grpc.unary_unary_rpc_method_handler(unary),
    "StreamYielded": grpc.unary_stream_rpc_method_handler(stream_yielded),
    "StreamWritten": grpc.unary_stream_rpc_method_handler(stream_written),
    "ClientStreamed": grpc.stream_unary_rpc_method_handler(client_streamed),
    "BidiYielded": grpc.stream_stream_rpc_method_handler(bidi_yielded),
    "BidiWritten": grpc.stream_stream_rpc_method_handler(bidi_written),
}


async def requests(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


Invoke = Callable[[grpc.aio.Channel, str, tuple[tuple[str, str], ...]], Any]
# method -> how to call it, and what it answers (as a list of messages).
CASES: dict[str, tuple[Invoke, list[bytes]]] = {
    "Unary": (lambda ch, m, md: ch.unary_unary(m)(b"ab", metadata=md), [b"AB"]),
    "StreamYielded": (lambda ch, m, md: ch.unary_stream(m)(b"a b", metadata=md), [b"a", b"b"]),
    "StreamWritten": (lambda ch, m, md: ch.unary_stream(m)(b"a b", metadata=md), [b"a", b"b"]),
    "ClientStreamed": (
        lambda ch, m, md: ch.stream_unary(m)(requests(b"a", b"b"), metadata=md),
        [b"a+b"],
    ),
    "BidiYielded": (
        lambda ch, m, md: ch.stream_stream(m)(requests(b"a", b"b"), metadata=md),
        [b"A", b"B"],
    ),
    "BidiWritten": (
        lambda ch, m, md: ch.stream_stream(m)(requests(b"a", b"b"), metadata=md),
        [b"A", b"B"],
    ),
}

REFUSED: dict[str, Invoke] = {
    "Unary": CASES["Unary"][0],
    "StreamYielded": CASES["StreamYielded"][0],
    "StreamWritten": CASES["StreamWritten"][0],
    "ClientStreamed": lambda ch, m, md: ch.stream_unary(m)(metadata=md),
    "BidiYielded": lambda ch, m, md: ch.stream_stream(m)(metadata=md),
    "BidiWritten": lambda ch, m, md: ch.stream_stream(m)(metadata=md),
}


class Served:
    def __init__(self, address: str, metrics: ServerMetrics) -> None:
        self.address = address
        self.metrics = metrics

    def handled(self, method: str, code: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "dagwire_rpc_handled_total",
            {"service": SERVICE, "method": method, "transport": "grpc", "code": code},
        )
        return value or 0.0


@pytest.fixture
async def served(tmp_path: Any) -> AsyncIterator[Served]:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(f"tokens:\n  - {{token: {TOKEN}, name: shapes}}\n")
    metrics = ServerMetrics()
    server = grpc.aio.server(
        interceptors=[
            ObservabilityInterceptor(metrics),
            AuthInterceptor(
                Authenticator(tokens=TokenRegistry.load(tokens)),
                open_services=(),
                in_band_services=(),
            ),
        ]
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, HANDLERS),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield Served(f"127.0.0.1:{port}", metrics)
    finally:
        await server.stop(None)


async def answers(call: Any) -> list[bytes]:
    if hasattr(call, "__aiter__"):
        return [message async for message in call]
    return [await call]


@pytest.mark.parametrize("method", CASES)
async def test_an_admitted_call_of_every_shape_answers_with_its_request_id(
    served: Served, method: str
) -> None:
    invoke, expected = CASES[method]
    metadata = (("token", TOKEN), ("x-request-id", f"shape-{method}"))
    async with grpc.aio.insecure_channel(served.address) as channel:
        call = invoke(channel, f"/{SERVICE}/{method}", metadata)
        assert await answers(call) == expected
        assert dict(await call.trailing_metadata())["x-request-id"] == f"shape-{method}"
    assert served.handled(method, "OK") == 1


@pytest.mark.parametrize("method", CASES)
async def test_a_refused_call_of_every_shape_is_unauthenticated_and_counted(
    served: Served, method: str
) -> None:
    metadata = (("x-request-id", "refused-1"),)
    async with grpc.aio.insecure_channel(served.address) as channel:
        # Calls that stream requests send none: a message sent after the refusal would
        # fail on the client's side (INTERNAL) before the status is read.
        call = REFUSED[method](channel, f"/{SERVICE}/{method}", metadata)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await answers(call)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert dict(await call.trailing_metadata())["x-request-id"] == "refused-1"
    assert served.handled(method, "UNAUTHENTICATED") == 1
