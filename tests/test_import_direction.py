"""Which room may import which: app -> gateway -> api -> runtime/auth -> engine <-
store/bus/executors, observability beside them (read by api and gateway, reading store and
bus), generated code only in api, federation (its own node-to-node service), app and client. A tiny AST walk pins it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent / "server"
STDLIB = sys.stdlib_module_names

# room -> the dagwire packages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "engine": set(),
    "store": {"engine"},
    "bus": {"engine"},
    "executors": {"engine"},
    "runtime": {"engine", "store", "bus", "executors"},
    # Pipelines and runs: compiled onto the engine, run by the job runtime.
    "workflow": {"engine", "store", "bus", "executors", "runtime"},
    "rpc": set(),
    "auth": {"engine", "rpc"},
    "api": {"engine", "runtime", "store", "bus", "auth", "observability", "workflow", "gen"},
    # Metrics, request ids and log context; gauges read the store and wrap the bus.
    "observability": {"engine", "store", "bus", "rpc"},
    # HTTP/JSON in front of the servicers: it calls them (api) as the gRPC server does,
    # authenticates with auth, and records with observability. No generated code: the
    # services it serves are handed to it. It takes its port as the gRPC server does
    # (server/ports.py, stdlib only).
    "gateway": {"api", "auth", "observability", "ports"},
    # One node per domain: a runtime among peers, and the node-to-node wire (its own
    # dagwire.v1 service, so it imports the generated code as api does).
    "federation": {"engine", "runtime", "store", "bus", "executors", "gen"},
}
THIRD_PARTY: dict[str, set[str]] = {
    "engine": set(),
    "store": {"sqlalchemy", "asyncpg"},  # asyncpg: the LISTEN connection of replicas
    "bus": set(),
    "executors": {"yaml", "ray"},  # ray: imported lazily, by the Ray executor only
    "runtime": {"structlog"},
    # boto3 / botocore: an S3-compatible file system synced around a step (s3_sync.py).
    "workflow": {"yaml", "croniter", "structlog", "boto3", "botocore"},
    "rpc": {"grpc", "google", "grpc_reflection"},
    # argon2: password hashes; jwt: login tokens (auth/passwords.py, auth/sessions.py).
    "auth": {"grpc", "structlog", "yaml", "argon2", "jwt"},
    "api": {"grpc", "google", "grpc_status", "structlog"},
    "observability": {"grpc", "google", "prometheus_client", "structlog"},
    "gateway": {"aiohttp", "grpc", "google", "structlog", "yaml", "grpc_tools", "jinja2"},
    "federation": {"aiosqlite", "grpc", "google", "structlog", "yaml"},
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] == ["dagwire", "server"] and len(parts) > 2:
        return parts[2]
    if parts[0] == "dagwire":
        return "gen"
    return None


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_each_room_imports_only_what_it_may(room: str) -> None:
    offending: list[str] = []
    for path in sorted((ROOT / room).rglob("*.py")):
        for module in imports_of(path):
            top = module.split(".")[0]
            target = room_of(module)
            if target is not None:
                if target != room and target not in ALLOWED[room]:
                    offending.append(f"{path.name}: {module}")
            elif top not in STDLIB and top != "__future__" and top not in THIRD_PARTY[room]:
                offending.append(f"{path.name}: {module}")
    assert not offending, f"{room} imports what it must not: {offending}"
