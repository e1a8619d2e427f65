"""StepExecutor: runs the steps of pipeline runs on top of any executor.

It decorates the server's executor. Kuscia tasks pass straight through. For a run's
step it resolves the artifact paths, then either reuses recorded outputs (a retry, or a
cache hit on both fingerprints) and reports success at once, or launches the step's
command with its environment. Like every executor it only reads the store: a step's
success is reported with what it read and wrote (StepOutputs), and the runtime records
its artifacts and cache entry with the save of the exit (step_records.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from dagwire.server.engine.catalog import CacheEntry
from dagwire.server.engine.model import JobKind
from dagwire.server.engine.names import path_below
from dagwire.server.engine.tenancy import Tenant
from dagwire.server.executors.base import (
    Executor,
    ExecutorReport,
    Mount,
    PartyExited,
    PartyKey,
    PartyLaunch,
    PartyLoop,
    PartyStarted,
    ReportSink,
    StepOutputs,
)
from dagwire.server.executors.local import read_small_file
from dagwire.server.store.base import JobStore
from dagwire.server.store.workflow import SqlWorkflowStore
from dagwire.server.workflow import s3_sync
from dagwire.server.workflow.compile import STEP_IMAGE, StepConfig
from dagwire.server.workflow.dags import loop_items
from dagwire.server.workflow.filesystems import (
    OPERATOR_FOLDER,
    fs_path,
    in_directory,
    step_mounts,
)
from dagwire.server.workflow.fs_registry import FileSystems
from dagwire.server.workflow.s3_sync import SyncError
from dagwire.server.workflow.spec import substitute, substitute_quoted

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
_MAX_METRICS_BYTES = 1 << 20
S3_STAGING = "_s3"  # below the fs dir: a domain's folder never starts with '_'
MAX_LOOP_FILE_BYTES = 1 << 20  # PaddleFlow: a loop's artifact file is under 1 MB


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A launched step, remembered until its exit is recorded."""

    config: StepConfig
    inputs: Mapping[str, str]  # artifact -> path
    outputs: Mapping[str, str]
    metrics_file: str
    first_fp: str = ""
    second_fp: str = ""
    syncs: tuple[s3_sync.S3Folder, ...] = ()  # S3 file systems to copy back at its exit


class StepExecutor:
    def __init__(
        self,
        inner: Callable[[ReportSink], Executor],
        sink: ReportSink,
        *,
        store: SqlWorkflowStore,
        jobs: JobStore,
        artifacts_dir: Path,
        clock: Clock,
        fs_dir: Path | None = None,
        binds: bool = False,
        file_systems: FileSystems | None = None,
    ) -> None:
        self._sink = sink
        self._inner = inner(self._on_report)
        self._store = store
        self._jobs = jobs
        self._artifacts_dir = artifacts_dir
        self._fs_dir = (fs_dir or artifacts_dir.parent / "fs").absolute()
        self._clock = clock
        # Whether the inner executor runs steps in a sandbox, which can show a file
        # system at its mount_path; without one it stays at its host path.
        self._binds = binds
        self._file_systems = file_systems
        self._prepared: dict[PartyKey, _Prepared] = {}
        self._background: set[asyncio.Task[None]] = set()

    # --- the Executor protocol -------------------------------------------------------

    def knows_image(self, app_image: str) -> bool:
        return app_image == STEP_IMAGE or self._inner.knows_image(app_image)

    async def launch(self, launch: PartyLaunch) -> None:
        if launch.job_kind is not JobKind.RUN:
            await self._inner.launch(launch)
            return
        config = _with_overrides(StepConfig.from_json(launch.task_input_config), launch.parameters)
        key = launch.key
        if config.condition_error:  # PaddleFlow fails a step whose condition cannot be computed
            self._sink(PartyStarted(key))
            self._sink(PartyExited(key, 1, config.condition_error))
            return
        if launch.loop_item is None and (config.loop_source or config.loop_artifact):
            await self._expand(key, config)
            return
        if launch.loop_item is not None:
            config = loop_copy(config, launch.task_alias, launch.loop_item)
        if config.reuse_from:
            await self._reuse(key, config, config.reuse_from)
            return
        try:
            located, syncs = await self._locate(config, key, download=True)
        except (SyncError, ValueError) as error:
            self._sink(PartyStarted(key))
            self._sink(PartyExited(key, 1, f"file system: {error}"))
            return
        prepared = replace(await self._prepare(config, key, located), syncs=syncs)
        missing = sorted(set(config.inputs) - set(prepared.inputs))
        if missing:
            await _discard(syncs)
            self._sink(PartyStarted(key))
            self._sink(PartyExited(key, 1, f"input artifacts not found: {', '.join(missing)}"))
            return
        if config.cache_enable:
            entry = await self._cache_hit(prepared.first_fp, prepared.second_fp, config.owner)
            if entry is not None:
                await _discard(syncs)
                await self._reuse(key, config, entry.run_id)
                return
        ready = await self._ready(launch, config, prepared, located)
        self._prepared[key] = prepared
        try:
            await self._inner.launch(ready)
        except BaseException:
            self._prepared.pop(key, None)
            raise

    async def _ready(
        self,
        launch: PartyLaunch,
        config: StepConfig,
        prepared: _Prepared,
        located: Mapping[str, Path],
    ) -> PartyLaunch:
        """The step's launch as the executor runs it: its command line in its working
        directory, its variables, the paths it reads and writes, who it runs for."""
        inputs, outputs = prepared.inputs, prepared.outputs
        await asyncio.to_thread(_make_parents, [*outputs.values(), prepared.metrics_file])
        paths = {**inputs, **outputs}
        env = {
            **{k: substitute(v, paths) for k, v in config.env.items()},
            **{parameter_variable(n): v for n, v in config.parameters.items()},
            **{f"PF_INPUT_ARTIFACT_{n.upper()}": p for n, p in inputs.items()},
            **{f"PF_OUTPUT_ARTIFACT_{n.upper()}": p for n, p in outputs.items()},
            "PF_RUN_ID": config.run_id,
            "PF_STEP_NAME": config.step,
            "PF_USER_NAME": config.username,
            "PF_METRICS_FILE": prepared.metrics_file,
            "PF_LOOP_ARGUMENT": config.loop_argument,
        }
        mounts = await asyncio.to_thread(
            step_mounts,
            self._fs_dir,
            config.owner,
            config.main_fs,
            config.extra_fs,
            config.extra_fs_read_only,
            env.get("PF_MOUNT_PATH", ""),
            config.mount_paths if self._binds else (),
            located,
        )
        script = in_directory(substitute_quoted(config.command, paths), mounts.cwd)
        command = ("/bin/sh", "-c", script) if config.command else ()
        # In a sandbox the step reads its inputs' folders and writes its own outputs'
        # and its file systems.
        readable = tuple(sorted({str(Path(p).parent) for p in _each_path(inputs)}))
        readable += mounts.readable
        writable = (str(Path(prepared.metrics_file).parent), *mounts.writable)
        return replace(
            launch,
            command=command,
            env=env,
            readable_paths=readable,
            writable_paths=writable,
            network=config.network,
            tenant=_tenant(config),
            mounts=tuple(Mount(*bind) for bind in mounts.binds),
        )

    async def terminate(self, key: PartyKey, reason: str) -> None:
        await self._inner.terminate(key, reason)

    async def recover(self, launches: Iterable[PartyLaunch]) -> None:
        """Reload what the steps among `launches` need for recording their exits, then
        let the inner executor report on them."""
        recovered = []
        for launch in launches:
            if launch.job_kind is JobKind.RUN:
                config = _with_overrides(
                    StepConfig.from_json(launch.task_input_config), launch.parameters
                )
                if launch.loop_item is not None:
                    config = loop_copy(config, launch.task_alias, launch.loop_item)
                located, syncs = await self._locate(config, launch.key, download=False)
                prepared = await self._prepare(config, launch.key, located)
                prepared = replace(prepared, syncs=syncs)
                self._prepared[launch.key] = prepared
                # As launched: admission reads its queue, flavour and owner, and starts
                # it if it was still waiting for its queue when the server stopped.
                launch = await self._ready(launch, config, prepared, located)
            recovered.append(launch)
        await self._inner.recover(recovered)

    def log_path(self, key: PartyKey) -> str:
        return self._inner.log_path(key)

    async def close(self) -> None:
        await self._inner.close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # --- reports ---------------------------------------------------------------------

    def _on_report(self, report: ExecutorReport) -> None:
        if not isinstance(report, PartyExited) or report.key not in self._prepared:
            self._sink(report)
            return
        prepared = self._prepared.pop(report.key)
        if prepared.syncs and not report.lost:
            self._spawn(self._sync_back(report, prepared))
            return
        if report.exit_code != 0 or report.lost:
            self._sink(report)
            return
        self._spawn(self._report_success(report, prepared))

    async def _sync_back(self, report: PartyExited, prepared: _Prepared) -> None:
        """Copy what the step changed in its S3 file systems back, whatever its exit (a
        mounted file system keeps a failed step's writes too); a failed copy fails it."""
        for target in prepared.syncs:
            try:
                await asyncio.to_thread(s3_sync.upload, target)
            except s3_sync.SyncError as error:
                if report.exit_code == 0:
                    report = replace(report, exit_code=1, message=f"file system: {error}")
        if report.exit_code != 0:
            self._sink(report)
            return
        await self._report_success(report, prepared)

    async def _report_success(self, report: PartyExited, prepared: _Prepared) -> None:
        """Pass the success on with the step's metrics and what it read and wrote."""
        produced = StepOutputs(
            prepared.inputs, prepared.outputs, prepared.first_fp, prepared.second_fp
        )
        try:
            metrics = await asyncio.to_thread(_read_metrics, Path(prepared.metrics_file))
        except Exception as error:  # the step's success cannot stand without its report
            log.error("could not read step metrics", key=str(report.key), error=repr(error))
            self._sink(replace(report, exit_code=1, message=f"could not read metrics: {error}"))
            return
        self._sink(replace(report, metrics=metrics, step_outputs=produced))

    # --- loops read at launch ----------------------------------------------------------

    async def _expand(self, key: PartyKey, config: StepConfig) -> None:
        """Read the loop's list (a parameter's value, or the file of an input artifact
        an upstream step wrote) and report it: the engine makes the copies that run."""
        try:
            text = config.loop_source
            if config.loop_artifact:
                text = await self._loop_file(config)
            items = loop_items(text)
        except ValueError as error:
            self._sink(PartyStarted(key))
            self._sink(PartyExited(key, 1, f"loop_argument of step {config.step}: {error}"))
            return
        self._sink(PartyLoop(key, items))
        # No process ran: this exit only settles the attempt if the engine did not lay
        # the loop out (a stop came first: it ends the step's stopping), and is stale
        # once it did (the task went back to pending for its copies).
        self._sink(PartyExited(key, 1, f"loop_argument of step {config.step} not laid out"))

    async def _loop_file(self, config: StepConfig) -> str:
        """PaddleFlow's loop over an input artifact: a file under 1 MB holding a JSON list."""
        name = config.loop_artifact
        path = (await self._input_paths(config)).get(name)
        if path is None:
            raise ValueError(f"input artifact {name!r} not found")
        text = await asyncio.to_thread(read_small_file, Path(path), MAX_LOOP_FILE_BYTES + 1)
        if text is None:
            raise ValueError(f"input artifact {name!r} is not a readable file")
        if len(text.encode()) > MAX_LOOP_FILE_BYTES:
            raise ValueError(f"input artifact {name!r} is larger than {MAX_LOOP_FILE_BYTES} bytes")
        return text

    # --- reuse -----------------------------------------------------------------------

    async def _reuse(self, key: PartyKey, config: StepConfig, source_run: str) -> None:
        """Succeed at once with `source_run`'s outputs of this step."""
        recorded = await self._store.output_artifacts(source_run, config.step)
        outputs = {artifact.name: artifact.path for artifact in recorded}
        inputs = await self._input_paths(config)
        source = await self._jobs.get_job(source_run)
        metrics = source.task(config.step).metrics if source is not None else {}
        self._sink(PartyStarted(key))
        self._sink(
            PartyExited(
                key,
                0,
                f"reused the outputs of run {source_run}",
                cached_from=source_run,
                metrics=metrics,
                step_outputs=StepOutputs(inputs, outputs),
            )
        )

    async def _locate(
        self, config: StepConfig, key: PartyKey, *, download: bool
    ) -> tuple[dict[str, Path], tuple[s3_sync.S3Folder, ...]]:
        """The folders of the step's registered file systems (fs_registry), and its S3
        ones' syncs, downloaded when `download` (at launch; not at recovery)."""
        refs = [r for r in (config.main_fs, *config.extra_fs, *config.cache_fs_scope) if r]
        located: dict[str, Path] = {}
        syncs: list[s3_sync.S3Folder] = []
        if self._file_systems is None:
            return located, ()
        for ref in dict.fromkeys(refs):
            name, _, sub = ref.partition("/")
            where = await self._file_systems.lookup(config.owner, name)
            if where is None and name in config.registered_fs:
                raise ValueError(
                    f"{name!r} was registered when the run was created and is gone: "
                    "register it again and retry the step"
                )
            if where is None:
                continue  # the server-managed folder of that name
            parts = sub.split("/") if sub else []
            if where.scheme == "local":
                located[ref] = path_below(Path(where.path), *parts)
                continue
            folder = path_below(
                self._fs_dir,
                S3_STAGING,
                config.owner or OPERATOR_FOLDER,
                config.run_id,
                config.step,
                str(key.attempt),
                *ref.split("/"),
            )
            prefix = "/".join(p for p in (where.path, sub) if p)
            target = s3_sync.S3Folder(where.bucket, prefix, str(folder), where.properties or {})
            if download:
                target = await asyncio.to_thread(s3_sync.download, target)
            located[ref] = folder
            syncs.append(target)
        return located, tuple(syncs)

    async def _prepare(
        self, config: StepConfig, key: PartyKey, located: Mapping[str, Path] | None = None
    ) -> _Prepared:
        """Where the step reads and writes, and its fingerprints when it is cached."""
        inputs = await self._input_paths(config)
        folder = self._folder(config)
        outputs = {name: str(path_below(folder, name)) for name in config.outputs}
        prepared = _Prepared(config, inputs, outputs, self._metrics_file(config, key))
        if not config.cache_enable:
            return prepared
        # What the step reads: its inputs, and the files of its fs_scope (PaddleFlow's).
        known = located or {}
        scope = {
            f"fs:{ref}": str(known.get(ref) or fs_path(self._fs_dir, config.owner, ref))
            for ref in config.cache_fs_scope
        }
        second = await asyncio.to_thread(_second_fingerprint, {**inputs, **scope})
        return replace(prepared, first_fp=_first_fingerprint(config), second_fp=second)

    def _metrics_file(self, config: StepConfig, key: PartyKey) -> str:
        return str(self._folder(config) / f".metrics-{key.attempt}.json")

    def _folder(self, config: StepConfig) -> Path:
        """The step's artifact folder; ValueError if a stored id cannot name it."""
        return path_below(self._artifacts_dir, config.run_id, config.step)

    async def _cache_hit(self, first_fp: str, second_fp: str, owner: str) -> CacheEntry | None:
        """An unexpired entry of the run's own domain: a run never reuses another's."""
        now = self._clock()
        for entry in await self._store.find_cache_entries(first_fp, second_fp, owner):
            if not entry.expired(now):
                return entry
        return None

    async def _input_paths(self, config: StepConfig) -> dict[str, str]:
        paths: dict[str, str] = {}
        for name, reference in config.inputs.items():
            upstream, _, output = reference.rpartition(".")
            sources = [upstream]
            if name in config.looped_inputs:
                sources = await self._loop_copies(config.run_id, upstream)
            found = [
                artifact.path
                for source in sources
                for artifact in await self._store.output_artifacts(config.run_id, source)
                if artifact.name == output
            ]
            if found:
                paths[name] = ",".join(found)
        return paths

    async def _loop_copies(self, run_id: str, step: str) -> list[str]:
        """The copies of a looping step in the run (`step`, `step-1`, ...), in order."""
        job = await self._jobs.get_job(run_id)
        if job is None:
            return [step]
        copy = re.compile(re.escape(step) + r"(-[0-9]+)?")
        return [task.alias for task in job.spec.tasks if copy.fullmatch(task.alias)]

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


async def _discard(syncs: Iterable[s3_sync.S3Folder]) -> None:
    """Drop the copies of S3 file systems of a step that does not run after all."""
    for target in syncs:
        await asyncio.to_thread(shutil.rmtree, target.folder, True)


def _each_path(inputs: Mapping[str, str]) -> list[str]:
    """Every input path, a loop's joined ones split (`a,b`: PaddleFlow joins a looping
    step's outputs with commas)."""
    return [part for joined in inputs.values() for part in joined.split(",") if part]


def _tenant(config: StepConfig) -> Tenant:
    """Who the step's process runs for: the run's owner domain and user."""
    return Tenant.of_owner(config.owner, config.username)


def _first_fingerprint(config: StepConfig) -> str:
    """What the step is: command, image, parameters, env and artifact names — nothing
    that differs between runs by construction (run ids, output paths)."""
    document = {
        "step": config.step,
        "command": config.command,
        "app_image": config.app_image,
        "docker_env": config.docker_env,
        "parameters": dict(sorted(config.parameters.items())),
        "env": dict(sorted(config.env.items())),
        "inputs": sorted(config.inputs),
        "outputs": list(config.outputs),
    }
    if config.main_fs or config.extra_fs:  # the same command in another fs is another step
        document["file_systems"] = [config.main_fs, *config.extra_fs]
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _second_fingerprint(inputs: Mapping[str, str]) -> str:
    """What the step reads: the content of every input artifact (file or folder tree).
    The upstream step made them: only regular files count, links are not followed and a
    FIFO cannot block the read."""
    digest = hashlib.sha256()
    for name in sorted(inputs):
        digest.update(f"artifact {name}\n".encode())
        for part in inputs[name].split(","):  # a loop's outputs: each copy's path
            root = Path(part)
            for path in _regular_files(root):
                digest.update(f"file {path.relative_to(root) if path != root else ''}\n".encode())
                _hash_file(digest, path)
    return digest.hexdigest()


def _regular_files(root: Path) -> list[Path]:
    if _is_regular(root):
        return [root]
    found: list[Path] = []
    for folder, _, names in os.walk(root):  # os.walk follows no links to folders
        found += [Path(folder, name) for name in names if _is_regular(Path(folder, name))]
    return sorted(found)


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _hash_file(digest: Any, path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    with os.fdopen(fd, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)


def _with_overrides(config: StepConfig, overrides: Mapping[str, str]) -> StepConfig:
    """The step as a user's retry or continue re-parameterised it."""
    if not overrides:
        return config
    parameters = {**config.parameters, **overrides}
    return replace(
        config,
        parameters=parameters,
        command=substitute_quoted(config.command_template, parameters),
        env={k: substitute(v, parameters) for k, v in config.env_template.items()},
    )


def loop_copy(config: StepConfig, alias: str, item: str) -> StepConfig:
    """The step as one copy of its loop runs it: under its own name (its own artifact
    folder, records and cache entry) with its item as {{PF_LOOP_ARGUMENT}}."""
    item_value = {"PF_LOOP_ARGUMENT": item}
    return replace(
        config,
        step=alias,
        loop_argument=item,
        reuse_from=config.loop_reuse.get(alias, ""),
        command=substitute_quoted(config.command, item_value),
        command_template=substitute_quoted(config.command_template, item_value),
        env={k: substitute(v, item_value) for k, v in config.env.items()},
        env_template={k: substitute(v, item_value) for k, v in config.env_template.items()},
        parameters={k: substitute(v, item_value) for k, v in config.parameters.items()},
    )


def parameter_variable(name: str) -> str:
    """The environment variable carrying a step parameter: PF_PARAM_ and its name in
    upper case, anything but letters, digits and _ as _ (`data-dir` -> PF_PARAM_DATA_DIR)."""
    return "PF_PARAM_" + re.sub(r"[^A-Z0-9_]", "_", name.upper())


def _read_metrics(path: Path) -> dict[str, str]:
    """The metrics a step wrote as a JSON object to PF_METRICS_FILE; none if it did not.
    The step owns the folder: the file is read as a regular file only, a bounded size."""
    try:
        data = json.loads(read_small_file(path, _MAX_METRICS_BYTES) or "")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str | int | float | bool)}


def _make_parents(paths: Iterable[str]) -> None:
    for path in paths:
        os.makedirs(os.path.dirname(path), exist_ok=True)
