"""Queues, flavours and clusters: PaddleFlow's platform resources, as pure values.

Operators manage them; a tenant sees and uses only the queues granted to it (to its
domain, or to its user), and an ungranted queue answers exactly as a missing one (the
tenancy rule of engine/tenancy.py). A closed queue keeps what runs but admits nothing
new, PaddleFlow's `closed` queue status.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dagwire.server.engine.names import is_dns1123_label
from dagwire.server.engine.quota import Resources
from dagwire.server.engine.tenancy import Tenant

# The queue of launches that name none: the server's own capacity.
DEFAULT_QUEUE = "default"
# Bounds on what a request may store: names are DNS-1123 labels (PaddleFlow's queue
# names are), grants and scalar kinds are few.
MAX_GRANTS = 1_000
MAX_SCALARS = 16
MAX_NAME = 63


class QueueStatus(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class GrantKind(enum.Enum):
    USER = "user"
    DOMAIN = "domain"


@dataclass(frozen=True, slots=True)
class Grant:
    kind: GrantKind
    name: str


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    max: Resources
    min: Resources
    status: QueueStatus
    grants: frozenset[Grant]
    create_time: datetime
    update_time: datetime
    version: int = 0

    def usable_by(self, tenant: Tenant) -> bool:
        """Operators use every queue; a tenant the ones granted to its domain or user."""
        if tenant.is_operator:
            return True
        return (
            Grant(GrantKind.DOMAIN, tenant.owner) in self.grants
            or Grant(GrantKind.USER, tenant.user) in self.grants
        )


@dataclass(frozen=True, slots=True)
class Flavour:
    """A named size (PaddleFlow's flavour): what a launch naming it holds of its queue."""

    name: str
    size: Resources
    create_time: datetime


class ClusterKind(enum.Enum):
    LOCAL = "local"
    RAY = "ray"


@dataclass(frozen=True, slots=True)
class Cluster:
    """Where processes run: the local machine, or a Ray cluster registered by address."""

    name: str
    kind: ClusterKind
    address: str
    resources: Resources
    create_time: datetime
    description: str = ""


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a queue, flavour or cluster (None: it can)."""
    if not name:
        return "must not be empty"
    if not is_dns1123_label(name):
        return (
            "must be a DNS-1123 label: at most 63 lower-case letters, digits, '-' or '.', "
            "starting and ending with a letter or digit"
        )
    return None


def resources_problem(resources: Resources) -> str | None:
    """Why an amount cannot be stored (None: it can)."""
    if resources.cpu < 0 or resources.mem < 0:
        return "cpu and mem must not be negative"
    if len(resources.scalar) > MAX_SCALARS:
        return f"at most {MAX_SCALARS} scalar resources"
    for kind, amount in resources.scalar.items():
        if not kind or len(kind) > MAX_NAME or not all(c.isalnum() or c in "-_./" for c in kind):
            return f"scalar resource name {kind[:MAX_NAME]!r} must be 1-63 of [A-Za-z0-9-_./]"
        if amount < 0:
            return f"scalar resource {kind} must not be negative"
    return None


def fits_within(inner: Resources, outer: Resources) -> bool:
    """Whether every dimension of `inner` is at most `outer`'s (min within max)."""
    bound: Mapping[str, int] = outer.amounts()
    return all(amount <= bound.get(name, 0) for name, amount in inner.amounts().items())
