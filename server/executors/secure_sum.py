"""The `dagwire-secure-sum` demo: the parties of a task add up their secret numbers
over the network, each learning only the total.

Every party listens on its own endpoint from the cluster definition (TASK_CLUSTER_DEFINE,
allocated by its node) and the parties pass a masked running sum around a ring: the
first party adds a random mask to its secret and sends it on, each next party adds its
own secret, the first party takes the mask off what comes back round and sends every
other party the total. No party sees another's secret, only masked sums and the total.

A party's secret is $SECURE_SUM_SECRET (its node's operator sets it in the node's
app-images file), else a random number. `timeout_seconds` in the task input config
bounds the whole exchange (default 60).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import time
from collections.abc import Mapping

# Sums are taken modulo a prime far above any demo secret: a masked sum says nothing.
MODULUS = 2**61 - 1
_MAX_LINE = 4096


def run(config: Mapping[str, object]) -> int:
    timeout = config.get("timeout_seconds", 60)
    deadline = time.monotonic() + (float(timeout) if isinstance(timeout, int | float) else 60.0)
    cluster = json.loads(os.environ.get("TASK_CLUSTER_DEFINE", "{}"))
    endpoints = [_endpoint(party) for party in cluster.get("parties", [])]
    me = int(cluster.get("selfPartyIdx", -1))
    if len(endpoints) < 2 or not 0 <= me < len(endpoints) or None in endpoints:
        print("dagwire-secure-sum: needs two or more parties with endpoints", file=sys.stderr)
        return 2
    secret = _secret()
    host, port = endpoints[me]  # type: ignore[misc]
    with socket.create_server((host, port), reuse_port=False) as server:
        server.settimeout(1.0)
        following = endpoints[(me + 1) % len(endpoints)]
        assert following is not None
        if me == 0:
            mask = secrets.randbelow(MODULUS)
            _send(following, "partial", (secret + mask) % MODULUS, deadline)
            total = (_receive(server, "partial", deadline) - mask) % MODULUS
            for index, other in enumerate(endpoints):
                if index != me and other is not None:
                    _send(other, "total", total, deadline)
        else:
            partial = _receive(server, "partial", deadline)
            print("received a masked partial sum", flush=True)
            _send(following, "partial", (partial + secret) % MODULUS, deadline)
            total = _receive(server, "total", deadline)
    print(f"total={total}", flush=True)
    return 0


def _endpoint(party: object) -> tuple[str, int] | None:
    if not isinstance(party, dict):
        return None
    for service in party.get("services", []):
        for endpoint in service.get("endpoints", []):
            host, _, port = str(endpoint).rpartition(":")
            if host and port.isdigit():
                return host, int(port)
    return None


def _secret() -> int:
    raw = os.environ.get("SECURE_SUM_SECRET", "")
    try:
        return int(raw) % MODULUS
    except ValueError:
        return secrets.randbelow(1000)


def _send(endpoint: tuple[str, int], kind: str, value: int, deadline: float) -> None:
    """Deliver one message, retrying while the other party is not listening yet."""
    line = json.dumps({"kind": kind, "value": value}).encode() + b"\n"
    while True:
        try:
            with socket.create_connection(endpoint, timeout=2.0) as connection:
                connection.sendall(line)
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no party listening at {endpoint[0]}:{endpoint[1]}") from None
            time.sleep(0.2)


def _receive(server: socket.socket, kind: str, deadline: float) -> int:
    while time.monotonic() < deadline:
        try:
            connection, _ = server.accept()
        except TimeoutError:
            continue
        with connection:
            connection.settimeout(5.0)
            data = connection.makefile("rb").readline(_MAX_LINE)
        try:
            message = json.loads(data)
        except ValueError:
            continue  # not one of ours
        if isinstance(message, dict) and message.get("kind") == kind:
            value = message.get("value")
            if isinstance(value, int) and 0 <= value < MODULUS:
                return value
    raise TimeoutError(f"no {kind} sum arrived in time")
