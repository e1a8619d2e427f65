"""Acting on behalf of a user: an operator that sends `on-behalf-of: domain/user`
(gRPC metadata; HTTP header `On-Behalf-Of`) becomes that domain's user for the call. It
then sees and acts exactly as that tenant would: what it creates belongs to the domain
and carries the user as its `username`. Only operators may; a tenant that sends the key
is refused (PermissionDenied), so that a name in a request never widens what a caller
may do."""

from __future__ import annotations

import re
from collections.abc import Iterable

import structlog

from dagwire.server.auth.errors import PermissionDenied, Unauthenticated
from dagwire.server.auth.principal import Principal

log = structlog.get_logger(__name__)

ON_BEHALF_KEY = "on-behalf-of"
# A domain id is a DNS-1123 label, as Kuscia's; a user is printable and has no slash.
_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_USER = re.compile(r"[^/\x00-\x1f\x7f]{1,253}")
_FORMAT = "send one 'domain/user' (or 'domain', whose user is then the domain)"


def acting_as(principal: Principal, metadata: Iterable[tuple[str, str | bytes]]) -> Principal:
    """The principal a call acts as: `principal` itself, or the user it acts for."""
    values = [value for key, value in metadata if key == ON_BEHALF_KEY]
    if not values:
        return principal
    if not principal.is_operator:
        raise PermissionDenied(
            f"{ON_BEHALF_KEY} is honoured for operators only; a caller of domain "
            f"{principal.domain!r} acts as itself"
        )
    if len(values) != 1 or not isinstance(values[0], str):
        raise Unauthenticated(f"invalid {ON_BEHALF_KEY}: {_FORMAT}")
    domain, _, user = values[0].partition("/")
    user = user or domain
    if not _DOMAIN.fullmatch(domain) or not _USER.fullmatch(user):
        raise Unauthenticated(f"invalid {ON_BEHALF_KEY} {values[0][:200]!r}: {_FORMAT}")
    log.info("operator acts on behalf of a user", operator=principal.name, domain=domain, user=user)
    return Principal(domain=domain, name=f"{principal.name} for {domain}/{user}", user=user)
