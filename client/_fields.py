"""Names a JSON document's unknown field the way the docs and the README write fields:
snake_case, with its path (``tasks[0].app_imag``), the closest valid name and the message's
fields. protobuf's own parser lists lowerCamelCase names and says only the message type."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor


def unknown_field(document: Any, descriptor: Descriptor, path: str = "") -> str | None:
    """Why ``document`` (a parsed JSON object for ``descriptor``) has a field it must not,
    or None. Both snake_case and the lowerCamelCase JSON names are accepted."""
    if not isinstance(document, Mapping):
        return None  # not an object: the parser says what is wrong with it
    fields = {f.name: f for f in descriptor.fields} | {f.json_name: f for f in descriptor.fields}
    for key, value in document.items():
        where = f"{path}.{key}" if path else str(key)
        field = fields.get(key)
        if field is None:
            return _unknown(where, str(key), descriptor)
        problem = _in_value(value, field, where)
        if problem is not None:
            return problem
    return None


def _in_value(value: Any, field: FieldDescriptor, where: str) -> str | None:
    message = field.message_type
    if message is None or message.full_name.startswith("google.protobuf."):
        return None  # a scalar, or a well-known type with a JSON form of its own
    if message.GetOptions().map_entry:
        target = message.fields_by_name["value"]
        if target.message_type is None or not isinstance(value, Mapping):
            return None
        items = [(f"{where}.{k}", v) for k, v in value.items()]
        return _first(items, target.message_type)
    if field.is_repeated and isinstance(value, list):
        return _first([(f"{where}[{i}]", v) for i, v in enumerate(value)], message)
    return unknown_field(value, message, where)


def _first(items: list[tuple[str, Any]], descriptor: Descriptor) -> str | None:
    for where, item in items:
        problem = unknown_field(item, descriptor, where)
        if problem is not None:
            return problem
    return None


def _unknown(where: str, key: str, descriptor: Descriptor) -> str:
    names = [f.name for f in descriptor.fields]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown field {where}{hint}; {descriptor.name} has: {', '.join(names)}"
