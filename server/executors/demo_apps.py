"""The demo applications behind the built-in app images.

Run as ``python -m dagwire.server.executors.demo_apps sleep|fail|progress|secretflow|secure-sum``.
Each reads its parameters from the JSON object in $DAGWIRE_TASK_INPUT_CONFIG; anything
that is not a JSON object means "use the defaults", because Kuscia's task input configs
are arbitrary strings.

Python apps can import report_progress() from here to report progress to dagwire.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from dagwire.server.executors import secure_sum
from dagwire.server.executors._files import write_atomic

Config = Mapping[str, object]


def report_progress(fraction: float) -> None:
    """Tell dagwire how far the task is, a fraction in [0, 1].

    A no-op outside dagwire (no $DAGWIRE_PROGRESS_FILE), so apps run standalone too.
    """
    path = os.environ.get("DAGWIRE_PROGRESS_FILE")
    if path:
        write_atomic(Path(path), repr(float(fraction)))


def _load_config() -> Config:
    raw = os.environ.get("DAGWIRE_TASK_INPUT_CONFIG", os.environ.get("TASK_INPUT_CONFIG", ""))
    try:
        config = json.loads(raw)
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


def _number(config: Config, key: str, default: float) -> float:
    value = config.get(key, default)
    # bool is an int to Python, but "sleep_seconds": true is a mistake, not 1 second.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return default
    return max(float(value), 0.0)


def _integer(config: Config, key: str, default: int) -> int:
    value = config.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _sleep(config: Config) -> int:
    seconds = _number(config, "sleep_seconds", 0.0)
    time.sleep(seconds)
    print(f"slept {seconds:g}s", flush=True)
    return 0


def _fail(config: Config) -> int:
    time.sleep(_number(config, "sleep_seconds", 0.0))
    exit_code = _integer(config, "exit_code", 1)
    print(f"dagwire-fail: failing on purpose with exit code {exit_code}", file=sys.stderr)
    return exit_code


def _progress(config: Config) -> int:
    steps = max(_integer(config, "steps", 4), 1)
    interval = _number(config, "interval_seconds", 0.1)
    for step in range(1, steps + 1):
        time.sleep(interval)
        report_progress(step / steps)
        print(f"step {step}/{steps}", flush=True)
    return 0


def _secretflow(config: Config) -> int:
    print(f"party: {os.environ.get('DAGWIRE_DOMAIN_ID', '')}")
    print(f"role: {os.environ.get('DAGWIRE_ROLE', '')}")
    print(f"cluster: {os.environ.get('TASK_CLUSTER_DEFINE', '')}", flush=True)
    time.sleep(0.2)
    return 0


_VERBS: Mapping[str, Callable[[Config], int]] = {
    "sleep": _sleep,
    "fail": _fail,
    "progress": _progress,
    "secretflow": _secretflow,
    "secure-sum": secure_sum.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1 or args[0] not in _VERBS:
        print(f"usage: demo_apps {{{'|'.join(_VERBS)}}}", file=sys.stderr)
        return 2
    return _VERBS[args[0]](_load_config())


if __name__ == "__main__":
    sys.exit(main())
