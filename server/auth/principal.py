"""Who is calling, resolved once per RPC by the interceptor and read by the servicers."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from dagwire.server.auth.errors import AuthError, Unauthenticated


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: (domain, user, is_operator).

    `domain` None is an unbound operator, who may see and act on every domain's
    resources; a bound caller (a tenant) only on its domain's. `user` is who, within
    the domain, the caller is: the `username` of what it creates (None: `name`).
    `name` labels the caller in logs.
    """

    domain: str | None
    name: str
    user: str | None = None

    @property
    def is_operator(self) -> bool:
        """Operators see and act on every domain's resources."""
        return self.domain is None

    @property
    def username(self) -> str:
        """The user the caller's requests act as."""
        return self.user if self.user is not None else self.name


# Every caller, when the server has no token file and no client CA. Nobody is
# identified, so what it creates belongs to the user `default`, as before tenancy.
OPERATOR = Principal(domain=None, name="operator", user="default")


@dataclass(frozen=True, slots=True)
class _Refused:
    error: AuthError


# gRPC runs every call's interceptors and handler in a fresh context of its own, so a
# value set here belongs to exactly one call. Unset (None) refuses: a handler reached
# without the interceptor fails closed instead of serving an unknown caller.
_caller: ContextVar[Principal | _Refused | None] = ContextVar("dagwire_caller", default=None)


def admit(principal: Principal) -> None:
    """Record the authenticated caller of the current call."""
    _caller.set(principal)


def refuse(reason: str | AuthError) -> None:
    """Record that the current call was refused (by default: failed authentication);
    its handler reports it."""
    _caller.set(_Refused(Unauthenticated(reason) if isinstance(reason, str) else reason))


def current_principal() -> Principal:
    """The caller of the current call. Raises the refusal (Unauthenticated, or
    PermissionDenied for a forbidden on-behalf-of) if the call was refused."""
    caller = _caller.get()
    if caller is None:
        raise Unauthenticated("the call was not authenticated")
    if isinstance(caller, _Refused):
        raise type(caller.error)(str(caller.error))
    return caller
