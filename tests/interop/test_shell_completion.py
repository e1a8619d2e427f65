"""A terminal user's tab completion: click's own, installed with
`eval "$(dagwire completion bash)"`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dagwire.client.cli import main


def completions(words: str) -> list[str]:
    """What bash would offer for the last of `words` (click's bash_complete protocol)."""
    parts = words.split(" ")
    env = {
        "_DAGWIRE_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(parts) - 1),
    }
    result = CliRunner().invoke(main, [], env=env, prog_name="dagwire")
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.output.splitlines()]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_script_is_printed_for_each_shell(shell: str) -> None:
    result = CliRunner().invoke(main, ["completion", shell])
    assert result.exit_code == 0
    assert "_DAGWIRE_COMPLETE" in result.output


def test_commands_complete() -> None:
    assert completions("dagwire jo") == ["job"]


def test_subcommands_complete() -> None:
    assert completions("dagwire job su") == ["suspend"]


def test_output_formats_complete() -> None:
    assert completions("dagwire --output ") == ["table", "json", "yaml"]
