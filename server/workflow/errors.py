"""Errors of the workflow room. The API maps each to a gRPC status in one table, with
google.rpc details (BadRequest field violations for InvalidArgument)."""

from __future__ import annotations

from dagwire.server.engine.errors import EngineError
from dagwire.server.engine.errors import FieldViolation as FieldViolation
from dagwire.server.engine.errors import InvalidArgument as InvalidArgument
from dagwire.server.engine.quoting import quoted

# FieldViolation and InvalidArgument live in the engine, so that the listing grammar
# (engine.listing) shared with JobService reports its problems as field violations too.


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


class Forbidden(EngineError):
    """The caller may not do this, whatever it names (an operator's choice)."""
