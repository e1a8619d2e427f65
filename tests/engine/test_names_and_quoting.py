"""Which ids may name a directory, Kuscia's DNS-1123 label check, and bounded quoting of
caller values in errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dagwire.server.engine.names import directory_name_problem, is_dns1123_label, path_below
from dagwire.server.engine.quoting import QUOTE_LIMIT, quoted, quoted_list


@pytest.mark.parametrize("name", ["alice", "a", "a.b-c", "0", "a" * 63], ids=repr)
def test_a_dns1123_label_is_accepted(name: str) -> None:
    assert is_dns1123_label(name)


@pytest.mark.parametrize(
    "name", ["", "A", "-a", "a-", ".a", "a_b", "x/y", "..", "a" * 64, "a\nb"], ids=repr
)
def test_anything_else_is_no_dns1123_label(name: str) -> None:
    assert not is_dns1123_label(name)


@pytest.mark.parametrize(
    "part", ["", ".", "..", "x/y", "/abs", "a\\b", "nul\0id", "new\nline", "é" * 128], ids=repr
)
def test_a_part_that_could_leave_its_directory_cannot_name_one(part: str) -> None:
    assert directory_name_problem(part) is not None
    with pytest.raises(ValueError, match="cannot name a directory"):
        path_below(Path("/data/tasks"), "job", part)


def test_an_ordinary_id_names_one_level_below_its_parent() -> None:
    assert path_below(Path("/data"), "job-1", "train", "alice", "1") == Path(
        "/data/job-1/train/alice/1"
    )


def test_a_long_string_is_quoted_cut_saying_its_length() -> None:
    text = quoted("x" * 1_000_000)
    assert len(text) < QUOTE_LIMIT + 40 and text.endswith("(1000000 characters)")


def test_a_short_value_is_quoted_as_repr() -> None:
    assert quoted("x/y") == "'x/y'"
    assert quoted(42) == "42"


def test_quoting_an_alias_bomb_value_costs_nothing() -> None:
    value: object = ["x"] * 9
    for _ in range(8):
        value = [value] * 9  # 9**9 elements reachable, as a YAML alias bomb makes
    started = time.monotonic()
    text = quoted(value)
    assert time.monotonic() - started < 0.1
    assert len(text) <= QUOTE_LIMIT


def test_an_int_too_long_to_print_is_described() -> None:
    assert quoted(10**10_000) == "<int too large to show>"


def test_a_list_of_names_shows_the_first_and_counts_the_rest() -> None:
    assert quoted_list([f"s{i}" for i in range(12)], limit=3) == "s0, s1, s2 (and 9 more)"
