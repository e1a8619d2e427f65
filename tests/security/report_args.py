"""A step's probe: prints, as one JSON line, the argv it received (after its own label)
and its PF_ environment. Run inside the sandbox by the shell-quoting tests."""

from __future__ import annotations

import json
import os
import sys

if __name__ == "__main__":
    env = {key: value for key, value in os.environ.items() if key.startswith("PF_")}
    print(json.dumps({"argv": sys.argv[1:], "env": env}, sort_keys=True))
