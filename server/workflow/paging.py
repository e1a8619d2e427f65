"""Request helpers shared by the workflow services: required fields, page sizes, page
tokens and `key=value AND ...` filters, each rejected with a precise field violation."""

from __future__ import annotations

import base64
from collections.abc import Collection

from dagwire.server.workflow.errors import FieldViolation, InvalidArgument

MAX_PAGE_SIZE = 1_000


def required(field_name: str, value: str) -> str:
    if not value:
        raise InvalidArgument.of(field_name, "is required")
    return value


def page_limit(page_size: int, default: int) -> int:
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise InvalidArgument.of(
            "page_size", f"must be within [0, {MAX_PAGE_SIZE}], got {page_size}"
        )
    return page_size or default


def encode_token(seq: int | None) -> str:
    if seq is None:
        return ""
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode()


def decode_token(token: str) -> int | None:
    if not token:
        return None
    try:
        prefix, _, seq = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if prefix == "v1" and seq.isdigit():
            return int(seq)
    except (ValueError, UnicodeError):
        pass
    raise InvalidArgument.of("page_token", "is not a token this server handed out")


def parse_filter(text: str, allowed: Collection[str]) -> dict[str, str]:
    """`key=value AND key=value` -> {key: value}; unknown keys are INVALID_ARGUMENT."""
    where: dict[str, str] = {}
    if not text.strip():
        return where
    violations = []
    for term in text.split(" AND "):
        key, sep, value = term.partition("=")
        key, value = key.strip(), value.strip().strip('"')
        if not sep or not key:
            violations.append(FieldViolation("filter", f"{term.strip()!r} is not key=value"))
        elif key not in allowed:
            violations.append(
                FieldViolation("filter", f"unknown key {key!r}; keys: {', '.join(sorted(allowed))}")
            )
        else:
            where[key] = value
    if violations:
        raise InvalidArgument(violations)
    return where
