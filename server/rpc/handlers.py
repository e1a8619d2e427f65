"""Rewrap a gRPC method handler, whatever its streaming kind, keeping its serializers.

Interceptors (authentication, metrics) wrap the behaviour of every method; the four
kinds of handler differ only in which attribute holds it and which factory rebuilds it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc

Context = grpc.aio.ServicerContext[Any, Any]
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic only in the type stubs
UnaryBehaviour = Callable[[Any, Context], Awaitable[Any]]
StreamBehaviour = Callable[[Any, Context], AsyncIterator[Any]]


def rewrap(
    handler: Handler,
    *,
    unary: Callable[[UnaryBehaviour], UnaryBehaviour],
    stream: Callable[[StreamBehaviour], StreamBehaviour],
) -> Handler:
    """A handler like `handler` whose behaviour is `unary(behaviour)` or
    `stream(behaviour)`, by whether it streams its responses (which must then be
    produced by an async generator)."""
    if handler.response_streaming:
        make_stream = (
            grpc.stream_stream_rpc_method_handler
            if handler.request_streaming
            else grpc.unary_stream_rpc_method_handler
        )
        streamed: Any = handler.unary_stream or handler.stream_stream
        return make_stream(
            stream(streamed), handler.request_deserializer, handler.response_serializer
        )
    make_unary = (
        grpc.stream_unary_rpc_method_handler
        if handler.request_streaming
        else grpc.unary_unary_rpc_method_handler
    )
    single: Any = handler.unary_unary or handler.stream_unary
    return make_unary(unary(single), handler.request_deserializer, handler.response_serializer)
