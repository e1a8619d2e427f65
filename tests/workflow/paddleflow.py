"""Pipelines of our own written in PaddleFlow's DSL (tests/data/paddleflow_dsl, see its
README.md: which PaddleFlow example each mirrors) and the file system `ppl` they run in."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import ServerThread

DSL = Path(__file__).parent.parent / "data" / "paddleflow_dsl"
PIPELINES = DSL / "pipelines"
TESTCASES = DSL / "testcases"
# Runs of a caller without a token file are the operator's: their file systems are here.
OPERATOR_FOLDER = "_operator"


def pipeline(name: str) -> str:
    """The run.yaml of pipelines/<name>."""
    return (PIPELINES / name / "run.yaml").read_text()


def spec_file(name: str) -> str:
    """The spec testcases/<name>.yaml."""
    return (TESTCASES / f"{name}.yaml").read_text()


def install_ppl(server: ServerThread) -> Path:
    """The operator's file system `ppl` holding the pipelines folder, whose commands are
    relative to its root (`bash relay_basic/shells/gather.sh`); its root on the host."""
    root = server.config.file_systems_dir / OPERATOR_FOLDER / "ppl"
    shutil.copytree(PIPELINES, root)
    return root
