"""Queue quotas: which waiting requests a queue admits, as a pure decision.

A queue (PaddleFlow's queue, or the server's own capacity when a launch names none) has
a max of resources. Every admitted party holds its demand until it exits; the running
total never exceeds the max. Waiting requests are taken in priority (higher first) then
arrival order, and strictly so: the first that does not fit blocks those behind it, as
PaddleFlow's and Kueue's StrictFIFO queues do, so that a big request is not starved by
a stream of small ones. A request larger than the whole max can never run and is
refused rather than left blocking the queue forever.

Amounts are integers: CPU in millicores, memory in bytes, scalar resources (GPUs, ...)
in units, so that sums never drift as floats do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Resources:
    """An amount of resources: cpu in millicores, memory in bytes, scalars in units."""

    cpu: int = 0
    mem: int = 0
    scalar: Mapping[str, int] = field(default_factory=dict)

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.mem + other.mem, _merged(self, other, 1))

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.mem - other.mem, _merged(self, other, -1))

    def amounts(self) -> dict[str, int]:
        """Every dimension by name (cpu, mem, then the scalars), zeros left out."""
        named = {"cpu": self.cpu, "mem": self.mem, **self.scalar}
        return {name: amount for name, amount in named.items() if amount}


NOTHING = Resources()


def _merged(a: Resources, b: Resources, sign: int) -> dict[str, int]:
    names = sorted(set(a.scalar) | set(b.scalar))
    merged = {n: a.scalar.get(n, 0) + sign * b.scalar.get(n, 0) for n in names}
    return {n: v for n, v in merged.items() if v}


def total(amounts: Iterable[Resources]) -> Resources:
    result = NOTHING
    for amount in amounts:
        result = result + amount
    return result


def shortfall(limit: Resources, used: Resources, demand: Resources) -> str | None:
    """The first dimension in which `used + demand` exceeds `limit` (None: it fits). A
    dimension the limit does not name (a scalar it lacks) has a limit of zero."""
    after = (used + demand).amounts()
    bound = limit.amounts()
    for name in ("cpu", "mem", *sorted(demand.scalar)):
        if after.get(name, 0) > bound.get(name, 0) and demand.amounts().get(name, 0) > 0:
            return name
    return None


@dataclass(frozen=True, slots=True)
class Request:
    """A launch waiting for its queue: `seq` is its arrival (smaller came first)."""

    key: str
    demand: Resources
    priority: int = 0
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Waiting:
    """A request that stays queued, and why, in words a user can act on."""

    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    admit: tuple[str, ...] = ()
    wait: tuple[Waiting, ...] = ()
    refuse: tuple[Waiting, ...] = ()  # larger than the whole max: can never run


def ordered(waiting: Iterable[Request]) -> list[Request]:
    """Priority (higher first), then arrival."""
    return sorted(waiting, key=lambda r: (-r.priority, r.seq))


def decide(
    queue: str,
    limit: Resources,
    used: Resources,
    waiting: Sequence[Request],
    explain: AbstractSet[str] | None = None,
) -> Decision:
    """Which of `waiting` the queue named `queue` (max `limit`, `used` held by what runs)
    admits now, which wait and why, and which can never fit.

    `explain` names the requests whose wait needs its reason (None: every one). Behind a
    blocked head the others are passed over: they wait and were told why already, which
    keeps a decision over a long queue as cheap as its head (a burst of 1,000 launches
    decides once per launch and per exit)."""
    admit: list[str] = []
    wait: list[Waiting] = []
    refuse: list[Waiting] = []
    blocked = False
    for request in ordered(waiting):
        if blocked and explain is not None and request.key not in explain:
            continue
        too_big = shortfall(limit, NOTHING, request.demand)
        if too_big is not None:
            refuse.append(Waiting(request.key, _too_big(queue, too_big, limit, request.demand)))
            continue
        short = shortfall(limit, used, request.demand)
        if blocked or short is not None:
            why = (
                _short(queue, short, limit, used, request.demand)
                if short is not None
                else f"queued in {queue}: waiting behind earlier or higher-priority launches"
            )
            wait.append(Waiting(request.key, why))
            blocked = True
            continue
        admit.append(request.key)
        used = used + request.demand
    return Decision(tuple(admit), tuple(wait), tuple(refuse))


def describe(name: str, amount: int) -> str:
    """An amount in the units users write: cores, Mi of memory, units of a scalar."""
    if name == "cpu":
        return f"{amount / 1000:g}"
    if name == "mem":
        return f"{amount / 2**20:g}Mi"
    return str(amount)


def _short(queue: str, name: str, limit: Resources, used: Resources, demand: Resources) -> str:
    need = describe(name, demand.amounts().get(name, 0))
    held = describe(name, used.amounts().get(name, 0))
    bound = describe(name, limit.amounts().get(name, 0))
    return f"queued in {queue}: needs {name} {need}, {held} of {bound} in use"


def _too_big(queue: str, name: str, limit: Resources, demand: Resources) -> str:
    need = describe(name, demand.amounts().get(name, 0))
    bound = describe(name, limit.amounts().get(name, 0))
    return f"needs {name} {need}, more than queue {queue} ever grants ({bound})"
