"""What CreateJob refuses, and the words it uses."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dagwire.server.engine.errors import InvalidRequest
from dagwire.server.engine.model import PartySpec
from dagwire.server.engine.validation import Limits, validate_job_spec
from tests.engine.factories import spec, task


def test_a_sound_spec_passes() -> None:
    validate_job_spec(spec(task("a"), task("b", "a")))


@pytest.mark.parametrize(
    ("job_id", "why"),
    [
        pytest.param("", "job_id is required", id="empty"),
        pytest.param("Job_1", "not a DNS-1123 subdomain", id="uppercase-and-underscore"),
        pytest.param("-job", "not a DNS-1123 subdomain", id="leading-dash"),
        pytest.param("a" * 254, "not a DNS-1123 subdomain", id="too-long"),
    ],
)
def test_bad_job_ids_are_refused(job_id: str, why: str) -> None:
    with pytest.raises(InvalidRequest, match=why):
        validate_job_spec(replace(spec(task("a")), job_id=job_id))


def test_dotted_job_id_is_a_valid_subdomain() -> None:
    validate_job_spec(replace(spec(task("a")), job_id="team.job-1"))


def test_missing_initiator_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="initiator is required"):
        validate_job_spec(replace(spec(task("a")), initiator=""))


def test_a_job_without_tasks_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="tasks must not be empty"):
        validate_job_spec(spec())


def test_a_task_without_parties_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"tasks\[0\] \('a'\).parties must not be empty"):
        validate_job_spec(spec(task("a", parties=())))


def test_a_party_without_domain_is_refused() -> None:
    bad = replace(task("a"), parties=(PartySpec(""),))
    with pytest.raises(InvalidRequest, match=r"tasks\[0\].parties\[0\].domain_id is required"):
        validate_job_spec(spec(bad))


def test_an_unknown_dependency_is_named() -> None:
    with pytest.raises(InvalidRequest, match="depends on 'ghost', which is not the alias"):
        validate_job_spec(spec(task("a", "ghost")))


def test_a_cycle_is_refused_naming_its_tasks() -> None:
    with pytest.raises(InvalidRequest, match="cycle through 'a', 'b'"):
        validate_job_spec(spec(task("a", "b"), task("b", "a"), task("c")))


def test_a_self_dependency_is_a_cycle() -> None:
    with pytest.raises(InvalidRequest, match="cycle through 'a'"):
        validate_job_spec(spec(task("a", "a")))


def test_a_deep_chain_is_checked_without_recursion() -> None:
    chain = [task("t0")] + [task(f"t{i}", f"t{i - 1}") for i in range(1, 5000)]
    validate_job_spec(spec(*chain))


def test_duplicate_aliases_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="alias 'a' is used by another task"):
        validate_job_spec(spec(task("a"), replace(task("a"), task_id="other")))


def test_custom_field_limits_follow_kuscia() -> None:
    validate_job_spec(replace(spec(task("a")), custom_fields={"k" * 38: "v" * 63}))
    with pytest.raises(InvalidRequest, match="1 to 38 characters"):
        validate_job_spec(replace(spec(task("a")), custom_fields={"k" * 39: "v"}))
    with pytest.raises(InvalidRequest, match="at most 63 are allowed"):
        validate_job_spec(replace(spec(task("a")), custom_fields={"k": "v" * 64}))


def test_task_count_is_bounded() -> None:
    with pytest.raises(InvalidRequest, match="at most 3 tasks"):
        validate_job_spec(spec(*(task(f"t{i}") for i in range(4))), Limits(max_tasks=3))


def test_total_dependency_edges_are_bounded() -> None:
    layer = [task(f"a{i}") for i in range(10)]
    dense = [task(f"b{i}", *(t.alias for t in layer)) for i in range(10)]
    with pytest.raises(InvalidRequest, match="100 dependencies in all; at most 99"):
        validate_job_spec(spec(*layer, *dense), Limits(max_dependency_edges=99))


def test_overlong_names_are_refused_naming_the_field() -> None:
    long_role = replace(task("a"), parties=(PartySpec("alice", role="r" * 254),))
    with pytest.raises(InvalidRequest, match=r"tasks\[0\].parties\[0\].role has 254 characters"):
        validate_job_spec(spec(long_role))
