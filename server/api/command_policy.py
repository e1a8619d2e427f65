"""Who may run free `command:` pipeline steps.

Registered app images are the safe path: the operator chose what they run. A free
command is the caller's own code, so it needs the operator's leave per domain
(--command-domains, or the token file's `command_domains`); operators always have it.
And tenant code never runs bare on the host: without a working sandbox every tenant's
command step is refused, unless the operator started the server with --unsandboxed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog

from dagwire.server.auth.errors import PermissionDenied
from dagwire.server.auth.principal import current_principal
from dagwire.server.workflow.errors import FailedPrecondition
from dagwire.server.workflow.spec import PipelineSpec

log = structlog.get_logger(__name__)

COMMAND_RULE = (
    "free `command:` steps are allowed only for the domains the operator lists in "
    "--command-domains (or the token file's command_domains)"
)
NO_SANDBOX_RULE = (
    "this server has no working sandbox (bubblewrap) for tenant code, so it refuses "
    "tenants' free `command:` steps; the operator must install bubblewrap, or start the "
    "server with --unsandboxed to run them bare on the host"
)


@dataclass(frozen=True, slots=True)
class CommandPolicy:
    domains: frozenset[str] = field(default_factory=frozenset)
    # False: no sandbox works here and the operator did not say --unsandboxed.
    tenant_code_allowed: bool = True

    def check(self, spec: PipelineSpec) -> None:
        """Refuse the spec if it has command steps the current caller may not run."""
        steps = [step.name for step in spec.steps if step.command]
        if steps:
            self.check_steps(steps)

    def check_steps(self, steps: Iterable[str]) -> None:
        principal = current_principal()
        if principal.is_operator:
            return
        names = ", ".join(sorted(steps))
        if principal.domain not in self.domains:
            log.warning("command steps refused", domain=principal.domain, steps=names)
            raise PermissionDenied(
                f"domain {principal.domain!r} may not run free command steps ({names}): "
                f"{COMMAND_RULE}; use a registered app image (app_image:) instead"
            )
        if not self.tenant_code_allowed:
            raise FailedPrecondition("steps", names, NO_SANDBOX_RULE)
