"""ListJobs (`/api/v1/job/list`, a dagwire extension) filtered by a part of the job id,
as the web UI's jobs list asks: pages bound to the filter, the filter bounded."""

from __future__ import annotations

from tests.gateway.conftest import SUCCESS, Gateway, kuscia_create_body

LIST = "/api/v1/job/list"


async def test_jobs_whose_id_contains_the_text_are_listed_page_by_page(gateway: Gateway) -> None:
    for job_id in ("alpha-1", "beta-1", "alpha-2"):
        await gateway.create(kuscia_create_body(job_id, app_image="dagwire-noop"))
    first = await gateway.post(LIST, {"job_id_contains": "alpha", "page_size": 1})
    assert first.body["status"] == SUCCESS
    assert [job["job_id"] for job in first.body["data"]["jobs"]] == ["alpha-1"]
    token = first.body["data"]["next_page_token"]
    body = {"job_id_contains": "alpha", "page_size": 1, "page_token": token}
    second = await gateway.post(LIST, body)
    assert [job["job_id"] for job in second.body["data"]["jobs"]] == ["alpha-2"]
    assert second.body["data"]["next_page_token"] == ""
    everything = await gateway.post(LIST, {})
    assert [job["job_id"] for job in everything.body["data"]["jobs"]] == [
        "alpha-1",
        "beta-1",
        "alpha-2",
    ]


async def test_a_page_token_is_bound_to_the_text_it_was_listed_with(gateway: Gateway) -> None:
    for job_id in ("alpha-1", "alpha-2"):
        await gateway.create(kuscia_create_body(job_id, app_image="dagwire-noop"))
    first = await gateway.post(LIST, {"job_id_contains": "alpha", "page_size": 1})
    token = first.body["data"]["next_page_token"]
    other = await gateway.post(LIST, {"job_id_contains": "al", "page_token": token})
    assert other.body["status"]["code"] == 11100


async def test_text_no_job_id_could_contain_is_refused(gateway: Gateway) -> None:
    reply = await gateway.post(LIST, {"job_id_contains": "Alpha*"})
    assert reply.body["status"]["code"] == 11100
    assert reply.body["status"]["message"] == (
        "job_id_contains must be at most 63 lower-case letters, digits, '.' or '-' "
        "(a job id's characters), got 'Alpha*'"
    )
    reply = await gateway.post(LIST, {"job_id_contains": "a" * 64})
    assert reply.body["status"]["code"] == 11100
