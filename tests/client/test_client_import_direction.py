"""The SDK and CLI import the generated stubs and never the server (except `serve`, lazily)."""

import ast
from pathlib import Path

import pytest

CLIENT_DIR = Path(__file__).parents[2] / "client"
MODULES = sorted(CLIENT_DIR.glob("*.py"))


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


# Parsed while collecting, before any server runs: CPython 3.11's ast.parse can fail
# ("AST constructor recursion depth mismatch") if garbage from other tests is finalised
# in the middle of it.
IMPORTS = {path.name: _imported_modules(path) for path in MODULES}


@pytest.mark.parametrize("module", sorted(IMPORTS))
def test_client_module_does_not_import_the_server(module: str) -> None:
    assert not [m for m in IMPORTS[module] if m.startswith("dagwire.server")]


@pytest.mark.parametrize("module", sorted(IMPORTS))
def test_client_module_imports_nothing_generic_such_as_a_top_level_server(module: str) -> None:
    banned = ("server", "client", "gen", "kuscia")
    assert not [m for m in IMPORTS[module] if m.split(".")[0] in banned]


def test_cli_does_not_call_grpc_stubs_directly() -> None:
    imported = IMPORTS["cli.py"]
    assert not [m for m in imported if m.startswith(("grpc", "dagwire.kuscia"))]
