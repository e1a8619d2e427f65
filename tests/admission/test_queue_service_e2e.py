"""QueueService over a real server with tokens, through the asyncio client: operators
manage queues, flavours and clusters; a tenant sees only the queues granted to it, and
an ungranted queue answers (to the API and to a run naming it) exactly as a missing one;
closing refuses what waits and lets what runs finish; a queue in use is not deleted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from dagwire.client import (
    AlreadyExistsError,
    AsyncDagwireClient,
    FailedPreconditionError,
    Grant,
    InvalidArgumentError,
    NotFoundError,
    Resources,
    RPCError,
)
from tests.conftest import ServerThread, assert_eventually

OPS_TOKEN = "ops-5e7a19f3"
ALICE_TOKEN = "alice-3f9c2b7e"
BOB_TOKEN = "bob-81d04a6c"


@pytest.fixture
def server_overrides(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "tokens.yaml"
    path.write_text(
        "tokens:\n"
        f"  - {{token: {ALICE_TOKEN}, domain: alice, user: alice}}\n"
        f"  - {{token: {BOB_TOKEN}, domain: bob, user: bob}}\n"
        f"  - {{token: {OPS_TOKEN}, name: ops}}\n"
    )
    return {"token_file": path, "command_domains": frozenset({"alice", "bob"})}


@pytest.fixture
async def clients(
    dagwire_server: ServerThread,
) -> AsyncIterator[tuple[AsyncDagwireClient, AsyncDagwireClient, AsyncDagwireClient]]:
    address = dagwire_server.address
    async with (
        AsyncDagwireClient(target=address, timeout=10, token=OPS_TOKEN) as ops,
        AsyncDagwireClient(target=address, timeout=10, token=ALICE_TOKEN) as alice,
        AsyncDagwireClient(target=address, timeout=10, token=BOB_TOKEN) as bob,
    ):
        yield ops, alice, bob


def steps_yaml(work_dir: Path, queue: str, count: int, seconds: float, flavour: str = "") -> str:
    env = f"PF_JOB_QUEUE_NAME: {queue}" + (f", PF_JOB_FLAVOUR: {flavour}" if flavour else "")
    # A refused step leaves the others be: they show what the queue does to each.
    lines = ["name: q", "parallelism: 10", "failure_options: {strategy: continue}", "entry_points:"]
    for i in range(count):
        lines.append(
            f"  s{i}: {{command: 'sleep {seconds}; touch {work_dir}/s{i}', env: {{{env}}}}}"
        )
    return "\n".join(lines) + "\n"


def ran(work_dir: Path) -> int:
    """How many steps got to the end of their command."""
    return len(list(work_dir.glob("s*")))


async def finished(client: AsyncDagwireClient, run_id: str) -> Any:
    return await assert_eventually(
        lambda: client.get_run(run_id),
        lambda run: run.status.value in ("succeeded", "failed", "terminated"),
        timeout=60,
    )


async def test_operators_manage_queues_and_tenants_see_only_granted_ones(
    clients: tuple[AsyncDagwireClient, AsyncDagwireClient, AsyncDagwireClient],
) -> None:
    ops, alice, bob = clients
    created = await ops.create_queue(
        "demo-q",
        Resources(cpu="2", mem="4Gi", scalar={"nvidia.com/gpu": "1"}),
        min=Resources(cpu="500m"),
    )
    assert (created.name, created.status, created.max.cpu, created.max.mem) == (
        "demo-q",
        "open",
        "2",
        "4Gi",
    )
    assert created.max.scalar == {"nvidia.com/gpu": "1"} and created.min.cpu == "500m"
    with pytest.raises(AlreadyExistsError):
        await ops.create_queue("demo-q", Resources(cpu="1"))
    with pytest.raises(RPCError) as refused:
        await alice.create_queue("mine", Resources(cpu="1"))
    assert refused.value.status is grpc.StatusCode.PERMISSION_DENIED

    assert [q.name for q in await alice.list_queues()] == ["default"]
    with pytest.raises(NotFoundError) as ungranted:
        await alice.get_queue("demo-q")
    with pytest.raises(NotFoundError) as missing:
        await alice.get_queue("no-such-q")
    assert str(ungranted.value).replace("demo-q", "X") == str(missing.value).replace(
        "no-such-q", "X"
    )

    granted = await ops.grant_queue("demo-q", [Grant("domain", "alice")])
    assert granted.grants == (Grant("domain", "alice"),)
    assert [q.name for q in await alice.list_queues()] == ["default", "demo-q"]
    seen = await alice.get_queue("demo-q")
    assert seen.grants == ()  # who else may use it is the operators' business
    assert [q.name for q in await bob.list_queues()] == ["default"]
    await ops.revoke_queue("demo-q", [Grant("domain", "alice")])
    with pytest.raises(NotFoundError):
        await alice.get_queue("demo-q")

    raised = await ops.update_queue("demo-q", max=Resources(cpu="4"))
    assert raised.max.cpu == "4" and raised.min.cpu == "500m"
    with pytest.raises(InvalidArgumentError):
        await ops.update_queue("demo-q", min=Resources(cpu="8"))  # above max
    with pytest.raises(InvalidArgumentError):
        await ops.create_queue("bad-q", Resources(cpu="two"))
    with pytest.raises(InvalidArgumentError):
        await ops.create_queue("Bad_Name", Resources(cpu="1"))


async def test_a_run_on_an_ungranted_queue_fails_as_on_a_missing_one(
    clients: tuple[AsyncDagwireClient, AsyncDagwireClient, AsyncDagwireClient], tmp_path: Path
) -> None:
    ops, _, bob = clients
    await ops.create_queue("alice-q", Resources(cpu="2"))
    await ops.grant_queue("alice-q", [Grant("domain", "alice")])
    on_ungranted = await (await bob.create_run(steps_yaml(tmp_path, "alice-q", 1, 0))).result(
        timeout=60
    )
    on_missing = await (await bob.create_run(steps_yaml(tmp_path, "gone-q", 1, 0))).result(
        timeout=60
    )
    assert on_ungranted.status.value == on_missing.status.value == "failed"
    ungranted_msg = on_ungranted.steps[0].message
    assert "queue 'alice-q' not found" in ungranted_msg
    assert ungranted_msg.replace("alice-q", "X") == on_missing.steps[0].message.replace(
        "gone-q", "X"
    )
    assert not (tmp_path / "s0").exists()


async def test_closing_refuses_what_waits_and_lets_what_runs_finish(
    clients: tuple[AsyncDagwireClient, AsyncDagwireClient, AsyncDagwireClient], tmp_path: Path
) -> None:
    ops, _, _ = clients
    await ops.create_queue("one-q", Resources(cpu="1"))
    handle = await ops.create_run(steps_yaml(tmp_path, "one-q", 3, 2))
    queue = await assert_eventually(
        lambda: ops.get_queue("one-q"), lambda q: q.running == 1 and q.waiting == 2, timeout=30
    )
    assert queue.used.cpu == "1"
    with pytest.raises(FailedPreconditionError):
        await ops.delete_queue("one-q")  # in use

    closed = await ops.close_queue("one-q")
    assert closed.status == "closed" and closed.waiting == 0
    run = await finished(ops, handle.run_id)
    messages = sorted(step.message for step in run.steps)
    assert sum(m == "party local failed: queue 'one-q' was closed" for m in messages) == 2, messages
    assert sorted(step.status.value for step in run.steps) == ["failed", "failed", "succeeded"]
    assert ran(tmp_path) == 1  # the one that ran finished
    late = await (await ops.create_run(steps_yaml(tmp_path, "one-q", 1, 0))).result(timeout=60)
    assert "queue 'one-q' is closed" in late.steps[0].message
    await assert_eventually(lambda: ops.get_queue("one-q"), lambda q: q.running == 0, timeout=30)
    await ops.delete_queue("one-q")
    with pytest.raises(NotFoundError):
        await ops.get_queue("one-q")


async def test_flavours_size_launches_and_clusters_list_their_resources(
    clients: tuple[AsyncDagwireClient, AsyncDagwireClient, AsyncDagwireClient], tmp_path: Path
) -> None:
    ops, alice, _ = clients
    await ops.create_flavour("big", Resources(cpu="2", mem="1Gi"))
    await ops.create_flavour("small", Resources(cpu="500m"))
    assert [f.name for f in await alice.list_flavours()] == ["big", "small"]
    assert (await alice.get_flavour("small")).resources.cpu == "500m"
    await ops.create_queue("tiny-q", Resources(cpu="1", mem="2Gi"))
    too_big = await (await ops.create_run(steps_yaml(tmp_path, "tiny-q", 1, 0, "big"))).result(
        timeout=60
    )
    assert too_big.status.value == "failed"
    assert "needs cpu 2, more than queue tiny-q ever grants (1)" in too_big.steps[0].message
    fits = await (await ops.create_run(steps_yaml(tmp_path, "tiny-q", 2, 0, "small"))).result(
        timeout=60
    )
    assert fits.status.value == "succeeded"
    await ops.delete_flavour("big")
    with pytest.raises(NotFoundError):
        await ops.get_flavour("big")

    ray = await ops.create_cluster("ray-lab", "10.0.0.5:6379", Resources(cpu="64", mem="256Gi"))
    assert (ray.kind, ray.address) == ("ray", "10.0.0.5:6379")
    clusters = await alice.list_clusters()
    assert [(c.name, c.kind) for c in clusters] == [("local", "local"), ("ray-lab", "ray")]
    assert clusters[0].resources.cpu == "256"  # the test server's configured capacity
    resources = await alice.list_cluster_resources()
    assert resources[0].cluster_name == "local" and resources[0].free.cpu == "256"
    with pytest.raises(RPCError) as refused:
        await alice.delete_cluster("ray-lab")
    assert refused.value.status is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(FailedPreconditionError):
        await ops.delete_cluster("local")
    await ops.delete_cluster("ray-lab")
    assert [c.name for c in await ops.list_clusters()] == ["local"]
