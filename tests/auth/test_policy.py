"""Who may see and act on which job: the pure policy functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagwire.server.auth.errors import PermissionDenied
from dagwire.server.auth.policy import approving_domain, can_see, require_party
from dagwire.server.auth.principal import OPERATOR, Principal
from dagwire.server.engine.model import Job, JobSpec, JobState, PartySpec, TaskSpec

ALICE = Principal(domain="alice", name="alice")


def job(*parties: str) -> Job:
    task = TaskSpec("t", "t", "dagwire-sleep", tuple(PartySpec(p) for p in parties))
    spec = JobSpec("j", parties[0], 1, (task,))
    return Job(spec, JobState.PENDING, (), datetime(2024, 1, 1, tzinfo=UTC))


def test_a_party_sees_its_job() -> None:
    assert can_see(ALICE, job("bob", "alice"))


def test_a_domain_does_not_see_a_job_it_is_no_party_of() -> None:
    assert not can_see(ALICE, job("bob"))


def test_an_operator_sees_every_job() -> None:
    assert can_see(OPERATOR, job("bob"))


def test_require_party_names_the_domain_and_the_job() -> None:
    with pytest.raises(PermissionDenied, match="domain 'alice' is not a party of job 'j'"):
        require_party(ALICE, job("bob"))


def test_require_party_checks_a_spec_before_it_becomes_a_job() -> None:
    require_party(ALICE, job("alice").spec)
    with pytest.raises(PermissionDenied):
        require_party(ALICE, job("bob").spec)


def test_a_bound_caller_approves_for_its_own_domain() -> None:
    assert approving_domain(ALICE, None) == "alice"
    assert approving_domain(ALICE, "alice") == "alice"


def test_a_bound_caller_cannot_approve_for_another_domain() -> None:
    with pytest.raises(PermissionDenied, match="cannot decide an approval for domain 'bob'"):
        approving_domain(ALICE, "bob")


def test_an_operator_approves_for_the_domain_it_names_or_for_all() -> None:
    assert approving_domain(OPERATOR, "bob") == "bob"
    assert approving_domain(OPERATOR, None) is None
