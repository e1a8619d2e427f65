"""The gateway's OpenAPI document, generated from the .proto files (comments included)
and the route tables, so that it cannot drift from either:

    python -m dagwire.server.gateway.openapi           # print it
    python -m dagwire.server.gateway.openapi --write   # rewrite server/gateway/openapi.yaml

tests/gateway/test_openapi.py regenerates it and fails when the committed file differs.
Generating needs a source checkout (proto/) and grpcio-tools (the `gen` extra); serving
the committed file needs neither.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from google.protobuf.descriptor_pb2 import (
    DescriptorProto,
    EnumDescriptorProto,
    FieldDescriptorProto,
    FileDescriptorSet,
    SourceCodeInfo,
)

from dagwire.server.gateway import openapi_modelarts
from dagwire.server.gateway.routes import ROUTE_TABLES, RouteTable

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
PROTO_ROOT = Path(__file__).resolve().parents[2] / "proto"
SCHEMA_REF = "#/components/schemas/"
ERROR_SCHEMA = "GatewayError"
ANY = ".google.protobuf.Any"
# Well-known types whose JSON mapping is not an object of their fields.
WELL_KNOWN: dict[str, dict[str, Any]] = {
    ".google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "description": "RFC 3339, UTC (`2024-05-01T12:00:00Z`).",
    },
    ".google.protobuf.Duration": {
        "type": "string",
        "description": "Seconds with an `s` suffix (`1.5s`).",
    },
}

_F = FieldDescriptorProto
_INTEGER32 = (_F.TYPE_INT32, _F.TYPE_SINT32, _F.TYPE_SFIXED32)
_UNSIGNED32 = (_F.TYPE_UINT32, _F.TYPE_FIXED32)
_INTEGER64 = (_F.TYPE_INT64, _F.TYPE_UINT64, _F.TYPE_SINT64, _F.TYPE_FIXED64, _F.TYPE_SFIXED64)
# descriptor.proto field numbers, which SourceCodeInfo paths are made of.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_ENUM_VALUE, _SERVICE_METHOD = 2, 2


@dataclass(slots=True)
class _Protos:
    """Every message, enum and method of the descriptor set, by full name, with its
    leading comment."""

    messages: dict[str, DescriptorProto] = field(default_factory=dict)
    enums: dict[str, EnumDescriptorProto] = field(default_factory=dict)
    methods: dict[str, tuple[str, str, bool]] = field(default_factory=dict)  # in, out, stream
    comments: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, files: FileDescriptorSet) -> _Protos:
        protos = cls()
        for file in files.file:
            comments = _comments(file.source_code_info)
            prefix = f".{file.package}" if file.package else ""
            for index, message in enumerate(file.message_type):
                protos._add_message(message, prefix, (_FILE_MESSAGE, index), comments)
            for index, enum in enumerate(file.enum_type):
                protos._add_enum(enum, prefix, (_FILE_ENUM, index), comments)
            for s_index, service in enumerate(file.service):
                name = f"{prefix}.{service.name}"
                protos.comments[name] = comments.get((_FILE_SERVICE, s_index), "")
                for m_index, method in enumerate(service.method):
                    key = f"{name}/{method.name}"
                    protos.methods[key] = (
                        method.input_type,
                        method.output_type,
                        method.server_streaming,
                    )
                    path = (_FILE_SERVICE, s_index, _SERVICE_METHOD, m_index)
                    protos.comments[key] = comments.get(path, "")
        return protos

    def _add_message(
        self,
        message: DescriptorProto,
        prefix: str,
        path: tuple[int, ...],
        comments: dict[tuple[int, ...], str],
    ) -> None:
        name = f"{prefix}.{message.name}"
        self.messages[name] = message
        self.comments[name] = comments.get(path, "")
        for index, item in enumerate(message.field):
            self.comments[f"{name}.{item.name}"] = comments.get((*path, _MESSAGE_FIELD, index), "")
        for index, nested in enumerate(message.nested_type):
            self._add_message(nested, name, (*path, _MESSAGE_NESTED, index), comments)
        for index, enum in enumerate(message.enum_type):
            self._add_enum(enum, name, (*path, _MESSAGE_ENUM, index), comments)

    def _add_enum(
        self,
        enum: EnumDescriptorProto,
        prefix: str,
        path: tuple[int, ...],
        comments: dict[tuple[int, ...], str],
    ) -> None:
        name = f"{prefix}.{enum.name}"
        self.enums[name] = enum
        values = [
            f"- `{value.name}`: {comments.get((*path, _ENUM_VALUE, index), '')}".rstrip(": ")
            for index, value in enumerate(enum.value)
        ]
        self.comments[name] = "\n".join([comments.get(path, ""), *values]).strip()


def _comments(info: SourceCodeInfo) -> dict[tuple[int, ...], str]:
    return {
        tuple(location.path): " ".join(location.leading_comments.split())
        for location in info.location
        if location.leading_comments
    }


def descriptor_set(proto_root: Path = PROTO_ROOT) -> FileDescriptorSet:
    """Compile proto/ with its comments (grpcio-tools' protoc)."""
    try:
        from grpc_tools import protoc  # type: ignore[import-untyped]  # the `gen` extra
    except ImportError as error:
        raise RuntimeError("generating the OpenAPI document needs grpcio-tools") from error
    if not proto_root.is_dir():
        raise RuntimeError(f"no {proto_root}: generate from a source checkout")
    sources = sorted(str(path.relative_to(proto_root)) for path in proto_root.rglob("*.proto"))
    well_known = resources.files("grpc_tools").joinpath("_proto")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "set.pb"
        status = protoc.main(
            [
                "protoc",
                f"-I{proto_root}",
                f"-I{well_known}",
                "--include_source_info",
                "--include_imports",
                f"--descriptor_set_out={out}",
                *sources,
            ]
        )
        if status != 0:
            raise RuntimeError(f"protoc failed with status {status}")
        return FileDescriptorSet.FromString(out.read_bytes())


def build(files: FileDescriptorSet, tables: Iterable[RouteTable] = ROUTE_TABLES) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the gateway's routes, schemas derived from `files`."""
    protos = _Protos.of(files)
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for table in tables:
        for path, rpc in table.routes():
            service = f".{table.service}"
            operation = _operation(protos, service, rpc, schemas, in_band=table.in_band)
            paths[path] = {"post": operation}
    modelarts_path, modelarts_item = openapi_modelarts.path_item()
    paths[modelarts_path] = modelarts_item
    schemas.update(openapi_modelarts.schemas())
    paths["/metrics"] = {
        "get": {
            "operationId": "Metrics",
            "summary": "Prometheus metrics of this server.",
            "tags": ["Operations"],
            "responses": {
                "200": {
                    "description": "The Prometheus text exposition format.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    }
    paths["/openapi.yaml"] = {
        "get": {
            "operationId": "OpenApi",
            "summary": "This document.",
            "tags": ["Operations"],
            "responses": {
                "200": {
                    "description": "OpenAPI 3.0, YAML.",
                    "content": {"application/yaml": {"schema": {"type": "string"}}},
                }
            },
        }
    }
    _collect(protos, ANY, schemas)
    schemas[ERROR_SCHEMA] = {
        "type": "object",
        "description": "A gRPC status ending a call that has no in-band status (WatchJob, "
        "every dagwire.v1 call), as google.rpc.Status in JSON: grpc-gateway's error body. "
        'A watch that fails after its first event ends with a last line `{"error": <this>}` '
        "instead.",
        "properties": {
            "code": {"type": "integer", "format": "int32", "description": "gRPC status code."},
            "message": {"type": "string", "description": "What went wrong."},
            "details": {
                "type": "array",
                "items": _ref(ANY),
                "description": "The status's google.rpc details, as protojson writes them "
                "(lowerCamelCase): `google.rpc.ErrorInfo` (`reason`, `domain`), "
                "`google.rpc.BadRequest` (`fieldViolations`: `field`, `description`), "
                "`google.rpc.ResourceInfo` (`resourceType`, `resourceName`).",
            },
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "dagwire HTTP/JSON gateway",
            "version": "v1",
            "description": (
                "Kuscia's KusciaAPI HTTP paths (`/api/v1/job/...`) and dagwire's own "
                "(`/api/v1/workflow/...`, `/api/v1/stepexecution/...`), and ModelArts' "
                "step-execution actions (`/v2/{project_id}/workflows/...`, in ModelArts' "
                "field names and error shape), served by dagwire's "
                "gateway (`--http-listen`). "
                "Bodies use the protobuf JSON mapping: field names as in the .proto files "
                "(snake_case, as below) or in lowerCamelCase; 64-bit integers as strings; "
                "enums by name or number. Unknown fields are rejected on dagwire's paths and "
                "dropped on Kuscia's (as Kuscia's server does); there "
                "`Content-Type: application/x-protobuf` sends and gets binary protobuf. "
                "Kuscia's unary calls "
                "answer HTTP 200 with an in-band `status` (code 0, or a Kuscia error code such "
                "as 11100 for an invalid request, 11101 for an undecodable body; `details` "
                "empty), or 401 with status code 11102 "
                "when the `Token` header is missing or wrong. dagwire's calls answer errors as "
                "grpc-gateway does: the HTTP status of the gRPC code (INVALID_ARGUMENT and "
                "FAILED_PRECONDITION 400, NOT_FOUND 404, ALREADY_EXISTS 409, ...) and a "
                "`GatewayError` body with the same google.rpc details a gRPC client gets. "
                "Every response carries `X-Request-Id`."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8082"}],
        "security": [{"Token": []}, {}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "Token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Token",
                    "description": "Needed when the server runs with --token-file.",
                }
            },
            "schemas": dict(sorted(schemas.items())),
        },
    }


def _operation(
    protos: _Protos, service: str, rpc: str, schemas: dict[str, Any], *, in_band: bool
) -> Any:
    key = f"{service}/{rpc}"
    input_type, output_type, streaming = protos.methods[key]
    _collect(protos, input_type, schemas)
    _collect(protos, output_type, schemas)
    comment = protos.comments.get(key, "")
    operation: dict[str, Any] = {
        "operationId": rpc,
        "summary": comment.split(". ")[0].rstrip(".") + "." if comment else rpc,
        "description": comment,
        "tags": [service.rsplit(".", 1)[-1]],
        "parameters": [
            {
                "name": "X-Request-Id",
                "in": "header",
                "required": False,
                "description": "Names the call in the server's logs; one is made up if absent.",
                "schema": {"type": "string"},
            }
        ],
        "requestBody": {
            "required": False,
            "description": "An empty body is an empty request.",
            "content": {"application/json": {"schema": _ref(input_type)}},
        },
    }
    if streaming:
        operation["responses"] = {
            "200": {
                "description": "A chunked stream of newline-delimited JSON, one response per "
                "line (HEARTBEAT events included).",
                "content": {"application/x-ndjson": {"schema": _ref(output_type)}},
            },
            "400": _error_response("The request is invalid (INVALID_ARGUMENT, OUT_OF_RANGE)."),
            "401": _error_response("The Token header is missing or wrong (UNAUTHENTICATED)."),
            "429": _error_response("The watch fell too far behind (RESOURCE_EXHAUSTED)."),
        }
        if not in_band:
            operation["responses"]["404"] = _error_response("No such resource (NOT_FOUND).")
    elif not in_band:
        operation["responses"] = {
            "200": {
                "description": "The response.",
                "content": {"application/json": {"schema": _ref(output_type)}},
            },
            **_status_responses(),
        }
    else:
        operation["responses"] = {
            "200": {
                "description": "The response; `status.code` is 0 or a Kuscia error code.",
                "content": {"application/json": {"schema": _ref(output_type)}},
            },
            "401": {
                "description": "The Token header is missing or wrong: `status.code` is 11102.",
                "content": {"application/json": {"schema": _ref(output_type)}},
            },
        }
    return operation


def _error_response(description: str) -> dict[str, Any]:
    """An HTTP error status whose body is the gRPC status (see ERROR_SCHEMA)."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": SCHEMA_REF + ERROR_SCHEMA}}},
    }


def _status_responses() -> dict[str, Any]:
    """The failures of a unary call without an in-band status, by HTTP status (fresh
    dicts each time: YAML would print shared ones as anchors)."""
    return {
        "400": _error_response(
            "The request is invalid (INVALID_ARGUMENT, with a google.rpc.BadRequest naming "
            "each field), or the resource is not in a state that allows it "
            "(FAILED_PRECONDITION)."
        ),
        "401": _error_response("The Token header is missing or wrong (UNAUTHENTICATED)."),
        "403": _error_response("The caller may not act on this resource (PERMISSION_DENIED)."),
        "404": _error_response("No such resource (NOT_FOUND, with a google.rpc.ResourceInfo)."),
        "409": _error_response(
            "The resource exists already (ALREADY_EXISTS), or changed meanwhile (ABORTED)."
        ),
        "500": _error_response("An unexpected server error (INTERNAL)."),
    }


def _ref(type_name: str) -> dict[str, str]:
    return {"$ref": SCHEMA_REF + type_name.lstrip(".")}


def _collect(protos: _Protos, type_name: str, schemas: dict[str, Any]) -> None:
    """Add the schema of `type_name` and of everything it refers to."""
    name = type_name.lstrip(".")
    if name in schemas:
        return
    if type_name in protos.enums:
        enum = protos.enums[type_name]
        schemas[name] = {
            "type": "string",
            "enum": [value.name for value in enum.value],
            "description": protos.comments.get(type_name, ""),
        }
        return
    if type_name in WELL_KNOWN:
        schemas[name] = WELL_KNOWN[type_name]
        return
    if type_name == ANY:
        schemas[name] = {
            "type": "object",
            "description": "Any message, with its type URL in `@type`.",
            "properties": {"@type": {"type": "string"}},
            "additionalProperties": True,
        }
        return
    message = protos.messages[type_name]
    schemas[name] = {}  # placed first: a message may refer to itself
    properties: dict[str, Any] = {}
    for item in message.field:
        properties[item.name] = _field_schema(protos, type_name, item, schemas)
    schemas[name] = {
        "type": "object",
        "description": protos.comments.get(type_name, ""),
        "properties": properties,
    }


def _field_schema(
    protos: _Protos, owner: str, item: FieldDescriptorProto, schemas: dict[str, Any]
) -> dict[str, Any]:
    description = protos.comments.get(f"{owner}.{item.name}", "")
    entry = protos.messages.get(item.type_name)
    if entry is not None and entry.options.map_entry:
        value = _value_schema(protos, entry.field[1], schemas)
        schema: dict[str, Any] = {"type": "object", "additionalProperties": value}
    else:
        schema = _value_schema(protos, item, schemas)
        if item.label == _F.LABEL_REPEATED:
            schema = {"type": "array", "items": schema}
    if "$ref" in schema:
        # OpenAPI 3.0 ignores a $ref's siblings; allOf keeps the field's description.
        schema = {"allOf": [schema]}
    return {**schema, "description": description} if description else schema


def _value_schema(
    protos: _Protos, item: FieldDescriptorProto, schemas: dict[str, Any]
) -> dict[str, Any]:
    kind = item.type
    if kind in (_F.TYPE_MESSAGE, _F.TYPE_ENUM):
        _collect(protos, item.type_name, schemas)
        return _ref(item.type_name)
    if kind == _F.TYPE_STRING:
        return {"type": "string"}
    if kind == _F.TYPE_BOOL:
        return {"type": "boolean"}
    if kind in _INTEGER32:
        return {"type": "integer", "format": "int32"}
    if kind in _UNSIGNED32:
        return {"type": "integer", "format": "int64", "minimum": 0}
    if kind in _INTEGER64:
        # The JSON mapping writes 64-bit integers as strings; numbers are accepted too.
        return {"type": "string", "format": "int64"}
    if kind == _F.TYPE_FLOAT:
        return {"type": "number", "format": "float"}
    if kind == _F.TYPE_DOUBLE:
        return {"type": "number", "format": "double"}
    if kind == _F.TYPE_BYTES:
        return {"type": "string", "format": "byte"}
    raise ValueError(f"unsupported field type {kind} of {item.name}")


def render(document: dict[str, Any]) -> str:
    header = (
        "# Generated by `python -m dagwire.server.gateway.openapi --write` from proto/ and\n"
        "# server/gateway/routes.py; do not edit (tests/gateway/test_openapi.py checks it).\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def generate(proto_root: Path = PROTO_ROOT) -> str:
    return render(build(descriptor_set(proto_root)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagwire.server.gateway.openapi")
    parser.add_argument("--write", action="store_true", help=f"rewrite {OPENAPI_PATH.name}")
    args = parser.parse_args(argv)
    text = generate()
    if args.write:
        OPENAPI_PATH.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
