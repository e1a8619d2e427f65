"""What every log line of a call carries: its request id and the ids it is about.

A caller may send a request id (gRPC metadata `x-request-id`, HTTP header
`X-Request-Id`) to find its call in the server's logs; a call without one, or with one
that is not a short printable token, gets a fresh id. Either way the id is bound into
structlog's context for the call and sent back to the caller.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

import structlog
from google.protobuf.message import Message

REQUEST_ID_KEY = "x-request-id"
# Printable ASCII without spaces, as proxies and tracing systems generate them; anything
# else could forge log lines or bloat them, and is replaced.
_VALID_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
# Request fields bound into the log context when they are set, under the same names.
_LOGGED_FIELDS = ("job_id", "task_id")


def request_id_of(metadata: Iterable[tuple[str, str | bytes]]) -> str:
    """The caller's request id if it sent exactly one valid id, else a new one."""
    sent = [value for key, value in metadata if key == REQUEST_ID_KEY]
    if len(sent) == 1 and isinstance(sent[0], str) and _VALID_REQUEST_ID.fullmatch(sent[0]):
        return sent[0]
    return uuid.uuid4().hex


def bind_request_id(request_id: str) -> None:
    structlog.contextvars.bind_contextvars(request_id=request_id)


def bind_request_fields(request: Message) -> None:
    """Bind the ids a request names (job_id, task_id) so every log line of the call
    says which job it concerns."""
    fields = request.DESCRIPTOR.fields_by_name
    bound = {
        name: value
        for name in _LOGGED_FIELDS
        if name in fields and (value := getattr(request, name)) and isinstance(value, str)
    }
    if bound:
        structlog.contextvars.bind_contextvars(**bound)
