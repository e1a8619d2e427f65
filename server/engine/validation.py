"""Validation of a submitted job spec: precise messages, nothing half-accepted."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from dagwire.server.engine.errors import InvalidRequest
from dagwire.server.engine.model import JobSpec, TaskSpec
from dagwire.server.engine.names import DNS1123_LABEL_MAX, is_dns1123_label
from dagwire.server.engine.quoting import quoted

_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep one request from exhausting the server."""

    max_tasks: int = 10_000
    max_parties_per_task: int = 64
    max_dependencies_per_task: int = 10_000
    max_dependency_edges: int = 200_000
    max_task_input_config_bytes: int = 1 << 20
    max_name_length: int = 253
    max_custom_fields: int = 64
    max_custom_field_key: int = 38
    max_custom_field_value: int = 63


def is_dns1123_subdomain(name: str, max_length: int = 253) -> bool:
    return 0 < len(name) <= max_length and _DNS1123_SUBDOMAIN.match(name) is not None


def validate_job_spec(spec: JobSpec, limits: Limits = Limits()) -> None:
    """Raise InvalidRequest naming the first problem found; return if the spec is sound."""
    _check_job_id(spec.job_id, limits)
    if not spec.initiator:
        raise InvalidRequest("initiator is required: the domain id of the party starting the job")
    _check_length("initiator", spec.initiator, limits)
    _check_custom_fields(spec, limits)
    if not spec.tasks:
        raise InvalidRequest("tasks must not be empty: a job needs at least one task")
    if len(spec.tasks) > limits.max_tasks:
        raise InvalidRequest(
            f"a job may have at most {limits.max_tasks} tasks, got {len(spec.tasks)}"
        )
    edges = sum(len(task.dependencies) for task in spec.tasks)
    if edges > limits.max_dependency_edges:
        raise InvalidRequest(
            f"the job's tasks have {edges} dependencies in all; "
            f"at most {limits.max_dependency_edges} are allowed"
        )
    aliases: set[str] = set()
    task_ids: set[str] = set()
    for index, task in enumerate(spec.tasks):
        _check_task(index, task, limits)
        if task.alias in aliases:
            raise InvalidRequest(f"tasks[{index}].alias {task.alias!r} is used by another task")
        if task.task_id in task_ids:
            raise InvalidRequest(f"tasks[{index}].task_id {task.task_id!r} is used by another task")
        aliases.add(task.alias)
        task_ids.add(task.task_id)
    for index, task in enumerate(spec.tasks):
        for dependency in task.dependencies:
            if dependency not in aliases:
                raise InvalidRequest(
                    f"tasks[{index}] ({task.alias!r}) depends on {quoted(dependency)}, "
                    "which is not the alias of any task in this job"
                )
    _check_acyclic(spec.tasks)


def _check_job_id(job_id: str, limits: Limits) -> None:
    if not job_id:
        raise InvalidRequest("job_id is required")
    if not is_dns1123_subdomain(job_id, limits.max_name_length):
        raise InvalidRequest(
            f"job_id {job_id[:80]!r} is not a DNS-1123 subdomain: use lowercase letters, digits, "
            f"'-' and '.', starting and ending with a letter or digit, at most "
            f"{limits.max_name_length} characters"
        )


def _check_custom_fields(spec: JobSpec, limits: Limits) -> None:
    if len(spec.custom_fields) > limits.max_custom_fields:
        raise InvalidRequest(f"custom_fields may have at most {limits.max_custom_fields} entries")
    for key, value in spec.custom_fields.items():
        if not key or len(key) > limits.max_custom_field_key:
            raise InvalidRequest(
                f"custom_fields key {key[:60]!r} must have 1 to {limits.max_custom_field_key} characters"
            )
        if len(value) > limits.max_custom_field_value:
            raise InvalidRequest(
                f"custom_fields[{key!r}] value has {len(value)} characters; "
                f"at most {limits.max_custom_field_value} are allowed"
            )


def _check_task(index: int, task: TaskSpec, limits: Limits) -> None:
    where = f"tasks[{index}]"
    if not task.alias:
        raise InvalidRequest(f"{where}.alias is required")
    if len(task.alias) > limits.max_name_length:
        raise InvalidRequest(f"{where}.alias is longer than {limits.max_name_length} characters")
    if not is_dns1123_subdomain(task.task_id, limits.max_name_length):
        raise InvalidRequest(
            f"{where}.task_id {task.task_id[:80]!r} is not a DNS-1123 subdomain "
            "(lowercase letters, digits, '-' and '.'); it defaults to the alias"
        )
    if not task.app_image:
        raise InvalidRequest(f"{where} ({task.alias!r}).app_image is required")
    _check_length(f"{where}.app_image", task.app_image, limits)
    if not task.parties:
        raise InvalidRequest(f"{where} ({task.alias!r}).parties must not be empty")
    if len(task.parties) > limits.max_parties_per_task:
        raise InvalidRequest(
            f"{where} ({task.alias!r}) has {len(task.parties)} parties; "
            f"at most {limits.max_parties_per_task} are allowed"
        )
    domains: set[str] = set()
    for p_index, party in enumerate(task.parties):
        if not party.domain_id:
            raise InvalidRequest(f"{where}.parties[{p_index}].domain_id is required")
        if not is_dns1123_label(party.domain_id):
            # A domain id names a directory of each of its processes: see engine.names.
            raise InvalidRequest(
                f"{where}.parties[{p_index}].domain_id {quoted(party.domain_id)} is not a "
                "DNS-1123 label: lowercase letters, digits, '-' and '.', starting and ending "
                f"with a letter or digit, at most {DNS1123_LABEL_MAX} characters"
            )
        _check_length(f"{where}.parties[{p_index}].role", party.role, limits)
        if party.domain_id in domains:
            raise InvalidRequest(
                f"{where}.parties[{p_index}].domain_id {party.domain_id!r} appears twice in the task"
            )
        domains.add(party.domain_id)
    if len(task.dependencies) > limits.max_dependencies_per_task:
        raise InvalidRequest(f"{where} ({task.alias!r}) has too many dependencies")
    if len(task.task_input_config.encode()) > limits.max_task_input_config_bytes:
        raise InvalidRequest(
            f"{where} ({task.alias!r}).task_input_config is larger than "
            f"{limits.max_task_input_config_bytes} bytes"
        )
    if task.priority < 0:
        raise InvalidRequest(f"{where} ({task.alias!r}).priority must not be negative")
    if task.timeout_seconds < 0:
        raise InvalidRequest(f"{where} ({task.alias!r}).timeout_seconds must not be negative")


def _check_length(where: str, value: str, limits: Limits) -> None:
    if len(value) > limits.max_name_length:
        raise InvalidRequest(
            f"{where} has {len(value)} characters; at most {limits.max_name_length} are allowed"
        )


def _check_acyclic(tasks: tuple[TaskSpec, ...]) -> None:
    """Kahn's algorithm: iterative, so a deep chain cannot exhaust the stack."""
    indegree = {task.alias: len(set(task.dependencies)) for task in tasks}
    dependents: dict[str, list[str]] = {task.alias: [] for task in tasks}
    for task in tasks:
        for dependency in set(task.dependencies):
            dependents[dependency].append(task.alias)
    ready = deque(alias for alias, degree in indegree.items() if degree == 0)
    visited = 0
    while ready:
        alias = ready.popleft()
        visited += 1
        for dependent in dependents[alias]:
            indegree[dependent] -= 1
            if indegree[dependent] == 0:
                ready.append(dependent)
    if visited < len(tasks):
        cyclic = sorted(alias for alias, degree in indegree.items() if degree > 0)
        shown = ", ".join(repr(alias) for alias in cyclic[:10])
        raise InvalidRequest(f"task dependencies form a cycle through {shown}")
