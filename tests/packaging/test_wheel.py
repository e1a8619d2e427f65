"""The wheel is what a user and the container image install: every package directory
of the source tree must be in it, with its data files. pyproject lists the packages by
hand (the top-level folders are mapped onto one `dagwire` namespace, which setuptools'
automatic discovery cannot express), so this test is what catches a forgotten one."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
# Source folder -> the import name it is installed under (pyproject's package-dir).
MAPPED = {"gen/dagwire": "dagwire", "server": "dagwire/server", "client": "dagwire/client"}


def _source_packages() -> set[str]:
    packages = set()
    for folder, installed in MAPPED.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            relative = init.parent.relative_to(base).as_posix()
            packages.add(installed if relative == "." else f"{installed}/{relative}")
    return packages


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: an in-tree build would reuse a stale build/ folder's files.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in ("gen", "server", "client"):
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    # The locked setuptools of the test environment builds it: no isolated build env.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        env={"PYTHONWARNINGS": "ignore", "PATH": "/usr/bin:/bin"},
    )
    (wheel,) = out.glob("dagwire-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_every_source_package_is_in_the_wheel(wheel_files: set[str]) -> None:
    missing = sorted(p for p in _source_packages() if f"{p}/__init__.py" not in wheel_files)
    assert missing == [], f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_the_gateway_ships_its_openapi_document(wheel_files: set[str]) -> None:
    assert "dagwire/server/gateway/openapi.yaml" in wheel_files


def test_generated_stubs_ship_their_type_information(wheel_files: set[str]) -> None:
    assert "dagwire/py.typed" in wheel_files
    assert "dagwire/v1/workflow_service_pb2.pyi" in wheel_files


def test_the_gateway_ships_the_web_uis_files(wheel_files: set[str]) -> None:
    web = "dagwire/server/gateway/web/"
    for name in (
        "templates/base.html",
        "templates/detail.html",
        "static/app.js",
        "static/graph.js",
        "static/layout-worker.js",
        "static/ui.css",
        "static/vendor/dagre.min.js",
        "static/vendor/dagre.LICENSE",
    ):
        assert web + name in wheel_files
