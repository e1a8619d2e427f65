"""Faults between nodes: a node killed mid-job and restarted catches up (its party ran
once); a peer that is down makes its parties wait with a visible reason, and the job
fail after the deadline; a node presenting another domain's certificate is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.eventually import assert_eventually
from tests.federation.conftest import SECRETS
from tests.federation.nodes import Node, sum_job


def record_image(record: Path) -> str:
    """An image that appends a line per start to `record`, then sleeps 3 s."""
    script = 'echo "$DAGWIRE_DOMAIN_ID $DAGWIRE_ATTEMPT" >> "$RECORD"; sleep 3'
    return f"  record:\n    command: [/bin/sh, -c, '{script}']\n    env: {{RECORD: '{record}'}}\n"


@pytest.fixture
def pair(tmp_path: Path, certs: Path) -> Iterator[dict[str, Node]]:
    """alice and bob, not started."""
    nodes = {name: Node(name, tmp_path / name, certs) for name in ("alice", "bob")}
    try:
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()


async def _party_message(node: Node, job_id: str, domain: str) -> str:
    data = (await node.query(job_id)).data
    return " ".join(
        p.err_msg for t in data.status.tasks for p in t.parties if p.domain_id == domain
    )


async def test_bob_killed_mid_job_catches_up_after_restart_and_its_party_ran_once(
    pair: dict[str, Node],
) -> None:
    alice, bob = pair["alice"], pair["bob"]
    # Each node's parties record their starts in its own folder (the sandbox's share).
    records = {node.domain: node.workdir / "starts.txt" for node in (alice, bob)}
    alice.start([bob], secret=SECRETS["alice"], more_images=record_image(records["alice"]))
    bob.start([alice], secret=SECRETS["bob"], more_images=record_image(records["bob"]))
    job = sum_job("crash")
    job.tasks[0].app_image = "record"
    assert (await alice.call("CreateJob", job)).status.code == 0  # type: ignore[attr-defined]

    async def bob_running() -> str:
        data = (await bob.query("crash")).data
        return " ".join(
            p.state for t in data.status.tasks for p in t.parties if p.domain_id == "bob"
        )

    await assert_eventually(bob_running, lambda state: state == "Running", timeout=30)
    bob.kill()
    # alice says why bob's party is not moving on.
    reason = await assert_eventually(
        lambda: _party_message(alice, "crash", "bob"),
        lambda message: "waiting for peer bob: unreachable since" in message,
        timeout=20,
    )
    assert "Z" in reason  # a UTC time
    bob.start([alice], secret=SECRETS["bob"], more_images=record_image(records["bob"]))

    assert await alice.wait_state("crash", {"Succeeded", "Failed"}) == "Succeeded"
    assert await bob.wait_state("crash", {"Succeeded", "Failed"}) == "Succeeded"
    starts = {domain: path.read_text().splitlines() for domain, path in records.items()}
    assert starts == {"alice": ["alice 1"], "bob": ["bob 1"]}, starts
    assert await _party_message(alice, "crash", "bob") == ""


async def test_a_peer_that_is_down_makes_the_job_wait_visibly_then_fail_after_the_deadline(
    pair: dict[str, Node],
) -> None:
    alice, bob = pair["alice"], pair["bob"]  # bob's node never starts
    alice.start([bob], "--peer-deadline", "4", secret=SECRETS["alice"])
    assert (await alice.call("CreateJob", sum_job("lonely"))).status.code == 0  # type: ignore[attr-defined]
    await assert_eventually(
        lambda: _party_message(alice, "lonely", "bob"),
        lambda message: "waiting for peer bob: unreachable since" in message,
        timeout=20,
    )
    assert await alice.state("lonely") == "AwaitingApproval"
    assert await alice.wait_state("lonely", {"Failed"}, timeout=30) == "Failed"
    message = (await alice.query("lonely")).data.status.err_msg
    assert "peer bob unreachable since" in message and "--peer-deadline" in message, message


async def test_a_node_presenting_another_domains_certificate_is_not_taken_for_bob(
    pair: dict[str, Node], certs: Path
) -> None:
    alice, bob = pair["alice"], pair["bob"]
    alice.start([bob], "--peer-deadline", "60", secret=SECRETS["alice"])
    # An impostor at bob's address holding carol's genuine certificate and key.
    impostor = Node("bob", bob.workdir, certs, peer_port=bob.peer_port)
    (certs / "impostor").mkdir(exist_ok=True)
    for suffix in ("crt", "key"):
        (certs / "impostor" / f"bob.{suffix}").write_bytes((certs / f"carol.{suffix}").read_bytes())
    (certs / "impostor" / "ca-alice.crt").write_bytes((certs / "ca-alice.crt").read_bytes())
    impostor.certs = certs / "impostor"
    impostor.start([alice], "--approval-domains", "bob")
    pair["impostor"] = impostor
    assert (await alice.call("CreateJob", sum_job("forged"))).status.code == 0  # type: ignore[attr-defined]
    await assert_eventually(
        lambda: _party_message(alice, "forged", "bob"),
        lambda message: "waiting for peer bob: unreachable since" in message,
        timeout=20,
    )
    assert (await impostor.query("forged")).status.code != 0, "the job reached an impostor"
    assert await alice.state("forged") == "AwaitingApproval"


async def test_a_job_that_fails_at_alice_on_its_own_fails_at_bob_for_that_reason(
    pair: dict[str, Node],
) -> None:
    alice, bob = pair["alice"], pair["bob"]
    alice.start([bob], secret=SECRETS["alice"])
    bob.start([alice], secret=SECRETS["bob"])
    job = sum_job("late")
    first = job.tasks[0]
    first.alias, first.task_id, first.app_image = "first", "late-first", "dagwire-sleep"
    first.task_input_config = '{"sleep_seconds": 2}'
    del first.parties[1]
    second = job.tasks.add()
    second.CopyFrom(sum_job("late").tasks[0])
    second.dependencies.append("first")
    second.schedule_config.task_timeout_seconds = 2
    assert (await alice.call("CreateJob", job)).status.code == 0  # type: ignore[attr-defined]
    await bob.wait_state("late", {"Running"})
    await alice.wait_state("late", {"Running"})
    # bob's node freezes before it can start its party of `second`: alice's deadline
    # for scheduling it fails the job there, and nowhere else on its own.
    bob.freeze()
    try:
        assert await alice.wait_state("late", {"Failed", "Succeeded"}, timeout=30) == "Failed"
    finally:
        bob.thaw()
    reason = (await alice.query("late")).data.status.err_msg
    assert await bob.wait_state("late", {"Failed", "Succeeded"}) == "Failed"
    at_bob = (await bob.query("late")).data.status.err_msg
    assert at_bob.startswith("failed at the node of alice: ") and reason in at_bob, (reason, at_bob)
