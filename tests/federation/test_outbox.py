"""The outbox keeps what a node owes its peers across restarts, numbered without reuse,
and holds at most its bound per peer."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwire.server.federation.outbox import Outbox, QueueFull


async def test_messages_survive_a_reopen_in_order_and_numbers_are_never_reused(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path / "federation.db", bound=10)
    await outbox.open()
    await outbox.enqueue([("bob", "j", b"one"), ("carol", "j", b"two"), ("bob", "j", b"three")])
    first = [q.seq for q in outbox.pending("bob", 10)]
    await outbox.acknowledge("bob", first[-1])
    await outbox.set_mark("bob", 7)
    await outbox.close()

    reopened = Outbox(tmp_path / "federation.db", bound=10)
    await reopened.open()
    assert reopened.pending("bob", 10) == []
    assert [q.body for q in reopened.pending("carol", 10)] == [b"two"]
    assert reopened.mark("bob") == 7
    await reopened.enqueue([("bob", "j", b"four")])
    (after,) = reopened.pending("bob", 10)
    assert after.seq > first[-1]  # an acknowledged number is never handed out again
    await reopened.close()


async def test_a_peer_queue_at_its_bound_refuses_more_and_stores_nothing(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "federation.db", bound=2)
    await outbox.open()
    await outbox.enqueue([("bob", "j", b"1"), ("bob", "j", b"2")])
    with pytest.raises(QueueFull, match="bound"):
        await outbox.enqueue([("carol", "j", b"x"), ("bob", "j", b"3")])
    assert outbox.pending("carol", 10) == [] and outbox.room("bob") == 0
    await outbox.acknowledge("bob", outbox.pending("bob", 1)[0].seq)
    await outbox.enqueue([("bob", "j", b"3")])
    assert [q.body for q in outbox.pending("bob", 10)] == [b"2", b"3"]
    await outbox.close()


async def test_parked_messages_survive_a_reopen_and_are_bounded_per_job(tmp_path: Path) -> None:
    from dagwire.server.federation import outbox as module

    store = Outbox(tmp_path / "federation.db", bound=10)
    await store.open()
    for index in range(module.MAX_PARKED):
        assert await store.park("j", "bob", str(index).encode())
    assert not await store.park("j", "bob", b"one too many")
    await store.unpark("j", {entry.id for entry in store.parked("j")[:2]})
    await store.close()

    reopened = Outbox(tmp_path / "federation.db", bound=10)
    await reopened.open()
    kept = reopened.parked("j")
    assert [entry.body for entry in kept[:2]] == [b"2", b"3"] and kept[0].origin == "bob"
    assert len(kept) == module.MAX_PARKED - 2
    await reopened.unpark("j")
    assert reopened.parked("j") == []
    await reopened.close()
