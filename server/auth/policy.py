"""What a caller may see and do. Pure functions of the caller and the job."""

from __future__ import annotations

from dagwire.server.auth.errors import PermissionDenied
from dagwire.server.auth.principal import Principal
from dagwire.server.engine.errors import JobNotFound
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


def require_visible(principal: Principal, job: Job) -> None:
    """Raise JobNotFound, exactly as for a missing job, unless the caller may see the job:
    a refusal that differed would tell a tenant that another domain's job id exists."""
    if not can_see(principal, job):
        raise JobNotFound(job.job_id)


def require_initiator(principal: Principal, spec: JobSpec) -> None:
    """A tenant's jobs are initiated by its own domain; only an operator names another."""
    if principal.domain is not None and spec.initiator != principal.domain:
        raise PermissionDenied(
            f"domain {principal.domain!r} cannot create a job with initiator "
            f"{spec.initiator[:200]!r}: a tenant's jobs are initiated by its own domain"
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
