"""What a caller may see and do. Pure functions of the caller and the job."""

from __future__ import annotations

from dagwire.server.auth.errors import PermissionDenied
from dagwire.server.auth.principal import Principal
from dagwire.server.engine.model import Job, JobSpec
from dagwire.server.engine.quoting import quoted


def can_see(principal: Principal, job: Job) -> bool:
    return principal.domain is None or job.has_party(principal.domain)


def require_party(principal: Principal, job: Job | JobSpec) -> None:
    """Raise PermissionDenied unless the caller is an operator or a party of the job."""
    spec = job.spec if isinstance(job, Job) else job
    if principal.domain is not None and principal.domain not in spec.domains:
        raise PermissionDenied(
            f"domain {principal.domain!r} is not a party of job {quoted(spec.job_id)}"
        )


def approving_domain(principal: Principal, requested: str | None) -> str | None:
    """The domain an approval decides for: a bound caller decides for its own domain only;
    an operator for the one it names (None: every undecided party)."""
    if principal.domain is None:
        return requested
    if requested is not None and requested != principal.domain:
        raise PermissionDenied(
            f"domain {principal.domain!r} cannot decide an approval for domain {requested!r}"
        )
    return principal.domain
