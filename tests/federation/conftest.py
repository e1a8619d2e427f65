"""Three nodes, alice, bob and carol, each owning its domain, on loopback with mutual
TLS; bob's operator decides on jobs by hand (--approval-domains bob)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.federation.nodes import Node, make_certs

SECRETS = {"alice": 17, "bob": 25, "carol": 99}


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    make_certs(directory, ("alice", "bob", "carol"))
    return directory


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory, certs: Path) -> Iterator[dict[str, Node]]:
    root = tmp_path_factory.mktemp("trio")
    nodes = {name: Node(name, root / name, certs) for name in ("alice", "bob", "carol")}
    try:
        for name, node in nodes.items():
            extra = ("--approval-domains", "bob") if name == "bob" else ()
            others = [peer for peer in nodes.values() if peer is not node]
            node.start(others, *extra, secret=SECRETS[name])
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()
