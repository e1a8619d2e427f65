"""The README's screenshots of the web UI, made from a real server in headless Chromium:

    .venv/bin/python -m bench.ui_screens            # writes docs/ui-job.png, ui-run-200.png, ui-log.png

- docs/ui-job.png: a Kuscia job (two parties) half way, a running task's parties open;
- docs/ui-run-200.png: a 200-step pipeline run (a sub-DAG and a loop among its steps)
  while it runs;
- docs/ui-log.png: a failed step's detail and its log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from bench.procs import Launcher, free_port
from bench.ui import chromium, wait_for

DOCS = Path(__file__).resolve().parent.parent / "docs"
LAYERS, WIDTH = 19, 10  # + the sub-DAG's 3 steps, the loop's 3 copies and 4 more: 200


def run_yaml(work: Path) -> str:
    """200 steps: `ingest` (a sub-DAG of 3), `shard` (a loop of 3), `prep`, `check`, 19
    layers of 10 steps, each after two of the layer before, `report` and `notify`; the
    later layers wait for a file, so that the picture shows a run in progress."""
    gate = work / "go"
    lines = [
        "name: nightly-training",
        "entry_points:",
        "  ingest:",
        "    entry_points:",
        "      fetch: {command: 'true'}",
        "      clean: {command: 'true', deps: fetch}",
        "      index: {command: 'true', deps: clean}",
        "  shard: {command: 'true', deps: ingest, loop_argument: [a, b, c]}",
        "  prep: {command: 'true', deps: shard}",
        "  check: {command: 'true', deps: prep}",
    ]
    for layer in range(LAYERS):
        for index in range(WIDTH):
            deps = f"s{layer - 1}-{index},s{layer - 1}-{(index + 1) % WIDTH}" if layer else "check"
            wait = f"while [ ! -f {gate} ]; do sleep 0.2; done" if layer >= 6 else "sleep 1"
            lines.append(f"  s{layer}-{index}: {{command: '{wait}', deps: '{deps}'}}")
    last = ",".join(f"s{LAYERS - 1}-{index}" for index in range(WIDTH))
    lines.append(f"  report: {{command: 'true', deps: '{last}'}}")
    lines.append("  notify: {command: 'true', deps: report}")
    return "\n".join(lines) + "\n"


FAILING = (
    "name: train-eval\nentry_points:\n"
    "  prepare: {command: 'echo preparing 1200 rows; echo wrote /data/train.csv'}\n"
    "  train: {command: 'echo epoch 1 loss 0.71; echo epoch 2 loss 0.52; "
    "echo learning rate {{lr}} diverged >&2; exit 2', deps: prepare, parameters: {lr: 0.9}}\n"
    "  evaluate: {command: 'true', deps: train}\n"
)


def job(job_id: str) -> dict[str, Any]:
    parties = [{"domain_id": "alice", "role": "host"}, {"domain_id": "bob", "role": "guest"}]

    def task(alias: str, image: str, deps: list[str], sleep: int = 0) -> dict[str, Any]:
        config = json.dumps({"sleep_seconds": sleep}) if sleep else "{}"
        return {
            "alias": alias,
            "task_id": alias,
            "app_image": image,
            "parties": parties,
            "dependencies": deps,
            "task_input_config": config,
        }

    tasks = [
        task("psi", "dagwire-noop", []),
        task("split", "dagwire-noop", ["psi"]),
        task("features", "dagwire-noop", ["split"]),
        task("train-lr", "dagwire-sleep", ["features"], 300),
        task("train-xgb", "dagwire-sleep", ["features"], 300),
        task("evaluate", "dagwire-noop", ["train-lr", "train-xgb"]),
        task("publish", "dagwire-noop", ["evaluate"]),
    ]
    return {"job_id": job_id, "initiator": "alice", "max_parallelism": 4, "tasks": tasks}


async def make(out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="dagwire-screens-"))
    http = f"127.0.0.1:{free_port()}"
    args = ["--http-listen", http, "--sandbox-share", str(work)]
    async with Launcher(work).dagwire("screens", args=args), aiohttp.ClientSession() as session:
        base = f"http://{http}"

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            async with session.post(base + path, json=body) as response:
                answer: dict[str, Any] = await response.json()
                if response.status != 200:
                    raise RuntimeError(f"{path}: {answer}")
                return answer

        await post("/api/v1/job/create", job("psi-train-2026"))
        big = (await post("/api/v1/workflow/run/create", {"run_yaml": run_yaml(work)}))["run"]
        failing = (await post("/api/v1/workflow/run/create", {"run_yaml": FAILING}))["run"]
        try:
            await asyncio.to_thread(_shoot, base, big["run_id"], failing["run_id"], out)
        finally:
            # Nothing of the pictures' outlives them: the sleeping tasks are stopped.
            await post("/api/v1/job/cancel", {"job_id": "psi-train-2026"})
            await post("/api/v1/workflow/run/stop", {"run_id": big["run_id"], "force": True})


def _shoot(base: str, big_run: str, failing_run: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with chromium(1400, 860) as driver:
        driver.get(f"{base}/ui/jobs/psi-train-2026")
        wait_for(driver, "return document.getElementById('graph').dataset.ready")
        wait_for(
            driver,
            "return document.querySelector('#graph g.node[data-node=\"train-lr\"]')"
            ".dataset.state === 'running'",
        )
        driver.execute_script(
            "document.querySelector('#graph g.node[data-node=\"train-lr\"]')"
            ".dispatchEvent(new Event('click'))"
        )
        driver.save_screenshot(str(out / "ui-job.png"))

        driver.get(f"{base}/ui/runs/{big_run}")
        wait_for(driver, "return document.getElementById('graph').dataset.ready")
        wait_for(
            driver,
            "return document.querySelectorAll('#graph g.node.st-succeeded').length >= 40",
        )
        driver.save_screenshot(str(out / "ui-run-200.png"))

        driver.get(f"{base}/ui/runs/{failing_run}")
        wait_for(
            driver,
            "return document.querySelector('#graph g.node[data-node=\"train\"]')"
            "?.dataset.state === 'failed'",
        )
        driver.execute_script(
            "document.querySelector('#graph g.node[data-node=\"train\"]')"
            ".dispatchEvent(new Event('click'))"
        )
        wait_for(driver, "return document.getElementById('log').textContent.includes('diverged')")
        driver.save_screenshot(str(out / "ui-log.png"))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_screens", description=__doc__)
    parser.add_argument("--out", type=Path, default=DOCS, help="folder for the PNGs")
    asyncio.run(make(parser.parse_args().out))


if __name__ == "__main__":
    main()
