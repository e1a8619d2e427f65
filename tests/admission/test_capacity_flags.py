"""The server's own capacity as an operator gives it, and its default: the machine's."""

from __future__ import annotations

import os

import pytest

from dagwire.server.app import server_capacity
from dagwire.server.config import parse_args
from dagwire.server.engine.quota import Resources


def test_the_capacity_flags_reach_the_default_queue() -> None:
    config = parse_args(["--capacity-cpu", "1.5", "--capacity-mem", "2Gi"])
    assert (config.capacity_cpu, config.capacity_mem) == (1.5, 2 << 30)
    assert server_capacity(config) == Resources(cpu=1500, mem=2 << 30)


def test_by_default_the_capacity_is_the_machines_cores_and_memory() -> None:
    capacity = server_capacity(parse_args([]))
    assert capacity.cpu == len(os.sched_getaffinity(0)) * 1000
    assert capacity.mem == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


@pytest.mark.parametrize(
    "argv", [["--capacity-cpu", "-1"], ["--capacity-mem", "lots"]], ids=["negative", "not-a-size"]
)
def test_a_bad_capacity_is_refused_at_start(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
