"""A JobService client built from Kuscia's own descriptors, sharing no code with dagwire.

The descriptors come from one of two Kuscia artifacts:
- `KusciaProtos.compiled`: tests/data/kuscia_protos/ holds Kuscia's job.proto and
  common.proto as published at the head of secretflow/kuscia (see SOURCE.md there),
  compiled at test time with grpc_tools.protoc into a descriptor set;
- `KusciaProtos.published`: the stubs Kuscia publishes on PyPI (the `kuscia` package, an
  older release without schedule_config, tolerable, bandwidth limits and progress). Their
  `_pb2` modules carry each file's serialized descriptor; it is read from the installed
  files, not by importing them.

Either way they are loaded into a descriptor pool of their own: Kuscia's message classes,
built from Kuscia's descriptors, with no dagwire stub, codec or converter anywhere on the
path. (Importing Kuscia's `_pb2` modules would register into protobuf's default pool,
where dagwire's stubs already define the same full names: README, "Differences from
Kuscia".)
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.resources
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, json_format
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_tools import protoc

PROTO_ROOT = Path(__file__).parent.parent / "data" / "kuscia_protos"
# The published stubs' modules, dependencies first (kuscia 0.0.3b0 on PyPI).
PUBLISHED_MODULES = (
    "kuscia/proto/api/v1alpha1/common_pb2.py",
    "kuscia/proto/api/v1alpha1/kusciaapi/job_pb2.py",
)
JOB_PROTO = "kuscia/proto/api/v1alpha1/kusciaapi/job.proto"
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
    def compiled(cls, workdir: Path) -> KusciaProtos:
        """From Kuscia's .proto files at its head (tests/data/kuscia_protos)."""
        descriptor_set = workdir / "kuscia.binpb"
        well_known = importlib.resources.files("grpc_tools") / "_proto"
        exit_code = protoc.main(
            [
                "grpc_tools.protoc",
                f"--proto_path={PROTO_ROOT}",
                f"--proto_path={well_known}",
                "--include_imports",
                f"--descriptor_set_out={descriptor_set}",
                JOB_PROTO,
            ]
        )
        assert exit_code == 0, f"protoc failed on Kuscia's {JOB_PROTO}"
        return cls(descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes()).file)

    @classmethod
    def published(cls) -> KusciaProtos:
        """From the stubs of the `kuscia` package on PyPI (a dev dependency)."""
        stubs = importlib.metadata.distribution("kuscia")
        files = [descriptor_pb2.FileDescriptorProto.FromString(any_pb2.DESCRIPTOR.serialized_pb)]
        for module in PUBLISHED_MODULES:
            source = Path(str(stubs.locate_file(module))).read_text(encoding="utf-8")
            files.append(descriptor_pb2.FileDescriptorProto.FromString(_serialized(source)))
        return cls(files)

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
