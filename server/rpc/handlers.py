"""Rewrap a gRPC method handler, whatever its shape, keeping its serializers.

Interceptors (authentication, metrics) wrap the behaviour of every method. grpc.aio
tells the shapes of a behaviour apart with `inspect`, and so does this module:

| behaviour                | kinds it may serve         | how it answers                        |
|--------------------------|----------------------------|---------------------------------------|
| coroutine function       | all four                   | returns the response, or writes the   |
|                          |                            | responses with `context.write` (as    |
|                          |                            | the health servicer's Watch does)     |
| async generator function | server- and bidi-streaming | yields the responses                  |

An interceptor supplies a wrapper for each: `call` for behaviours awaited once and
`stream` for behaviours that yield; either may receive a request iterator (client- and
bidi-streaming). grpc.aio also runs plain functions and generators in a thread, with a
synchronous context and request iterator; every servicer here is asynchronous, so such
a handler is refused when it is wrapped rather than wrapped wrongly.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc

Context = grpc.aio.ServicerContext[Any, Any]
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic only in the type stubs
CallBehaviour = Callable[[Any, Context], Awaitable[Any]]
StreamBehaviour = Callable[[Any, Context], AsyncIterator[Any]]

# The behaviour attribute and the factory of each (request_streaming, response_streaming).
_KINDS: dict[tuple[bool, bool], tuple[str, Callable[..., Handler]]] = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}


def rewrap(
    handler: Handler,
    *,
    call: Callable[[CallBehaviour], CallBehaviour],
    stream: Callable[[StreamBehaviour], StreamBehaviour],
) -> Handler:
    """A handler like `handler` whose behaviour is `call(behaviour)` when the behaviour
    is awaited once, or `stream(behaviour)` when it yields its responses."""
    attribute, make = _KINDS[(handler.request_streaming, handler.response_streaming)]
    behaviour = getattr(handler, attribute)
    wrapped: Any
    if inspect.isasyncgenfunction(behaviour):
        wrapped = stream(behaviour)
    elif inspect.iscoroutinefunction(behaviour):
        wrapped = call(behaviour)
    else:
        raise TypeError(f"{behaviour!r} is neither a coroutine nor an async generator function")
    return make(wrapped, handler.request_deserializer, handler.response_serializer)
