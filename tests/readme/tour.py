"""Reads the README's tour as steps to run: every ```sh and ```python block between
"## A two-minute tour" and the next chapter, in order.

In a sh block each command is one line, or several joined by a trailing backslash or
carried by a heredoc (``<<'WORD'`` up to ``WORD``). A trailing ``# exit N`` says the
command fails on purpose with status N (else 0). Lines starting with ``#>`` after a
command show text its output (stdout and stderr) must contain. ``NAME=$(command)``
keeps the command's output, stripped, in ``$NAME`` for the commands after it. A python
block is one step; its ``#>`` lines are text its output must contain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"
TOUR_START = "## A two-minute tour"
TOUR_END = "\n## "

_FENCE = re.compile(r"^```(\w*)\s*$")
_HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?")
_EXIT = re.compile(r"\s#\s*exit (\d+)\b")
_CAPTURE = re.compile(r"^([A-Za-z_]\w*)=\$\((.*)\)$")


@dataclass
class Step:
    """One command (``language`` "sh") or one python block, with what it must do."""

    language: str
    line: int  # in README.md, for messages
    code: str
    exit_status: int = 0
    expected: list[str] = field(default_factory=list)
    capture: str = ""  # sh: the variable that keeps the output

    def __str__(self) -> str:
        first = self.code.splitlines()[0] if self.code else ""
        return f"README.md:{self.line}: {first}"


def tour_text(readme: str) -> tuple[str, int]:
    """The tour's text and the README line it starts on."""
    start = readme.index(TOUR_START)
    end = readme.index(TOUR_END, start)  # "### " sub-chapters belong to the tour
    return readme[start:end], readme.count("\n", 0, start) + 1


def blocks(text: str, first_line: int) -> list[tuple[str, int, list[str]]]:
    """(language, line of the block's first code line, lines) of every fenced block."""
    found: list[tuple[str, int, list[str]]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while not lines[end].startswith("```"):
            end += 1
        found.append((opening.group(1), first_line + index + 1, lines[index + 1 : end]))
        index = end + 1
    return found


def sh_steps(lines: list[str], first_line: int) -> list[Step]:
    steps: list[Step] = []
    index = 0
    while index < len(lines):
        line, number = lines[index], first_line + index
        index += 1
        if line.startswith("#>"):
            steps[-1].expected.append(line[2:].strip())
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        command = [line]
        while command[-1].endswith("\\"):
            command.append(lines[index])
            index += 1
        heredoc = _HEREDOC.search(line)
        if heredoc is not None:
            while lines[index] != heredoc.group(1):
                command.append(lines[index])
                index += 1
            command.append(lines[index])
            index += 1
        steps.append(_sh_step("\n".join(command), number))
    return steps


def _sh_step(code: str, line: int) -> Step:
    status = _EXIT.search(code.splitlines()[0])
    step = Step("sh", line, code, int(status.group(1)) if status else 0)
    bare = code.split("  #", 1)[0].strip() if "\n" not in code else code
    capture = _CAPTURE.match(bare)
    if capture is not None:
        step.capture, step.code = capture.group(1), capture.group(2)
    return step


def python_step(lines: list[str], line: int) -> Step:
    expected = [text.strip()[2:].strip() for text in lines if text.strip().startswith("#>")]
    return Step("python", line, "\n".join(lines), 0, expected)


def steps(readme: str) -> list[Step]:
    """Every step of the tour, in order."""
    text, first_line = tour_text(readme)
    result: list[Step] = []
    for language, line, lines in blocks(text, first_line):
        if language == "sh":
            result += sh_steps(lines, line)
        elif language == "python":
            result.append(python_step(lines, line))
    return result
