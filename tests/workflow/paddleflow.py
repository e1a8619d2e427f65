"""PaddleFlow's own example files (tests/data/paddleflow, see its SOURCE.md) and the
file system `ppl` they run in."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import ServerThread

PADDLEFLOW = Path(__file__).parent.parent / "data" / "paddleflow"
EXAMPLES = PADDLEFLOW / "example" / "pipeline"
# Runs of a caller without a token file are the operator's: their file systems are here.
OPERATOR_FOLDER = "_operator"


def example(name: str) -> str:
    """The run.yaml of PaddleFlow's example/pipeline/<name>, unchanged."""
    return (EXAMPLES / name / "run.yaml").read_text()


def pkg_file(path: str) -> str:
    """A file of PaddleFlow's pkg/ test cases, unchanged."""
    return (PADDLEFLOW / "pkg" / path).read_text()


def install_ppl(server: ServerThread) -> Path:
    """The operator's file system `ppl` holding PaddleFlow's example/pipeline folder, as
    its examples expect it; its root folder on the host."""
    root = server.config.file_systems_dir / OPERATOR_FOLDER / "ppl"
    shutil.copytree(EXAMPLES, root)
    return root
