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


CLI_MODULES = sorted(name for name in IMPORTS if name == "cli.py" or name.startswith("_cli"))


@pytest.mark.parametrize("module", CLI_MODULES)
def test_cli_does_not_call_grpc_stubs_directly(module: str) -> None:
    imported = IMPORTS[module]
    assert not [m for m in imported if m.startswith(("grpc", "dagwire.kuscia", "dagwire.v1"))]


def test_the_cli_is_split_into_the_modules_checked_above() -> None:
    assert CLI_MODULES == [
        "_cli_base.py",
        "_cli_queues.py",
        "_cli_steps.py",
        "_cli_users.py",
        "_cli_workflow.py",
        "cli.py",
    ]
