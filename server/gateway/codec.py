"""JSON <-> protobuf by the protobuf JSON mapping, shaped like Kuscia's HTTP API."""

from __future__ import annotations

import json
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

PROTOBUF = "application/x-protobuf"


def parse_request(
    body: bytes, message_type: type[Message], *, discard_unknown: bool = False
) -> Message | str:
    """The request a JSON body holds, or why it holds none.

    Field names may be snake_case (as Kuscia documents them) or lowerCamelCase (the
    canonical JSON names); unknown fields are errors naming the field, so that a typo
    fails loudly instead of being dropped, unless `discard_unknown` (as Kuscia's own
    server decodes). An empty body is an empty request, so that `curl -X POST
    .../watch` works without `-d '{}'`.
    """
    name = message_type.DESCRIPTOR.name
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"the request body is not UTF-8 text: {error}"
    message = message_type()
    if not text.strip():
        return message
    try:
        document = json.loads(text)
        # json_format.Parse takes `[]` for an empty message; a request is an object.
        if not isinstance(document, dict):
            raise json_format.ParseError(f"expected a JSON object, got {type(document).__name__}")
        json_format.ParseDict(document, message, ignore_unknown_fields=discard_unknown)
    except (ValueError, json_format.ParseError) as error:
        return f"the request body is not a valid {name} in JSON: {error}"
    return message


def parse_binary(body: bytes, message_type: type[Message]) -> Message | str:
    """The request an `application/x-protobuf` body holds (the binary wire format), or
    why it holds none."""
    try:
        return message_type.FromString(body)
    except DecodeError as error:
        name = message_type.DESCRIPTOR.name
        return f"the request body is not a valid {name} in protobuf binary: {error}"


def to_json(message: Message, *, null_unset: bool = False) -> dict[str, Any]:
    """A response as Kuscia renders it: proto field names (snake_case), fields left at
    their zero value printed too (`"details": []`, `"err_msg": ""`), and in field-number
    order (`code` before `message`), as Go's protojson writes them. With `null_unset`,
    an unset message field is printed as `null`, as protojson's EmitUnpopulated does."""
    document = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return _in_field_order(cast(Descriptor, message.DESCRIPTOR), document, null_unset)


def _in_field_order(
    descriptor: Descriptor, document: dict[str, Any], null_unset: bool
) -> dict[str, Any]:
    # json_format prints set fields first and defaulted ones after them.
    ordered: dict[str, Any] = {}
    for field in descriptor.fields:
        if field.name in document:
            ordered[field.name] = _ordered_value(field, document[field.name], null_unset)
        elif null_unset and _singular_message(field):
            ordered[field.name] = None
    # Anything the walk did not place (there should be nothing) is kept, at the end.
    return ordered | {name: value for name, value in document.items() if name not in ordered}


def _singular_message(field: FieldDescriptor) -> bool:
    # Go's protojson leaves unset oneof members out even with EmitUnpopulated.
    return (
        field.message_type is not None and not field.is_repeated and field.containing_oneof is None
    )


def _ordered_value(field: FieldDescriptor, value: Any, null_unset: bool) -> Any:
    message_type = field.message_type
    # Well-known types (Any, Timestamp, ...) have JSON forms of their own.
    if message_type is None or message_type.full_name.startswith("google.protobuf."):
        return value
    if message_type.GetOptions().map_entry:
        value_field = message_type.fields_by_name["value"]
        return {key: _ordered_value(value_field, item, null_unset) for key, item in value.items()}
    if field.is_repeated:
        return [_in_field_order(message_type, item, null_unset) for item in value]
    return _in_field_order(message_type, value, null_unset)


def dumps(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
