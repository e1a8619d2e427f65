"""Validation of CreateSchedule requests, ListSchedules filters and page tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dagwire.server.workflow.errors import InvalidArgument
from dagwire.server.workflow.schedules import (
    ConcurrencyPolicy,
    ScheduleFilter,
    ScheduleRequest,
    ScheduleStatus,
    new_schedule,
    page_request,
    page_token,
    parse_filter,
    schedule_from_doc,
    schedule_to_doc,
    validate_request,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)


def request(**overrides: object) -> ScheduleRequest:
    fields: dict[str, object] = {"name": "nightly", "pipeline_id": "ppl-1", "crontab": "0 2 * * *"}
    return ScheduleRequest(**(fields | overrides))  # type: ignore[arg-type]


def violations(req: ScheduleRequest) -> list[str]:
    with pytest.raises(InvalidArgument) as caught:
        validate_request(req, NOW)
    return [v.field for v in caught.value.violations]


def test_defaults_are_concurrency_one_suspend_and_the_default_user() -> None:
    valid = validate_request(request(), NOW)
    assert valid.concurrency == 1
    assert valid.concurrency_policy is ConcurrencyPolicy.SUSPEND
    assert valid.username == "default"


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        pytest.param({"name": ""}, ["name"], id="no-name"),
        pytest.param({"name": "-bad"}, ["name"], id="bad-name"),
        pytest.param({"name": "x" * 64}, ["name"], id="long-name"),
        pytest.param({"pipeline_id": ""}, ["pipeline_id"], id="no-pipeline"),
        pytest.param({"crontab": "* * *"}, ["crontab"], id="bad-crontab"),
        pytest.param({"crontab": "0 0 30 2 *"}, ["crontab"], id="never-fires"),
        pytest.param({"concurrency": 101}, ["concurrency"], id="concurrency-over-100"),
        pytest.param({"concurrency": -1}, ["concurrency"], id="negative-concurrency"),
        pytest.param({"expire_interval": -5}, ["expire_interval"], id="negative-expire"),
        pytest.param({"description": "d" * 1025}, ["description"], id="long-description"),
        pytest.param({"parameters": {"": "x"}}, ["parameters"], id="empty-parameter-name"),
        pytest.param({"end_time": NOW - timedelta(seconds=1)}, ["end_time"], id="end-in-the-past"),
        pytest.param(
            {"start_time": NOW + timedelta(hours=2), "end_time": NOW + timedelta(hours=1)},
            ["end_time"],
            id="end-before-start",
        ),
        pytest.param(
            {"crontab": "0 2 * * *", "end_time": NOW + timedelta(minutes=1)},
            ["end_time"],
            id="no-tick-before-end",
        ),
        pytest.param(
            {"name": "", "crontab": "nope", "concurrency": 500},
            ["name", "crontab", "concurrency"],
            id="all-at-once",
        ),
    ],
)
def test_bad_requests_name_the_exact_fields(
    overrides: dict[str, object], fields: list[str]
) -> None:
    assert violations(request(**overrides)) == fields


def test_the_first_tick_follows_start_time() -> None:
    start = datetime(2024, 6, 1, tzinfo=UTC)
    valid = validate_request(request(start_time=start, crontab="0 * * * *"), NOW)
    schedule = new_schedule(valid, "sch-1", "3", NOW)
    assert schedule.next_run_time == start
    assert schedule.pipeline_version_id == "3"
    assert schedule.status is ScheduleStatus.ACTIVE


def test_a_schedule_survives_its_document_round_trip() -> None:
    valid = validate_request(
        request(
            end_time=NOW + timedelta(days=1),
            parameters={"epoch": "3"},
            catchup=True,
            expire_interval=60,
            concurrency=4,
            concurrency_policy=ConcurrencyPolicy.REPLACE,
            request_id="req-1",
        ),
        NOW,
    )
    schedule = new_schedule(valid, "sch-1", "1", NOW)
    assert schedule_from_doc(schedule_to_doc(schedule), version=0) == schedule


# -- filters --------------------------------------------------------------------------


def test_an_empty_filter_matches_everything() -> None:
    assert parse_filter("  ") == ScheduleFilter()


def test_filter_terms_join_with_and() -> None:
    parsed = parse_filter('username=alice AND status=active and name="nightly"')
    assert parsed == ScheduleFilter(username="alice", status=ScheduleStatus.ACTIVE, name="nightly")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("owner=alice", id="unknown-key"),
        pytest.param("status=running", id="unknown-status"),
        pytest.param("username", id="no-value"),
        pytest.param("name=a AND name=b", id="repeated-key"),
        pytest.param("name=a OR name=b", id="or"),
    ],
)
def test_bad_filters_are_invalid(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text)
    assert [v.field for v in caught.value.violations] == ["filter"]


# -- paging -----------------------------------------------------------------------------


def test_page_size_defaults_to_100_and_is_coerced_to_1000() -> None:
    assert page_request(0, "", "").size == 100
    assert page_request(5000, "", "").size == 1000
    with pytest.raises(InvalidArgument):
        page_request(-1, "", "")


def test_a_page_token_continues_its_own_listing_only() -> None:
    schedule = new_schedule(validate_request(request(), NOW), "sch-1", "1", NOW)
    token = page_token(schedule, "username=alice")
    assert page_request(10, token, "username=alice").after == (NOW, "sch-1")
    with pytest.raises(InvalidArgument) as caught:
        page_request(10, token, "username=bob")
    assert caught.value.violations[0].field == "page_token"
    with pytest.raises(InvalidArgument):
        page_request(10, "garbage!", "")
