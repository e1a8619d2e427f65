"""A stored running job with a party the executor cannot recreate (a domain id such as
`x/y`, `..`, NUL, stored by a version that did not check ids) fails that party, saying
why; the server starts and serves, and nothing is written outside the data dir."""

from __future__ import annotations

from pathlib import Path

import grpc

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.config import ServerConfig
from tests.api.conftest import wait_for_state
from tests.conftest import ServerThread
from tests.security.stored_jobs import HOSTILE_DOMAINS, running_job, store_as_an_older_version


def failure_reasons(status: pb.JobStatusDetail) -> str:
    parts = [status.err_msg]
    for task in status.tasks:
        parts.append(task.err_msg)
        parts.extend(party.err_msg for party in task.parties)
    return " | ".join(parts)


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*")}


async def test_a_stored_job_with_an_unnameable_party_fails_it_with_a_reason_and_the_server_serves(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    jobs = [running_job(job_id, domain) for job_id, domain in HOSTILE_DOMAINS.items()]
    await store_as_an_older_version(server_config.data_dir, jobs)
    outside_before = files_under(tmp_path) - files_under(server_config.data_dir)
    server = ServerThread(server_config)
    server.start()  # raised "PartyKey(...) cannot name a directory" before
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = job_pb2_grpc.JobServiceStub(channel)
            for job_id, domain in HOSTILE_DOMAINS.items():
                answer = await wait_for_state(stub, job_id, "Failed")
                reasons = failure_reasons(answer.data.status)
                assert "cannot be recovered" in reasons, reasons
                assert repr(domain) in reasons, reasons
            created = await stub.CreateJob(
                pb.CreateJobRequest(
                    job_id="after-recovery",
                    initiator="alice",
                    tasks=[
                        pb.Task(
                            alias="t",
                            app_image="dagwire-noop",
                            parties=[pb.Party(domain_id="alice")],
                        )
                    ],
                )
            )
            assert created.status.code == 0, created.status.message
            await wait_for_state(stub, "after-recovery", "Succeeded")
    finally:
        server.stop()
    outside_after = files_under(tmp_path) - files_under(server_config.data_dir)
    assert outside_after == outside_before
