"""Register a servicer so that the server, not grpc, decodes requests.

grpc answers an undecodable request with UNKNOWN and logs a traceback. Decoding here
lets each service reject it precisely instead: in-band 11100 on the Kuscia service,
INVALID_ARGUMENT on a stream. A decoded request's ids (job_id) are bound into the log
context, so that every log line of the call names the job it concerns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from dagwire.server.observability.context import bind_request_fields

Context = grpc.aio.ServicerContext[Any, Any]
# Builds the response for an undecodable unary request (method name, why).
UnaryRejection = Callable[[MethodDescriptor, str], Message]


def add_servicer(
    server: grpc.aio.Server,
    servicer: object,
    service: ServiceDescriptor,
    reject_unary: UnaryRejection | None = None,
) -> None:
    """Serve `servicer`'s methods for `service`. An undecodable unary request gets
    `reject_unary`'s answer, or INVALID_ARGUMENT when there is none."""
    handlers = {
        method.name: _handler(getattr(servicer, method.name), method, reject_unary)
        for method in service.methods
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )


def _decode(method: MethodDescriptor, raw: bytes) -> Message | str:
    try:
        return GetMessageClass(method.input_type).FromString(raw)
    except DecodeError as error:
        return f"the request is not a valid {method.input_type.name} message: {error}"


def _serializer(message_type: type[Message]) -> Callable[[Message | bytes], bytes]:
    """Responses may come pre-encoded: a watch event shared by many streams is encoded
    once, not once per stream."""
    encode = message_type.SerializeToString

    def serialize(response: Message | bytes) -> bytes:
        return response if isinstance(response, bytes) else encode(response)

    return serialize


def _handler(
    behaviour: Callable[..., Any], method: MethodDescriptor, reject_unary: UnaryRejection | None
) -> grpc.RpcMethodHandler[Any, Any]:
    serialize = _serializer(GetMessageClass(method.output_type))
    if method.server_streaming:

        async def stream(raw: bytes, context: Context) -> AsyncIterator[Message]:
            request = _decode(method, raw)
            if isinstance(request, str):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request)
            bind_request_fields(request)
            async for response in behaviour(request, context):
                yield response

        return grpc.unary_stream_rpc_method_handler(stream, response_serializer=serialize)

    async def unary(raw: bytes, context: Context) -> Message:
        request = _decode(method, raw)
        if isinstance(request, str):
            if reject_unary is None:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request)
            return reject_unary(method, request)
        bind_request_fields(request)
        response: Awaitable[Message] = behaviour(request, context)
        return await response

    return grpc.unary_unary_rpc_method_handler(unary, response_serializer=serialize)
