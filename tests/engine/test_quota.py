"""The quota decision as a table: given a queue's max, what runs and what waits (in
priority then arrival order), which launches the queue admits, which wait and why."""

from __future__ import annotations

import pytest

from dagwire.server.engine.quota import (
    NOTHING,
    Decision,
    Request,
    Resources,
    Waiting,
    decide,
    shortfall,
    total,
)

CPU2 = Resources(cpu=2000, mem=4 * 2**30)
ONE = Resources(cpu=1000)
GPU = Resources(cpu=1000, scalar={"gpu": 1})


def req(key: str, demand: Resources = ONE, priority: int = 0, seq: int = 0) -> Request:
    return Request(key, demand, priority, seq)


CASES = [
    pytest.param(
        CPU2, NOTHING, [req("a", seq=1), req("b", seq=2)], ("a", "b"), (), (), id="both-fit"
    ),
    pytest.param(
        CPU2,
        NOTHING,
        [req("a", seq=1), req("b", seq=2), req("c", seq=3)],
        ("a", "b"),
        ("c",),
        (),
        id="third-waits",
    ),
    pytest.param(
        CPU2, Resources(cpu=2000), [req("a")], (), ("a",), (), id="full-queue-admits-none"
    ),
    pytest.param(
        CPU2,
        Resources(cpu=1000),
        [req("low", seq=1), req("high", priority=5, seq=2)],
        ("high",),
        ("low",),
        (),
        id="priority-before-arrival",
    ),
    pytest.param(
        CPU2,
        NOTHING,
        [req("big", Resources(cpu=2000), seq=1), req("small", seq=2)],
        ("big",),
        ("small",),
        (),
        id="arrival-order",
    ),
    pytest.param(
        CPU2,
        Resources(cpu=1000),
        [req("big", Resources(cpu=2000), seq=1), req("small", seq=2)],
        (),
        ("big", "small"),
        (),
        id="strict-order-blocks-smaller-behind",
    ),
    pytest.param(
        CPU2,
        NOTHING,
        [req("huge", Resources(cpu=3000)), req("a", seq=1)],
        ("a",),
        (),
        ("huge",),
        id="larger-than-max-refused",
    ),
    pytest.param(CPU2, NOTHING, [req("gpu", GPU)], (), (), ("gpu",), id="scalar-the-queue-lacks"),
    pytest.param(
        Resources(cpu=4000, scalar={"gpu": 1}),
        NOTHING,
        [req("g1", GPU, seq=1), req("g2", GPU, seq=2)],
        ("g1",),
        ("g2",),
        (),
        id="scalar-bounds",
    ),
    pytest.param(
        CPU2,
        NOTHING,
        [req("m", Resources(cpu=100, mem=5 * 2**30))],
        (),
        (),
        ("m",),
        id="memory-bounds",
    ),
    pytest.param(
        CPU2,
        Resources(cpu=3000),
        [req("free", NOTHING)],
        ("free",),
        (),
        (),
        id="zero-demand-over-quota",
    ),
    pytest.param(CPU2, NOTHING, [], (), (), (), id="nothing-waits"),
]


@pytest.mark.parametrize(("limit", "used", "waiting", "admit", "wait", "refuse"), CASES)
def test_decide(
    limit: Resources,
    used: Resources,
    waiting: list[Request],
    admit: tuple[str, ...],
    wait: tuple[str, ...],
    refuse: tuple[str, ...],
) -> None:
    decision = decide("q", limit, used, waiting)
    assert decision.admit == admit
    assert tuple(w.key for w in decision.wait) == wait
    assert tuple(w.key for w in decision.refuse) == refuse


def test_the_blocked_head_says_what_it_needs_and_what_is_in_use() -> None:
    decision = decide("demo-q", CPU2, Resources(cpu=2000), [req("a", seq=1), req("b", seq=2)])
    assert decision == Decision(
        wait=(
            Waiting("a", "queued in demo-q: needs cpu 1, 2 of 2 in use"),
            Waiting("b", "queued in demo-q: needs cpu 1, 2 of 2 in use"),
        )
    )


def test_a_request_behind_a_blocked_head_says_so() -> None:
    decision = decide(
        "q", CPU2, Resources(cpu=1000), [req("big", Resources(cpu=2000)), req("s", seq=1)]
    )
    assert (
        decision.wait[1].reason == "queued in q: waiting behind earlier or higher-priority launches"
    )


def test_a_refusal_names_the_queue_and_its_max() -> None:
    (refused,) = decide("q", CPU2, NOTHING, [req("g", GPU)]).refuse
    assert refused.reason == "needs gpu 1, more than queue q ever grants (0)"


def test_sums_and_differences_keep_scalars_exact() -> None:
    held = total([GPU, GPU, ONE])
    assert held == Resources(cpu=3000, scalar={"gpu": 2})
    assert held - GPU - GPU == Resources(cpu=1000)
    assert shortfall(Resources(cpu=1000), NOTHING, ONE) is None
    assert shortfall(Resources(cpu=1000), ONE, ONE) == "cpu"


def test_behind_a_blocked_head_only_the_requests_to_explain_are_looked_at() -> None:
    waiting = [
        req("a", seq=1),
        req("b", seq=2),
        req("c", seq=3),
        req("huge", Resources(cpu=9000), seq=4),
    ]
    decision = decide("q", CPU2, Resources(cpu=2000), waiting, explain={"c"})
    assert decision.admit == ()
    assert [w.key for w in decision.wait] == ["a", "c"]  # the head is always decided
    assert decision.refuse == ()  # passed over behind the head: refused once it is looked at
    everything = decide("q", CPU2, Resources(cpu=2000), waiting)
    assert [w.key for w in everything.wait] == ["a", "b", "c"]
    assert [w.key for w in everything.refuse] == ["huge"]
