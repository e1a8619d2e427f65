"""The tenant a dagwire.v1 call acts for, from the authenticated principal.

A request's `username` field never widens what the caller may do: a tenant's username is
its principal's (`user` in the token file), and a request naming another is refused; an
operator may name any user (the username of what it creates, still operator-owned), or
act as a domain's user altogether with `on-behalf-of` (auth/behalf.py).
"""

from __future__ import annotations

from dagwire.server.auth.errors import PermissionDenied
from dagwire.server.auth.principal import Principal, current_principal
from dagwire.server.engine.tenancy import Tenant


def tenant_of(principal: Principal, requested_username: str = "") -> Tenant:
    username = principal.username
    if requested_username and requested_username != username:
        if not principal.is_operator:
            raise PermissionDenied(
                f"username {requested_username[:200]!r} is not the caller's: a tenant acts "
                f"as its own user ({username!r}); leave username empty"
            )
        username = requested_username
    return Tenant(domain=principal.domain, user=username)


def current_tenant(requested_username: str = "") -> Tenant:
    """The current call's tenant. Raises Unauthenticated or PermissionDenied."""
    return tenant_of(current_principal(), requested_username)
