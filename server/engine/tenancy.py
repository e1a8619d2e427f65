"""Whose resources a call may see, as the workflow room sees it: the caller's domain
(None: an operator, who sees every domain's) and the user it acts as. Every pipeline,
version, run, schedule, cache entry and artifact stores the domain that created it as
its owner; an operator's own creations have the owner "" (OPERATOR_OWNER), which only
operators see. Pure values: the API builds one from the authenticated principal."""

from __future__ import annotations

from dataclasses import dataclass

OPERATOR_OWNER = ""


@dataclass(frozen=True, slots=True)
class Tenant:
    domain: str | None  # None: an operator
    user: str

    @property
    def owner(self) -> str:
        """The owner of what this caller creates."""
        return self.domain if self.domain is not None else OPERATOR_OWNER

    @property
    def is_operator(self) -> bool:
        return self.domain is None

    def sees(self, owner: str) -> bool:
        """Whether a resource with this owner exists for the caller; a foreign one is
        answered exactly as a missing one."""
        return self.domain is None or owner == self.domain

    @classmethod
    def of_owner(cls, owner: str, user: str) -> Tenant:
        """The tenant that owns a resource: what a schedule acts as when it fires."""
        return cls(domain=owner if owner != OPERATOR_OWNER else None, user=user)


# Internal callers that act for nobody in particular (recovery, tests of the room).
EVERYONE = Tenant(domain=None, user="default")
