"""Kuscia's documented CreateJob body (JSON or the same in YAML) builds a CreateJobRequest."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from dagwire.client import job_request_from_dict, job_request_from_text
from dagwire.client._base import BaseDagwireClient
from dagwire.client._errors import ERROR_INFO_KEY


def test_seed_curl_body_parses_unchanged(seed_job_body: dict[str, Any]) -> None:
    request = job_request_from_dict(seed_job_body)
    assert (request.job_id, request.initiator, request.max_parallelism) == (
        "job-alice-bob-001",
        "alice",
        2,
    )
    assert [t.alias for t in request.tasks] == ["job-psi", "job-split"]
    assert list(request.tasks[1].dependencies) == ["job-psi"]
    assert [p.domain_id for p in request.tasks[0].parties] == ["alice", "bob"]
    assert request.tasks[0].priority == 100


def test_task_input_config_stays_the_exact_string(seed_job_body: dict[str, Any]) -> None:
    request = job_request_from_dict(seed_job_body)
    assert request.tasks[0].task_input_config == seed_job_body["tasks"][0]["task_input_config"]
    assert json.loads(request.tasks[0].task_input_config)["sf_node_eval_param"]["name"] == "psi"


def test_seed_text_parses_as_json(seed_job_text: str, seed_job_body: dict[str, Any]) -> None:
    assert job_request_from_text(seed_job_text) == job_request_from_dict(seed_job_body)


def test_same_structure_in_yaml_parses_alike(seed_job_body: dict[str, Any]) -> None:
    text = yaml.safe_dump(seed_job_body, sort_keys=False)
    assert job_request_from_text(text) == job_request_from_dict(seed_job_body)


def test_lower_camel_field_names_are_accepted() -> None:
    request = job_request_from_dict(
        {
            "jobId": "job-a",
            "initiator": "alice",
            "maxParallelism": "3",
            "customFields": {"k": "v"},
            "tasks": [
                {
                    "appImage": "dagwire-sleep",
                    "alias": "t",
                    "taskInputConfig": "{}",
                    "parties": [{"domainId": "alice"}],
                    "scheduleConfig": {"taskTimeoutSeconds": 5},
                    "tolerable": True,
                }
            ],
        }
    )
    assert (request.job_id, request.max_parallelism, request.custom_fields["k"]) == (
        "job-a",
        3,
        "v",
    )
    task = request.tasks[0]
    assert (task.app_image, task.schedule_config.task_timeout_seconds, task.tolerable) == (
        "dagwire-sleep",
        5,
        True,
    )


def test_numbers_may_be_strings_as_kuscia_docs_show_priority() -> None:
    request = job_request_from_dict({"job_id": "j", "tasks": [{"alias": "t", "priority": "7"}]})
    assert request.tasks[0].priority == 7


def test_unknown_field_is_rejected_with_its_name() -> None:
    with pytest.raises(ValueError, match="jobb_id"):
        job_request_from_dict({"jobb_id": "j"})


def test_an_unknown_field_is_named_in_snake_case_with_its_path_and_the_valid_names() -> None:
    body = {"job_id": "j", "tasks": [{"alias": "t"}, {"alias": "u", "app_imag": "x"}]}
    with pytest.raises(ValueError) as error:
        job_request_from_dict(body)
    assert str(error.value) == (
        "unknown field tasks[1].app_imag (did you mean app_image?); Task has: app_image, "
        "parties, alias, task_id, dependencies, task_input_config, priority, schedule_config, "
        "tolerable"
    )


def test_an_unknown_field_inside_a_map_value_or_nested_message_is_found() -> None:
    body = {"tasks": [{"parties": [{"domain_id": "a", "resources": {"cpus": "1"}}]}]}
    with pytest.raises(
        ValueError, match=r"unknown field tasks\[0\]\.parties\[0\]\.resources\.cpus"
    ):
        job_request_from_dict(body)


def test_unknown_field_can_be_ignored_on_request() -> None:
    request = job_request_from_dict({"job_id": "j", "extra": 1}, ignore_unknown_fields=True)
    assert request.job_id == "j"


def test_broken_json_reports_a_json_error() -> None:
    with pytest.raises(ValueError, match="invalid JSON"):
        job_request_from_text('{"job_id": ')


def test_a_document_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(ValueError, match="mapping"):
        job_request_from_text("- just\n- a list\n")


def test_client_accepts_a_dict_wherever_a_request_is_expected(
    seed_job_body: dict[str, Any],
) -> None:
    call = BaseDagwireClient._create_call(seed_job_body)
    assert call.method == "CreateJob"
    assert call.request == job_request_from_dict(seed_job_body)


def test_token_travels_as_token_metadata() -> None:
    client = BaseDagwireClient(token="s3cret", metadata={"x-trace": "1"})
    assert client._metadata == (("x-trace", "1"), (ERROR_INFO_KEY, "1"), ("token", "s3cret"))


def test_no_token_sends_no_token_metadata() -> None:
    assert BaseDagwireClient()._metadata == ((ERROR_INFO_KEY, "1"),)


def test_approve_sends_the_deciding_domain_extension() -> None:
    call = BaseDagwireClient._approve_call("j", False, "no", "bob")
    assert call.method == "ApproveJob"
    assert (call.request.result, call.request.domain_id, call.request.reason) == (2, "bob", "no")
