"""Error answers as Kuscia's own server gives them, read by a client built from Kuscia's
job.proto alone (tests/kuscia/kuscia_client.py). Sources are in secretflow/kuscia at the
commit e909d9f6 (the client itself is built from the stubs Kuscia publishes on PyPI)."""

from __future__ import annotations

import json

from tests.kuscia.conftest import create, create_request, doc_body, sleeping_body
from tests.kuscia.kuscia_client import KusciaJobClient


async def test_an_error_answer_has_empty_details_and_prints_with_kuscias_protos(
    kuscia: KusciaJobClient,
) -> None:
    # pkg/web/utils/response_status.go BuildErrorResponseStatus: code and message only.
    response = await kuscia("QueryJob", job_id="ghost")
    assert response.status.code == 11202
    assert list(response.status.details) == []
    printed = json.loads(kuscia.protos.to_json(response))
    assert printed["status"] == {"code": 11202, "message": "job 'ghost' does not exist"}


async def test_every_rpc_refuses_an_empty_job_id_with_11100(kuscia: KusciaJobClient) -> None:
    # job_service.go QueryJob/DeleteJob/StopJob/SuspendJob/RestartJob/CancelJob/ApproveJob:
    # `jobID == ""` -> ErrorCode_KusciaAPIErrRequestValidate.
    for rpc in ("QueryJob", "DeleteJob", "StopJob", "SuspendJob", "RestartJob", "CancelJob"):
        response = await kuscia(rpc, job_id="")
        assert (rpc, response.status.code) == (rpc, 11100)
        assert list(response.status.details) == []


async def test_a_duplicate_job_id_is_refused_with_11201(kuscia: KusciaJobClient) -> None:
    # job_service.go CreateJob: the KusciaJob Create fails (AlreadyExists) ->
    # ErrorCode_KusciaAPIErrCreateJob (11201).
    await create(kuscia, sleeping_body("dup", 0))
    response = await kuscia.call("CreateJob", create_request(kuscia.protos, doc_body("dup")))
    assert response.status.code == 11201
    assert "already exists" in response.status.message
    assert list(response.status.details) == []


async def test_a_missing_job_gets_each_operations_own_code(kuscia: KusciaJobClient) -> None:
    # job_service.go: the KusciaJob Get/Delete fails -> the operation's code.
    codes = {
        "QueryJob": 11202,
        "DeleteJob": 11204,
        "StopJob": 11205,
        "SuspendJob": 11207,
        "RestartJob": 11208,
        "CancelJob": 11209,
    }
    for rpc, code in codes.items():
        assert (rpc, (await kuscia(rpc, job_id="ghost")).status.code) == (rpc, code)
    batch = await kuscia("BatchQueryJobStatus", job_ids=["ghost"])
    assert batch.status.code == 11203


async def test_batch_query_with_an_empty_id_is_refused_with_11100(kuscia: KusciaJobClient) -> None:
    # job_service.go validateBatchQueryJobStatusRequest: "job id can not be empty".
    assert (await kuscia("BatchQueryJobStatus", job_ids=[])).status.code == 11100
    assert (await kuscia("BatchQueryJobStatus", job_ids=[""])).status.code == 11100


async def test_approve_with_an_unknown_result_is_refused_with_11100(
    kuscia: KusciaJobClient,
) -> None:
    # job_service.go ApproveJob: result neither ACCEPT nor REJECT -> "request result must
    # be legal" (ErrorCode_KusciaAPIErrRequestValidate).
    await create(kuscia, sleeping_body("approve-unknown", 0))
    response = await kuscia("ApproveJob", job_id="approve-unknown", result=0)
    assert response.status.code == 11100
