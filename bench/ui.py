"""7. The web UI in headless Chromium (Debian's, through chromedriver and Selenium), on a
1,000-task Kuscia job (10 layers of 100, each task after two of the layer before: 1,800
dependencies):

- first paint: navigation to the job page's first contentful paint (the browser's own
  Paint Timing entry);
- graph: navigation until the whole graph is laid out (dagre, in a worker) and drawn;
- state change: from the browser's ApproveJob call until the watch stream's event has
  recoloured the first task's node.

The job waits for approval (alice is an approval domain), so nothing moves until the
measured call; its tasks are the in-process no-op image, so they run at once after it.
Each figure is the median of a few page loads.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from google.protobuf import json_format

from bench.context import Context
from bench.core import Figure, Target
from bench.jobs import NOOP_IMAGE
from bench.procs import free_port
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb

NAME = "ui"
TASKS = 1_000
WAIT = 120.0

# Resolves (in the page) with the ms from calling ApproveJob to the node's recolouring.
STATE_CHANGE_SCRIPT = """
const [jobId, done] = [arguments[0], arguments[arguments.length - 1]];
const shape = document.querySelector("#graph g.node");  // a task of the first layer
const before = shape.dataset.state;
let began = 0;
new MutationObserver((changes, observer) => {
  if (shape.dataset.state !== before) {
    observer.disconnect();
    done(performance.now() - began);
  }
}).observe(shape, {attributes: true, attributeFilter: ["data-state"]});
began = performance.now();
Dw.call("/api/v1/job/approve", {job_id: jobId, result: "APPROVE_RESULT_ACCEPT"});
"""


def layered_job(job_id: str, layers: int = 10, width: int = 100) -> pb.CreateJobRequest:
    """`layers` x `width` no-op tasks, each after two neighbours of the layer before."""
    party = [pb.Party(domain_id="alice", role="worker")]
    tasks = []
    for layer in range(layers):
        for index in range(width):
            deps = [f"l{layer - 1}-{index}", f"l{layer - 1}-{(index + 1) % width}"] if layer else []
            alias = f"l{layer}-{index}"
            tasks.append(
                pb.Task(alias=alias, app_image=NOOP_IMAGE, parties=party, dependencies=deps)
            )
    return pb.CreateJobRequest(
        job_id=job_id, initiator="alice", max_parallelism=layers * width, tasks=tasks
    )


@contextmanager
def chromium(width: int = 1400, height: int = 900) -> Iterator[Any]:
    """Headless Chromium through Debian's chromedriver (RuntimeError when missing)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver_path is None:
        raise RuntimeError("Chromium is not installed: make browser")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, script: str, timeout: float = WAIT) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.02).until(
        lambda d: d.execute_script(script)
    )


async def run(ctx: Context) -> list[Figure]:
    loads = ctx.pick(3, 1)
    http = f"127.0.0.1:{free_port()}"
    args = ["--http-listen", http, "--approval-domains", "alice"]
    async with ctx.launcher.dagwire("ui", args=args), aiohttp.ClientSession() as session:
        base = f"http://{http}"
        ids = [f"ui-bench-{i}" for i in range(loads)]
        for job_id in ids:
            request = layered_job(job_id, 10, TASKS // 10)
            body = json_format.MessageToDict(request, preserving_proto_field_name=True)
            async with session.post(base + "/api/v1/job/create", json=body) as response:
                answer = await response.json()
                if answer["status"]["code"] != 0:
                    raise RuntimeError(f"CreateJob: {answer['status']}")
        samples = await asyncio.to_thread(_measure, base, ids)
    for label, values in samples.items():
        ctx.log(f"  {label}: " + ", ".join(f"{v:.0f} ms" for v in values))
    paint, graph, change, layout = (samples[k] for k in ("paint", "graph", "change", "layout"))
    note = f"median of {loads} page loads of a {TASKS:,}-task job"
    return [
        Figure("UI first paint, job page", statistics.median(paint), "ms", note=note),
        Figure(
            f"UI {TASKS:,}-task job graph rendered",
            statistics.median(graph),
            "ms",
            target=Target("value", "<", 5000.0, "< 5 s"),
            note=f"{note}; dagre layout alone {statistics.median(layout):.0f} ms",
        ),
        Figure(
            "UI state change shown",
            statistics.median(change),
            "ms",
            target=Target("value", "<", 1000.0, "< 1 s"),
            note=f"{note}; ApproveJob call to the first node recoloured",
        ),
    ]


def _measure(base: str, job_ids: list[str]) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"paint": [], "graph": [], "layout": [], "change": []}
    with chromium() as driver:
        for job_id in job_ids:
            driver.get(f"{base}/ui/jobs/{job_id}")
            ready = wait_for(
                driver, "const g = document.getElementById('graph'); return g.dataset.readyAt"
            )
            samples["graph"].append(float(ready))
            samples["layout"].append(
                float(
                    driver.execute_script(
                        "return document.getElementById('graph').dataset.layoutMs"
                    )
                )
            )
            paint = driver.execute_script(
                "const p = performance.getEntriesByName('first-contentful-paint');"
                "return p.length ? p[0].startTime : null"
            )
            samples["paint"].append(float(paint))
            # The page has the job's state from its first watch event: awaiting approval.
            wait_for(
                driver,
                "return document.getElementById('state').dataset.state === 'awaitingapproval'",
            )
            driver.set_script_timeout(WAIT)
            shown = driver.execute_async_script(STATE_CHANGE_SCRIPT, job_id)
            samples["change"].append(float(shown))
    return samples
