"""Errors of the workflow room. The API maps each to a gRPC status in one table, with
google.rpc details (BadRequest field violations for InvalidArgument)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dagwire.server.engine.errors import EngineError
from dagwire.server.engine.quoting import QUOTE_LIMIT, quoted, shortened

# How many violations an InvalidArgument's message lists at most, in how many characters.
MESSAGE_VIOLATIONS = 5
MESSAGE_CHARS = 500


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One problem with one field. `field` is a dotted path into the request or spec,
    e.g. `entry_points.train.deps` or `parameters.epoch`."""

    field: str
    description: str


class InvalidArgument(EngineError):
    """The request or the spec it carries is invalid; nothing was stored."""

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = tuple(violations)
        # The message repeats the first few that fit MESSAGE_CHARS; the details (see
        # api.workflow_status) carry as many as fit there.
        shown: list[str] = []
        for violation in self.violations[:MESSAGE_VIOLATIONS]:
            text = shortened(f"{violation.field}: {violation.description}", 2 * QUOTE_LIMIT)
            if shown and sum(map(len, shown)) + len(text) > MESSAGE_CHARS:
                break
            shown.append(text)
        rest = len(self.violations) - len(shown)
        super().__init__("; ".join(shown) + (f"; ... and {rest} more" if rest > 0 else ""))

    @classmethod
    def of(cls, field: str, description: str) -> InvalidArgument:
        return cls([FieldViolation(field, description)])


class NotFound(EngineError):
    """A named resource does not exist."""

    def __init__(self, resource_type: str, name: str) -> None:
        super().__init__(f"{resource_type} {quoted(name)} does not exist")
        self.resource_type = resource_type
        self.name = name


class AlreadyExists(EngineError):
    def __init__(self, resource_type: str, name: str, hint: str = "") -> None:
        message = f"{resource_type} {quoted(name)} already exists"
        super().__init__(f"{message}; {hint}" if hint else message)
        self.resource_type = resource_type
        self.name = name


class FailedPrecondition(EngineError):
    """The resource's current state does not allow the operation."""

    def __init__(self, resource_type: str, name: str, why: str) -> None:
        super().__init__(f"{resource_type} {quoted(name)}: {why}")
        self.resource_type = resource_type
        self.name = name
