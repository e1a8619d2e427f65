"""The statistics tests run steps in the sandbox as CI does (tests/security/sandboxing.py:
bubblewrap, alice and bob with their tokens, alice allowed free commands) and read what
the steps cost through the real server."""

from __future__ import annotations

import sys

from tests.security.sandboxing import (  # noqa: F401  (fixtures)
    http,
    server_config,
    token_file,
    workflows,
)

PYTHON = sys.executable
# Allocates and touches ~50 MB, burns ~0.3 s of CPU, sleeps 0.3 s, and prints how long it
# took by its own clock.
BURN = (
    f"{PYTHON} -c \"import time; start = time.perf_counter(); data = b'x' * (50 << 20); "
    "t = time.process_time(); "
    "[0 for _ in iter(lambda: time.process_time() - t < 0.3, False)]; "
    "time.sleep(0.3); print('took', time.perf_counter() - start)\""
)
SLEEP = "sleep 1"
MB = 1 << 20


def took(log: str) -> float:
    """The duration a BURN step printed."""
    return float(log.split("took", 1)[1].split()[0])
