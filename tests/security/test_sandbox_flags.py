"""The sandbox's flags as an operator gives them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagwire.server.config import parse_args
from dagwire.server.executors.sandbox import Limits


def test_the_sandbox_flags_reach_the_config() -> None:
    config = parse_args(
        [
            "--command-domains",
            "alice, lab",
            "--unsandboxed",
            "--sandbox-network",
            "--sandbox-share",
            "/scratch,/data/shared",
            "--sandbox-limits",
            "processes=64,memory=2Gi,cpu-seconds=600,file-size=1Mi",
            "--sandbox-user",
            "nobody",
            "--bwrap",
            "/opt/bwrap",
        ]
    )
    assert config.command_domains == frozenset({"alice", "lab"})
    assert config.unsandboxed and config.sandbox_network
    assert config.sandbox_shared == (Path("/data/shared"), Path("/scratch"))
    assert config.sandbox_limits == Limits(
        processes=64, memory_bytes=2 << 30, cpu_seconds=600, file_bytes=1 << 20
    )
    assert (config.sandbox_user, config.bwrap) == ("nobody", "/opt/bwrap")


def test_by_default_tenant_code_is_sandboxed_and_nobody_may_run_commands() -> None:
    config = parse_args([])
    assert not config.unsandboxed and not config.sandbox_network
    assert config.command_domains == frozenset()
    assert config.sandbox_limits == Limits()


@pytest.mark.parametrize(
    ("limits", "error"),
    [
        ("threads=4", "unknown limit 'threads'"),
        ("memory=lots", "not a quantity"),
        ("processes=0", "processes must be at least 1"),
    ],
)
def test_bad_limits_are_refused_naming_the_entry(
    limits: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--sandbox-limits", limits])
    assert error in capsys.readouterr().err


def test_an_unknown_sandbox_user_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--sandbox-user", "no-such-user-here"])
    assert "no user named 'no-such-user-here'" in capsys.readouterr().err
