"""Who is calling, resolved once per RPC by the interceptor and read by the servicers."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from dagwire.server.auth.errors import Unauthenticated


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller. `domain` None is an unbound operator, who may see and act on every job;
    a bound caller only on jobs its domain is a party of. `name` is for logs."""

    domain: str | None
    name: str

    @property
    def is_operator(self) -> bool:
        """Operators see and act on every domain's resources."""
        return self.domain is None


# Every caller, when the server has no token file and no client CA.
OPERATOR = Principal(domain=None, name="operator")


@dataclass(frozen=True, slots=True)
class _Refused:
    reason: str


# gRPC runs every call's interceptors and handler in a fresh context of its own, so a
# value set here belongs to exactly one call. Unset (None) refuses: a handler reached
# without the interceptor fails closed instead of serving an unknown caller.
_caller: ContextVar[Principal | _Refused | None] = ContextVar("dagwire_caller", default=None)


def admit(principal: Principal) -> None:
    """Record the authenticated caller of the current call."""
    _caller.set(principal)


def refuse(reason: str) -> None:
    """Record that the current call failed authentication; its handler reports it."""
    _caller.set(_Refused(reason))


def current_principal() -> Principal:
    """The caller of the current call. Raises Unauthenticated if authentication failed."""
    caller = _caller.get()
    if caller is None:
        raise Unauthenticated("the call was not authenticated")
    if isinstance(caller, _Refused):
        raise Unauthenticated(caller.reason)
    return caller
