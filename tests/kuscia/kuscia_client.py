"""A JobService client built from Kuscia's own descriptors, sharing no code with dagwire.

The descriptors are those of the stubs Kuscia publishes on PyPI (the `kuscia` package, a
dev dependency; an older release than Kuscia's head, without schedule_config, tolerable,
bandwidth limits and progress, which the tests cover over HTTP with Kuscia's JSON). Their
`_pb2` modules carry each file's serialized descriptor; it is read from the installed
files, not by importing them, and loaded into a descriptor pool of their own: Kuscia's message classes,
built from Kuscia's descriptors, with no dagwire stub, codec or converter anywhere on the
path. (Importing Kuscia's `_pb2` modules would register into protobuf's default pool,
where dagwire's stubs already define the same full names: README, "Differences from
Kuscia".)
"""

from __future__ import annotations

import ast
import importlib.metadata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, json_format
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

# The published stubs' modules, dependencies first (kuscia 0.0.3b0 on PyPI).
PUBLISHED_MODULES = (
    "kuscia/proto/api/v1alpha1/common_pb2.py",
    "kuscia/proto/api/v1alpha1/kusciaapi/job_pb2.py",
)
PACKAGE = "kuscia.proto.api.v1alpha1.kusciaapi"
SERVICE = f"{PACKAGE}.JobService"


class KusciaProtos:
    """Kuscia's messages, from its own files, in a pool apart from dagwire's."""

    def __init__(self, files: Iterable[descriptor_pb2.FileDescriptorProto]) -> None:
        self.pool = descriptor_pool.DescriptorPool()
        for file in files:
            self.pool.Add(file)
        self.service = self.pool.FindServiceByName(SERVICE)

    @classmethod
    def published(cls) -> KusciaProtos:
        """From the stubs of the `kuscia` package on PyPI (a dev dependency)."""
        stubs = importlib.metadata.distribution("kuscia")
        files = [descriptor_pb2.FileDescriptorProto.FromString(any_pb2.DESCRIPTOR.serialized_pb)]
        for module in PUBLISHED_MODULES:
            source = Path(str(stubs.locate_file(module))).read_text(encoding="utf-8")
            files.append(descriptor_pb2.FileDescriptorProto.FromString(_serialized(source)))
        return cls(files)

    def descriptor_set(self) -> bytes:
        """Kuscia's files as one serialized FileDescriptorSet (for `buf breaking`)."""
        files = descriptor_pb2.FileDescriptorSet()
        for name in (_ANY, *(_file_name(module) for module in PUBLISHED_MODULES)):
            file = files.file.add()
            self.pool.FindFileByName(name).CopyToProto(file)
            for message in file.message_type:
                _name_json(message)
        return files.SerializeToString()

    def message(self, name: str, **fields: Any) -> Message:
        """A Kuscia message by its short name in kusciaapi (`CreateJobRequest`)."""
        cls = GetMessageClass(self.pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
        return cls(**fields)

    def response_type(self, rpc: str) -> type[Message]:
        return GetMessageClass(self.service.methods_by_name[rpc].output_type)

    def enum_name(self, enum: str, number: int) -> str:
        """The name of `number` in Kuscia's enum `enum` (`EventType`)."""
        values = self.pool.FindEnumTypeByName(f"{PACKAGE}.{enum}").values_by_number
        return str(values[number].name)

    def parse(self, document: str | bytes, name: str, *, ignore_unknown: bool = False) -> Message:
        """A JSON answer parsed the way a Kuscia client parses it: into Kuscia's message,
        resolving `Any` only against Kuscia's own types."""
        message = self.message(name)
        json_format.Parse(
            document,
            message,
            ignore_unknown_fields=ignore_unknown,
            descriptor_pool=self.pool,
        )
        return message

    def to_json(self, message: Message) -> str:
        """What a Kuscia client prints (raises on a type in `details` Kuscia lacks)."""
        return json_format.MessageToJson(
            message, preserving_proto_field_name=True, descriptor_pool=self.pool
        )


class KusciaJobClient:
    """Calls JobService over a real gRPC channel with Kuscia's messages."""

    def __init__(self, channel: grpc.aio.Channel, protos: KusciaProtos) -> None:
        self._channel = channel
        self.protos = protos

    async def call(self, rpc: str, request: Message) -> Any:
        """The unary `rpc` of Kuscia's JobService with `request`; Kuscia's response."""
        response_type = self.protos.response_type(rpc)
        method = self._channel.unary_unary(
            f"/{SERVICE}/{rpc}",
            request_serializer=_serialize,
            response_deserializer=response_type.FromString,
        )
        return await method(request)

    def stream(self, rpc: str, **fields: Any) -> Any:
        """The server-streaming `rpc` (WatchJob): a call to iterate over."""
        response_type = self.protos.response_type(rpc)
        method = self._channel.unary_stream(
            f"/{SERVICE}/{rpc}",
            request_serializer=_serialize,
            response_deserializer=response_type.FromString,
        )
        return method(self.protos.message(f"{rpc}Request", **fields))

    async def __call__(self, rpc: str, **fields: Any) -> Any:
        """`rpc` with a request built from `fields` (`job_id="x"`)."""
        return await self.call(rpc, self.protos.message(f"{rpc}Request", **fields))


_ANY = "google/protobuf/any.proto"


def _name_json(message: descriptor_pb2.DescriptorProto) -> None:
    """Fill in each field's JSON name as protoc does (lowerCamelCase): the published
    stubs' descriptors leave it unset, which buf would read as a change."""
    for field in message.field:
        if not field.HasField("json_name"):
            head, *rest = field.name.split("_")
            field.json_name = head + "".join(part[:1].upper() + part[1:] for part in rest)
    for nested in message.nested_type:
        _name_json(nested)


def _file_name(module: str) -> str:
    """kuscia/proto/api/v1alpha1/common_pb2.py -> kuscia/proto/api/v1alpha1/common.proto"""
    return module.removesuffix("_pb2.py") + ".proto"


def _serialized(source: str) -> bytes:
    """The serialized FileDescriptorProto a protoc-generated `_pb2` module registers
    (the bytes literal it passes to `AddSerializedFile`)."""
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "AddSerializedFile"
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, bytes)
        ):
            return node.args[0].value
    raise AssertionError("no serialized descriptor in the published stub")


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


if __name__ == "__main__":
    # `python -m tests.kuscia.kuscia_client OUT`: the published descriptors, for make lint.
    import sys

    Path(sys.argv[1]).write_bytes(KusciaProtos.published().descriptor_set())
