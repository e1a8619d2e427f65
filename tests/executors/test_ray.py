"""RayExecutor against a real local Ray cluster (`ray start --head`), and a real dagwire
server with --executor ray running Kuscia's seed job to Succeeded."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.config import parse_args
from dagwire.server.executors import ray as ray_executor
from dagwire.server.executors.base import (
    Executor,
    PartyExited,
    PartyKey,
    PartyStarted,
    UnknownAppImageError,
)
from dagwire.server.executors.images import BUILTIN_IMAGES, AppImage, AppImageRegistry
from dagwire.server.executors.inprocess import InProcessExecutor, RoutingExecutor
from dagwire.server.executors.local import LocalExecutor
from dagwire.server.executors.ray import (
    LOST_MESSAGE,
    TERMINATED_EXIT_CODE,
    RayExecutor,
    RayUnavailableError,
)
from dagwire.server.executors.sandbox import SandboxPolicy, resolved
from tests.api.conftest import job_request, seed_request, task, wait_for_state
from tests.conftest import assert_eventually
from tests.processes import ServerProcess, free_port

from .helpers import (
    Reports,
    is_running,
    logged_number,
    make_launch,
    shell_image,
)
from .ray_cluster import RayCluster, needs_ray

MakeRay = Callable[..., RayExecutor]


@pytest.fixture
async def make_ray(
    ray_cluster: RayCluster, data_dir: Path, reports: Reports, tmp_path: Path
) -> AsyncIterator[MakeRay]:
    scratch = tmp_path
    created: list[RayExecutor] = []

    def make(*images: AppImage, kill_grace: float = 1.0) -> RayExecutor:
        registry = AppImageRegistry({**BUILTIN_IMAGES, **{image.name: image for image in images}})
        executor = RayExecutor(
            data_dir,
            registry,
            reports,
            ray_cluster.address,
            progress_poll_interval=0.05,
            kill_grace=kill_grace,
            # The tests' commands write markers into their scratch folder.
            sandbox=resolved(SandboxPolicy(hidden_dirs=(data_dir,), shared_writable=(scratch,))),
        )
        created.append(executor)
        return executor

    yield make
    for executor in created:
        await executor.close()


def host_processes_with(argument: str) -> list[int]:
    """The live processes of this host with `argument` in their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(argument.encode() in word for word in words) and is_running(int(entry.name)):
            found.append(int(entry.name))
    return found


def read_log(executor: Executor, key: PartyKey) -> str:
    return Path(executor.log_path(key)).read_text()


def attempt_dir(data_dir: Path, key: PartyKey) -> Path:
    return data_dir / "tasks" / key.job_id / key.task_id / key.domain_id / str(key.attempt)


def ray_record(data_dir: Path, key: PartyKey) -> dict[str, object]:
    record: dict[str, object] = json.loads(
        (attempt_dir(data_dir, key) / "ray_task.json").read_text()
    )
    return record


# --- the executor against the cluster ----------------------------------------------------


@needs_ray
async def test_a_party_runs_as_a_ray_task_and_reports_started_then_success(
    make_ray: MakeRay, reports: Reports, data_dir: Path
) -> None:
    launch = make_launch("dagwire-sleep", config='{"sleep_seconds": 0.1}')

    await make_ray().launch(launch)

    await reports.exited(launch.key, within=30)
    assert reports.of(launch.key) == [PartyStarted(launch.key), PartyExited(launch.key, 0, "")]
    directory = attempt_dir(data_dir, launch.key)
    assert (directory / "exit_status").read_text() == "0"
    assert "slept 0.1s" in (directory / "output.log").read_text()
    assert json.loads((directory / "task.json").read_text())["domain_id"] == "alice"
    record = ray_record(data_dir, launch.key)
    assert record["worker_pid"] != os.getpid()
    assert len(str(record["node_id"])) == 56  # a Ray node id: only Ray's runtime knows it


@needs_ray
async def test_a_failing_command_reports_its_exit_code_and_its_output(
    make_ray: MakeRay, reports: Reports, data_dir: Path
) -> None:
    launch = make_launch("dagwire-fail", config='{"exit_code": 3}')
    executor = make_ray()

    await executor.launch(launch)

    assert await reports.exited(launch.key, within=30) == PartyExited(launch.key, 3, "exit code 3")
    assert "failing on purpose with exit code 3" in read_log(executor, launch.key)
    assert (attempt_dir(data_dir, launch.key) / "exit_status").read_text() == "3"


@needs_ray
async def test_the_command_gets_the_local_executors_variables_and_files(
    make_ray: MakeRay, reports: Reports
) -> None:
    image = shell_image(
        "prints-env",
        'echo "task=$TASK_ID domain=$DAGWIRE_DOMAIN_ID role=$DAGWIRE_ROLE attempt=$DAGWIRE_ATTEMPT"\n'
        'echo "config=$TASK_INPUT_CONFIG/$DAGWIRE_TASK_INPUT_CONFIG image=$FROM_IMAGE"\n'
        'echo "cluster=$TASK_CLUSTER_DEFINE"\n'
        'cat "$DAGWIRE_TASK_FILE"\n',
        FROM_IMAGE="yes",
    )
    launch = make_launch(image.name, config="cfg")
    executor = make_ray(image)

    await executor.launch(launch)

    assert (await reports.exited(launch.key, within=30)).exit_code == 0
    log = read_log(executor, launch.key)
    assert "task=task-1 domain=alice role=host attempt=0" in log
    assert "config=cfg/cfg image=yes" in log
    cluster = json.loads(log.split("cluster=", 1)[1].splitlines()[0])
    assert cluster["selfPartyIdx"] == 0
    assert [p["name"] for p in cluster["parties"]] == ["alice", "bob"]
    assert '"task_alias": "alias-of-task-1"' in log  # the task file, written on the worker


@needs_ray
async def test_output_of_several_megabytes_arrives_whole(
    make_ray: MakeRay, reports: Reports
) -> None:
    image = shell_image("chatty", "head -c 3000000 /dev/zero | tr '\\0' x; echo end")
    launch = make_launch(image.name)
    executor = make_ray(image)

    await executor.launch(launch)

    assert (await reports.exited(launch.key, within=30)).exit_code == 0
    assert read_log(executor, launch.key) == "x" * 3_000_000 + "end\n"


@needs_ray
async def test_progress_is_reported_and_recorded(
    make_ray: MakeRay, reports: Reports, data_dir: Path
) -> None:
    launch = make_launch("dagwire-progress", config='{"steps": 2, "interval_seconds": 0.2}')

    await make_ray().launch(launch)

    assert (await reports.exited(launch.key, within=30)).exit_code == 0
    assert reports.progress_of(launch.key) == [0.5, 1.0]
    assert (attempt_dir(data_dir, launch.key) / "progress").read_text() == "1.0"


@needs_ray
async def test_a_launch_with_its_own_command_runs_that_command_with_its_env(
    make_ray: MakeRay, reports: Reports
) -> None:
    launch = dataclasses.replace(
        make_launch(""),
        command=(sys.executable, "-c", "import os; print('step says', os.environ['STEP_P'])"),
        env={"STEP_P": "forty-two"},
    )
    executor = make_ray()

    await executor.launch(launch)

    assert (await reports.exited(launch.key, within=30)).exit_code == 0
    assert "step says forty-two" in read_log(executor, launch.key)


@needs_ray
async def test_a_command_that_cannot_start_reports_127_and_never_started(
    make_ray: MakeRay, reports: Reports, data_dir: Path
) -> None:
    image = AppImage(name="missing", command=("/nonexistent/app",))
    launch = make_launch(image.name)

    await make_ray(image).launch(launch)

    exited = await reports.exited(launch.key, within=30)
    assert exited.exit_code == 127
    assert exited.message.startswith("failed to start:")
    assert reports.of(launch.key) == [exited]
    assert (attempt_dir(data_dir, launch.key) / "exit_status").read_text() == "127"


@needs_ray
async def test_an_error_inside_the_ray_task_is_reported_with_its_cause(
    make_ray: MakeRay, reports: Reports
) -> None:
    image = AppImage(name="nul", command=("echo\0oops",))  # Popen raises ValueError
    launch = make_launch(image.name)

    await make_ray(image).launch(launch)

    exited = await reports.exited(launch.key, within=30)
    assert (exited.exit_code, exited.lost) == (127, False)
    assert exited.message == "could not start on Ray: ValueError: embedded null byte"


@needs_ray
async def test_terminate_stops_the_command_gracefully_and_reports_terminated(
    make_ray: MakeRay, reports: Reports, tmp_path: Path
) -> None:
    marker = tmp_path / "stopped"
    image = AppImage(
        name="graceful",
        command=(
            sys.executable,
            "-c",
            "import os, pathlib, signal, sys, time\n"
            "def stop(*_):\n"
            "    pathlib.Path(os.environ['MARKER']).write_text('SIGTERM'); sys.exit(0)\n"
            "signal.signal(signal.SIGTERM, stop)\n"
            "print('pid', os.getpid(), flush=True)\n"
            "time.sleep(60)  # graceful-party\n",
        ),
        env={"MARKER": str(marker)},
    )
    launch = make_launch(image.name)
    executor = make_ray(image)
    await executor.launch(launch)
    pid = await logged_number(lambda: read_log(executor, launch.key), "pid")

    await executor.terminate(launch.key, "stopped by the user")

    exited = await reports.exited(launch.key)
    assert exited == PartyExited(
        launch.key, TERMINATED_EXIT_CODE, "terminated: stopped by the user"
    )
    await assert_eventually(marker.exists)  # it had the chance to clean up
    # pid is the command's pid in its sandbox; on this host it is found by its command line.
    assert pid > 0
    await assert_eventually(lambda: not host_processes_with("graceful-party"))
    assert not executor.holds(launch.key)


@needs_ray
async def test_terminate_kills_a_command_that_ignores_sigterm_with_its_children(
    make_ray: MakeRay, reports: Reports
) -> None:
    image = shell_image("stubborn", "trap '' TERM; sleep 60.0417 & echo child $!; wait")
    launch = make_launch(image.name)
    executor = make_ray(image, kill_grace=0.2)
    await executor.launch(launch)
    child = await logged_number(lambda: read_log(executor, launch.key), "child")

    await executor.terminate(launch.key, "timed out")

    assert (await reports.exited(launch.key)).message == "terminated: timed out"
    # The background child too: Ray ends the party's worker with its process group (its
    # pid is the one in its sandbox: on this host it is found by its command line).
    assert child > 0
    await assert_eventually(lambda: not host_processes_with("60.0417"))


@needs_ray
async def test_unknown_images_and_bad_resources_fail_before_anything_runs(
    make_ray: MakeRay, reports: Reports, data_dir: Path
) -> None:
    executor = make_ray()
    with pytest.raises(UnknownAppImageError, match="no-such-image"):
        await executor.launch(make_launch("no-such-image"))
    bad = dataclasses.replace(make_launch("dagwire-sleep"), resources={"cpu": "lots"})
    with pytest.raises(ValueError, match="resource cpu 'lots'"):
        await executor.launch(bad)

    assert reports.items == []
    assert not (data_dir / "tasks").exists()


@needs_ray
async def test_images_marked_for_ray_run_there_and_the_others_locally(
    ray_cluster: RayCluster, data_dir: Path, reports: Reports, tmp_path: Path
) -> None:
    images_file = tmp_path / "images.yaml"
    images_file.write_text(
        f"images:\n  on-ray:\n    command: [{sys.executable!r}, '-c', 'print(1)']\n"
        "    executor: ray\n"
    )
    registry = AppImageRegistry.load(images_file)
    ray = RayExecutor(data_dir, registry, reports, ray_cluster.address)
    routing = RoutingExecutor(
        InProcessExecutor(reports),
        LocalExecutor(data_dir, registry, reports),
        ray,
        ray_images=registry.names_run_by("ray"),
    )
    on_ray = make_launch("on-ray", task_id="t-ray")
    local = make_launch("dagwire-sleep", task_id="t-local")
    try:
        await routing.launch(on_ray)
        await routing.launch(local)
        assert (await reports.exited(on_ray.key, within=30)).exit_code == 0
        assert (await reports.exited(local.key, within=30)).exit_code == 0
    finally:
        await routing.close()

    assert ray.ran_here(on_ray.key) and not ray.ran_here(local.key)
    assert read_log(routing, on_ray.key) == "1\n"


@needs_ray
async def test_recovery_reports_recorded_exits_and_the_rest_lost(
    ray_cluster: RayCluster, data_dir: Path, reports: Reports
) -> None:
    registry = AppImageRegistry(BUILTIN_IMAGES)
    finished_launch = make_launch("dagwire-sleep", task_id="finished")
    running_launch = make_launch("dagwire-sleep", task_id="running")
    finished, running = finished_launch.key, running_launch.key
    for key, status in ((finished, "0"), (running, None)):
        directory = attempt_dir(data_dir, key)
        directory.mkdir(parents=True)
        (directory / "ray_task.json").write_text("{}")
        if status is not None:
            (directory / "exit_status").write_text(status)
    executor = RayExecutor(data_dir, registry, reports, ray_cluster.address)

    await executor.recover([finished_launch, running_launch])

    assert reports.items == [
        PartyExited(finished, 0, ""),
        PartyExited(running, -1, LOST_MESSAGE, lost=True),
    ]
    await executor.close()


# --- a real server on Ray ----------------------------------------------------------------


@needs_ray
async def test_the_seed_job_runs_on_ray_to_succeeded(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    server = ServerProcess(
        tmp_path, "--executor", "ray", "--ray-address", ray_cluster.address
    ).start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = job_pb2_grpc.JobServiceStub(channel)
            created = await stub.CreateJob(seed_request())
            assert created.status.code == 0, created.status.message

            done = await wait_for_state(stub, "job-alice-bob-001", "Succeeded", timeout=45)
    except BaseException:
        server.stop()
        raise
    assert server.stop() == 0  # a graceful stop, disconnecting from Ray
    assert "SIGTERM received" not in server.log_path.read_text()  # no crash dump either

    assert [t.state for t in done.data.status.tasks] == ["Succeeded", "Succeeded"]
    job_dir = tmp_path / "data" / "tasks" / "job-alice-bob-001"
    for task_id in ("job-psi", "job-split"):
        for domain in ("alice", "bob"):
            [attempt] = (job_dir / task_id / domain).iterdir()
            record = json.loads((attempt / "ray_task.json").read_text())
            assert len(record["node_id"]) == 56, attempt  # it ran on a Ray worker
            assert f"party: {domain}" in (attempt / "output.log").read_text()


@needs_ray
async def test_a_task_running_when_the_server_is_killed_is_relaunched_after_restart(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    args = ("--executor", "ray", "--ray-address", ray_cluster.address)
    sleeper = task("t", config={"sleep_seconds": 1.5}, parties=("alice",))
    sleeper.task_id = "t"  # the directory is named by task id (generated when none is given)
    request = job_request("killed", sleeper)
    party_dir = tmp_path / "data" / "tasks" / "killed" / "t" / "alice"
    server = ServerProcess(tmp_path, *args).start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            created = await job_pb2_grpc.JobServiceStub(channel).CreateJob(request)
            assert created.status.code == 0, created.status.message
        await assert_eventually(lambda: "node_id" in str(_records(party_dir)), timeout=30)
    finally:
        server.kill()
    [first] = _records(party_dir).values()

    # Its driver gone, Ray ends the task, and the restarted server reports it lost.
    await assert_eventually(lambda: not is_running(first["worker_pid"]), timeout=15)
    restarted = ServerProcess(tmp_path, *args, port=int(server.address.rsplit(":")[1]))
    restarted.start()
    try:
        async with grpc.aio.insecure_channel(restarted.address) as channel:
            stub = job_pb2_grpc.JobServiceStub(channel)
            done = await wait_for_state(stub, "killed", "Succeeded", timeout=45)
    finally:
        restarted.stop()
    assert done.data.status.tasks[0].state == "Succeeded"
    records = _records(party_dir)
    last = max(records)
    assert len(records) == 2 and records[last]["worker_pid"] != first["worker_pid"]
    assert "slept 1.5s" in (party_dir / str(last) / "output.log").read_text()


def _records(party_dir: Path) -> dict[int, dict[str, Any]]:
    """The ray_task.json record of each attempt of a party."""
    return {
        int(path.parent.name): json.loads(path.read_text())
        for path in party_dir.glob("*/ray_task.json")
    }


# --- without Ray -------------------------------------------------------------------------


def test_executor_ray_without_ray_installed_fails_at_start_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *args: None)

    with pytest.raises(SystemExit) as exited:
        parse_args(["--executor", "ray"])

    assert exited.value.code == 2
    assert "--executor ray needs Ray, which is not installed" in capsys.readouterr().err
    with pytest.raises(RayUnavailableError, match="needs the ray package"):
        RayExecutor(tmp_path, AppImageRegistry(BUILTIN_IMAGES), Reports())


def test_executor_and_ray_address_come_from_flags_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (parse_args([]).executor, parse_args([]).ray_address) == ("local", "auto")
    monkeypatch.setenv("DAGWIRE_RAY_ADDRESS", "ray-head:6379")
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *args: object())
    config = parse_args(["--executor", "ray"])
    assert (config.executor, config.ray_address) == ("ray", "ray-head:6379")
    with pytest.raises(SystemExit):
        parse_args(["--executor", "kubernetes"])


def test_an_address_that_does_not_answer_fails_fast_instead_of_retrying_for_minutes() -> None:
    address = f"127.0.0.1:{free_port()}"

    with pytest.raises(
        RayUnavailableError, match=f"cannot connect to the Ray cluster at '{address}'"
    ):
        ray_executor._check_reachable(address)
    ray_executor._check_reachable("auto")  # Ray's to resolve


def test_an_image_asks_for_ray_in_the_images_file(tmp_path: Path) -> None:
    path = tmp_path / "images.yaml"
    path.write_text(
        "images:\n"
        "  a: {command: [a], executor: ray}\n"
        "  b: {command: [b], executor: local}\n"
        "  c: {command: [c]}\n"
    )
    registry = AppImageRegistry.load(path)

    assert registry.names_run_by("ray") == {"a"}
    assert registry.get("c").executor == "local"
    path.write_text("images:\n  a: {command: [a], executor: k8s}\n")
    with pytest.raises(ValueError, match="'executor' must be one of"):
        AppImageRegistry.load(path)


@needs_ray
async def test_a_graceful_stop_with_a_party_running_on_ray_prints_no_stack_dump(
    ray_cluster: RayCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This process's own connection set it: the server must do without.
    monkeypatch.delenv("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", raising=False)
    server = ServerProcess(
        tmp_path, "--executor", "ray", "--ray-address", ray_cluster.address
    ).start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = job_pb2_grpc.JobServiceStub(channel)
            request = job_request(
                "job-on-ray", task("wait", config={"sleep_seconds": 60}, parties=("alice",))
            )
            created = await stub.CreateJob(request)
            assert created.status.code == 0, created.status.message
            # The party runs: Ray's driver is connected and its task started.
            await assert_eventually(
                lambda: stub.QueryJob(pb.QueryJobRequest(job_id="job-on-ray")),
                lambda r: r.data.status.tasks[0].parties[0].state == "Running",
                timeout=45,
            )
    except BaseException:
        server.stop()
        raise
    # SIGTERM while Ray's driver is connected and a Ray task runs: absl's failure
    # signal handler, were it installed, would print "*** SIGTERM received ..." first.
    assert server.stop() == 0
    log = server.log_path.read_text()
    assert "SIGTERM received" not in log
    assert "SIGTERM handler is not set" not in log  # Ray's notice at ray.init, in a thread
