"""A two-party job across two nodes: created at the initiator's node (alice), carried to
bob's node and to no other, approved at bob's, run with each party at its own node, the
parties talking over the endpoints their nodes allocated; a reject at bob, and a stop
at alice, reach the other node."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from tests.eventually import assert_eventually
from tests.federation.nodes import Node, approve, sum_job


async def test_a_job_created_at_alice_runs_at_both_nodes_after_bob_approves(
    trio: dict[str, Node],
) -> None:
    alice, bob, carol = trio["alice"], trio["bob"], trio["carol"]
    created = await alice.call("CreateJob", sum_job("sum-ok"))
    assert created.status.code == 0, created  # type: ignore[attr-defined]
    # Carried to bob's node, where it waits for bob's decision; alice's waits with it.
    await bob.wait_state("sum-ok", {"AwaitingApproval"})
    assert await alice.state("sum-ok") == "AwaitingApproval"
    assert not alice.attempts("sum-ok", "alice"), "alice's party ran before bob approved"
    decided = await bob.call("ApproveJob", approve("sum-ok"))
    assert decided.status.code == 0, decided  # type: ignore[attr-defined]

    assert await alice.wait_state("sum-ok", {"Succeeded", "Failed"}) == "Succeeded", (
        await alice.query("sum-ok")
    ).data.status
    assert await bob.wait_state("sum-ok", {"Succeeded", "Failed"}) == "Succeeded"

    # Each party ran under its own node's data dir, and only there.
    (alice_run,) = alice.attempts("sum-ok", "alice")
    (bob_run,) = bob.attempts("sum-ok", "bob")
    assert not alice.attempts("sum-ok", "bob") and not bob.attempts("sum-ok", "alice")
    # Both learned the total (17 + 25) and neither saw the other's secret.
    alice_log = (alice_run / "output.log").read_text()
    bob_log = (bob_run / "output.log").read_text()
    assert "total=42" in alice_log and "total=42" in bob_log, (alice_log, bob_log)
    assert "25" not in alice_log.replace("total=42", "")
    assert "17" not in bob_log.replace("total=42", "")
    # The cluster definition listed both parties' endpoints, each allocated by its node.
    task = json.loads((bob_run / "task.json").read_text())
    endpoints = {p["domain_id"]: p["endpoints"] for p in task["parties"]}
    assert set(endpoints) == {"alice", "bob"} and all(len(e) == 1 for e in endpoints.values())

    # Both nodes show the same job and task states.
    at_alice, at_bob = (await alice.query("sum-ok")).data, (await bob.query("sum-ok")).data
    assert at_alice.initiator == at_bob.initiator == "alice"
    for data in (at_alice, at_bob):
        (task_status,) = data.status.tasks
        assert task_status.state == "Succeeded"
        assert {(p.domain_id, p.state) for p in task_status.parties} == {
            ("alice", "Succeeded"),
            ("bob", "Succeeded"),
        }
    batch = await bob.call("BatchQueryJobStatus", pb.BatchQueryJobStatusRequest(job_ids=["sum-ok"]))
    assert batch.data.jobs[0].status.state == "Succeeded"  # type: ignore[attr-defined]

    # carol is no party: her node never received the job.
    assert (await carol.query("sum-ok")).status.code != 0
    assert "sum-ok" not in carol.log()


async def test_watch_at_bob_follows_the_job_to_its_end(trio: dict[str, Node]) -> None:
    import grpc

    from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc

    alice, bob = trio["alice"], trio["bob"]
    states: list[str] = []
    async with grpc.aio.insecure_channel(bob.address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)
        stream = stub.WatchJob(pb.WatchJobRequest(job_ids=["sum-watch"], timeout_seconds=60))
        assert (await alice.call("CreateJob", sum_job("sum-watch"))).status.code == 0  # type: ignore[attr-defined]
        await bob.wait_state("sum-watch", {"AwaitingApproval"})
        await bob.call("ApproveJob", approve("sum-watch"))
        async for event in stream:
            if event.type == pb.HEARTBEAT or event.object.job_id != "sum-watch":
                continue
            states.append(event.object.status.state)
            if event.object.status.state in {"Succeeded", "Failed"}:
                break
    assert states[-1] == "Succeeded" and "Running" in states, states


async def test_a_reject_at_bob_ends_the_job_approval_reject_at_alice(
    trio: dict[str, Node],
) -> None:
    alice, bob = trio["alice"], trio["bob"]
    assert (await alice.call("CreateJob", sum_job("sum-no"))).status.code == 0  # type: ignore[attr-defined]
    await bob.wait_state("sum-no", {"AwaitingApproval"})
    rejected = await bob.call("ApproveJob", approve("sum-no", accept=False, reason="not today"))
    assert rejected.status.code == 0, rejected  # type: ignore[attr-defined]
    assert await alice.wait_state("sum-no", {"ApprovalReject", "Failed", "Succeeded"}) == (
        "ApprovalReject"
    )
    status = (await alice.query("sum-no")).data.status
    assert "rejected by bob" in status.err_msg and "not today" in status.err_msg
    assert not alice.attempts("sum-no", "alice") and not bob.attempts("sum-no", "bob")


async def test_a_stop_at_alice_stops_bobs_party(trio: dict[str, Node]) -> None:
    alice, bob = trio["alice"], trio["bob"]
    # A long exchange nobody completes: alice's party is stopped before it can answer.
    job = sum_job("sum-stop", timeout=120)
    job.tasks[0].app_image = "dagwire-sleep"
    job.tasks[0].task_input_config = '{"sleep_seconds": 120}'
    assert (await alice.call("CreateJob", job)).status.code == 0  # type: ignore[attr-defined]
    await bob.wait_state("sum-stop", {"AwaitingApproval"})
    await bob.call("ApproveJob", approve("sum-stop"))

    async def parties_running() -> set[str]:
        data = (await alice.query("sum-stop")).data
        return {p.domain_id for t in data.status.tasks for p in t.parties if p.state == "Running"}

    await assert_eventually(
        parties_running, lambda running: running == {"alice", "bob"}, timeout=30
    )
    stopped = await alice.call("StopJob", pb.StopJobRequest(job_id="sum-stop", reason="enough"))
    assert stopped.status.code == 0  # type: ignore[attr-defined]
    assert await bob.wait_state("sum-stop", {"Failed", "Succeeded"}) == "Failed"
    status = (await bob.query("sum-stop")).data.status
    assert "stopped by alice: enough" in status.err_msg
    (bob_run,) = bob.attempts("sum-stop", "bob")
    # bob's own process was ended at bob's node: its exit record is there.
    await assert_eventually(lambda: (bob_run / "exit_status").exists(), timeout=15)


async def test_bob_may_stop_its_own_participation(trio: dict[str, Node]) -> None:
    alice, bob = trio["alice"], trio["bob"]
    job = sum_job("sum-quit")
    job.tasks[0].app_image = "dagwire-sleep"
    job.tasks[0].task_input_config = '{"sleep_seconds": 120}'
    assert (await alice.call("CreateJob", job)).status.code == 0  # type: ignore[attr-defined]
    await bob.wait_state("sum-quit", {"AwaitingApproval"})
    await bob.call("ApproveJob", approve("sum-quit"))
    await alice.wait_state("sum-quit", {"Running"})
    # bob may stop, not suspend (only the initiator's node does that).
    refused = await bob.call("SuspendJob", pb.SuspendJobRequest(job_id="sum-quit"))
    assert refused.status.code != 0 and "initiator" in refused.status.message  # type: ignore[attr-defined]
    await bob.call("StopJob", pb.StopJobRequest(job_id="sum-quit", reason="leaving"))
    assert await alice.wait_state("sum-quit", {"Failed"}) == "Failed"
    assert "stopped by bob: leaving" in (await alice.query("sum-quit")).data.status.err_msg


async def test_suspend_restart_cancel_and_delete_from_alice_reach_bob(
    trio: dict[str, Node],
) -> None:
    alice, bob = trio["alice"], trio["bob"]
    job = sum_job("sum-life")
    job.tasks[0].app_image = "dagwire-sleep"
    job.tasks[0].task_input_config = '{"sleep_seconds": 120}'
    assert (await alice.call("CreateJob", job)).status.code == 0  # type: ignore[attr-defined]
    await bob.wait_state("sum-life", {"AwaitingApproval"})
    await bob.call("ApproveJob", approve("sum-life"))
    await bob.wait_state("sum-life", {"Running"})
    await alice.wait_state("sum-life", {"Running"})

    for method, request, state in (
        ("SuspendJob", pb.SuspendJobRequest(job_id="sum-life"), "Suspended"),
        ("RestartJob", pb.RestartJobRequest(job_id="sum-life"), "Running"),
        ("CancelJob", pb.CancelJobRequest(job_id="sum-life"), "Cancelled"),
    ):
        answer = await alice.call(method, request)
        assert answer.status.code == 0, answer  # type: ignore[attr-defined]
        assert await bob.wait_state("sum-life", {state}) == state
    # The restart ran a second attempt of each party, each at its own node.
    assert [p.name for p in bob.attempts("sum-life", "bob")] == ["1", "2"]
    assert [p.name for p in alice.attempts("sum-life", "alice")] == ["1", "2"]

    deleted = await alice.call("DeleteJob", pb.DeleteJobRequest(job_id="sum-life"))
    assert deleted.status.code == 0  # type: ignore[attr-defined]
    await assert_eventually(
        lambda: bob.query("sum-life"), lambda answer: answer.status.code != 0, timeout=20
    )


async def test_a_job_bob_s_node_cannot_take_ends_approval_reject_at_alice(
    trio: dict[str, Node],
) -> None:
    alice, bob = trio["alice"], trio["bob"]
    # bob's node already holds a job of its own under this id.
    own = sum_job("taken")
    own.initiator = "bob"
    del own.tasks[0].parties[0]
    own.tasks[0].app_image = "dagwire-sleep"
    assert (await bob.call("CreateJob", own)).status.code == 0  # type: ignore[attr-defined]
    assert (await alice.call("CreateJob", sum_job("taken"))).status.code == 0  # type: ignore[attr-defined]
    assert await alice.wait_state("taken", {"ApprovalReject"}) == "ApprovalReject"
    message = (await alice.query("taken")).data.status.err_msg
    assert "rejected by bob" in message and "job id is taken" in message, message
    assert (await bob.query("taken")).data.initiator == "bob"


async def test_three_parties_sum_their_secrets_each_at_its_own_node(trio: dict[str, Node]) -> None:
    alice, bob, carol = trio["alice"], trio["bob"], trio["carol"]
    job = sum_job("sum-three")
    job.tasks[0].parties.append(pb.Party(domain_id="carol"))
    assert (await alice.call("CreateJob", job)).status.code == 0  # type: ignore[attr-defined]
    # carol's node accepts on arrival; bob's waits for bob.
    await bob.wait_state("sum-three", {"AwaitingApproval"})
    await carol.wait_state("sum-three", {"AwaitingApproval"})
    await bob.call("ApproveJob", approve("sum-three"))
    for node in (alice, bob, carol):
        assert await node.wait_state("sum-three", {"Succeeded", "Failed"}) == "Succeeded"
        (run,) = node.attempts("sum-three", node.domain)
        assert "total=141" in (run / "output.log").read_text()  # 17 + 25 + 99


async def test_a_node_still_runs_its_own_jobs_and_pipeline_runs_alone(
    trio: dict[str, Node], tmp_path: Path
) -> None:
    import asyncio

    alice, bob = trio["alice"], trio["bob"]
    own = sum_job("alice-alone")
    own.tasks[0].app_image = "dagwire-sleep"
    del own.tasks[0].parties[1]
    assert (await alice.call("CreateJob", own)).status.code == 0  # type: ignore[attr-defined]
    assert await alice.wait_state("alice-alone", {"Succeeded", "Failed"}) == "Succeeded"
    assert (await bob.query("alice-alone")).status.code != 0  # nothing to share

    spec = tmp_path / "pipeline.yaml"
    spec.write_text("name: solo\nentry_points:\n  a: {command: 'echo a ran'}\n")
    dagwire = [str(Path(sys.executable).parent / "dagwire"), "--target", alice.address]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*dagwire, *args], capture_output=True, text=True, timeout=60)

    created = await asyncio.to_thread(cli, "run", "create", "-f", str(spec), "-q")
    assert created.returncode == 0, created.stderr
    watched = await asyncio.to_thread(cli, "run", "watch", created.stdout.strip())
    assert watched.returncode == 0 and "succeeded" in watched.stdout, watched
