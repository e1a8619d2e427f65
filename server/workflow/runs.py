"""WorkflowRuntime: runs of pipeline specs.

A run's record (what it was made from) lives in the workflow store; its DAG runs as a
job of kind RUN on the shared JobRuntime, so it is scheduled, recovered after a crash
and watched exactly like a Kuscia job. This module validates, compiles and delegates.

A run belongs to the domain of the tenant that created it (a retry, to the run's; a
schedule's run, to the schedule's). Its record stores that owner, and so does its job
(OWNER_FIELD), so that watch events, deleted runs' included, are filtered on the job
alone. Another domain's run answers exactly as a missing one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from dagwire.server.bus.base import EventBus
from dagwire.server.engine.catalog import (
    RunRecord,
)
from dagwire.server.engine.errors import (
    EngineError,
    InvalidRequest,
    JobAlreadyExists,
    JobNotFound,
)
from dagwire.server.engine.model import FailureStrategy, Job, JobKind, JobState, TaskState
from dagwire.server.engine.quoting import quoted
from dagwire.server.engine.tenancy import EVERYONE, OPERATOR_OWNER, Tenant
from dagwire.server.runtime.jobs import JobRuntime
from dagwire.server.runtime.watch import WatchEvent, WatchFilter, watch_jobs
from dagwire.server.store.base import JobScope, JobStore
from dagwire.server.store.workflow import (
    Page,
    RecordRun,
    RememberRequest,
    RequestKeyTaken,
    SqlWorkflowStore,
)
from dagwire.server.workflow.compile import RunOptions, compile_run, used_file_systems
from dagwire.server.workflow.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from dagwire.server.workflow.filesystems import fs_path
from dagwire.server.workflow.fs_registry import FileSystems
from dagwire.server.workflow.paging import (
    MAX_PAGE_SIZE,
    Listing,
    decode_token,
    page_limit,
    parse_filter,
    required,
)
from dagwire.server.workflow.pipelines import DEFAULT_USER, Pipelines
from dagwire.server.workflow.scheduler import ScheduledRun
from dagwire.server.workflow.spec import PipelineSpec, check_fs_name, parse_pipeline
from dagwire.server.workflow.spec_files import read_spec, spec_parts
from dagwire.server.workflow.status import RunStatus, job_states_for, run_status

Clock = Callable[[], datetime]

# The custom field of a run's job that names the run's owner domain.
OWNER_FIELD = "owner"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RunView:
    """A run as the API shows it: what it was created with, and its job."""

    record: RunRecord
    job: Job
    # The stored runs that reused its outputs (PaddleFlow's runCachedIDs): read for
    # GetRun only (get_run(with_reusers=True)); empty elsewhere.
    reused_by: tuple[str, ...] = ()

    @property
    def status(self) -> RunStatus:
        return run_status(self.job)


@dataclass(frozen=True, slots=True)
class NewRun:
    """A CreateRun request, decoded."""

    run_yaml: str = ""
    pipeline_id: str = ""
    pipeline_version_id: str = ""
    source_run_id: str = ""
    name: str = ""
    description: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    disabled: Sequence[str] = ()
    failure_strategy: FailureStrategy | None = None
    docker_env: str = ""
    request_id: str = ""
    fs_name: str = ""  # the main file system when the spec names none
    run_yaml_path: str = ""  # the spec's path in the fs_name file system (runYamlPath)
    # Raises when the caller may not run what the spec holds (its command steps).
    check_spec: Callable[[PipelineSpec], None] | None = field(default=None, compare=False)
    # set by schedules
    run_id: str = ""
    schedule_id: str = ""
    scheduled_time: datetime | None = None


class WorkflowRuntime:
    def __init__(
        self,
        *,
        jobs: JobRuntime,
        job_store: JobStore,
        bus: EventBus,
        store: SqlWorkflowStore,
        pipelines: Pipelines,
        clock: Clock = utc_now,
        file_systems: FileSystems | None = None,
        fs_dir: Path | None = None,
    ) -> None:
        self._jobs = jobs
        self._job_store = job_store
        self._bus = bus
        self._store = store
        self._pipelines = pipelines
        self._clock = clock
        # Which of the file systems a run names are registered (fs_registry) is noted
        # when it is created: a step whose one is gone by its launch fails, saying so.
        self._file_systems = file_systems
        # Where unregistered file systems' folders are (filesystems.fs_path): a spec by
        # path (run_yaml_path) is read from there.
        self._fs_dir = fs_dir
        # Run records never change after creation; watches look them up per event.
        self._records: OrderedDict[str, RunRecord] = OrderedDict()

    # --- runs ------------------------------------------------------------------------

    async def create_run(self, tenant: Tenant, new: NewRun) -> RunView:
        """A run owned by the tenant's domain, with the tenant's user as its username."""
        key = f"run:{tenant.owner}:{new.request_id}" if new.request_id else ""
        if key and (known := await self._store.remembered(key)):
            return await self.get_run(tenant, known)
        record, options, spec = await self._plan_run(tenant, new)
        try:
            return await self._start(record, options, spec, key)
        except RequestKeyTaken as taken:  # a request with the same key got there first
            return await self.get_run(tenant, taken.resource_id)

    async def _start(
        self, record: RunRecord, options: RunOptions, spec: PipelineSpec, request_key: str = ""
    ) -> RunView:
        """Compile the run and create its job; the run's record and the request's key
        ride in the job's write transaction, so that a run is stored whole or not at all.
        The job runtime validates the compiled spec (once)."""
        if self._file_systems is not None:
            options = replace(
                options,
                registered_fs=await self._file_systems.registered(
                    options.owner, used_file_systems(spec, options.fs_name)
                ),
            )
        job_spec = replace(
            compile_run(spec, options),
            custom_fields={OWNER_FIELD: record.owner} if record.owner else {},
        )
        riders: list[RecordRun | RememberRequest] = [RecordRun(record)]
        if request_key:
            riders.append(RememberRequest(request_key, record.run_id))
        try:
            job = await self._jobs.create(job_spec, riders)
        except InvalidRequest as error:
            raise InvalidArgument.of("run_yaml", str(error)) from None
        except JobAlreadyExists:
            raise AlreadyExists("run", record.run_id) from None
        self._remember(record)
        return RunView(record, job)

    async def _plan_run(
        self, tenant: Tenant, new: NewRun
    ) -> tuple[RunRecord, RunOptions, PipelineSpec]:
        sources = [new.run_yaml, new.run_yaml_path, new.pipeline_id, new.source_run_id]
        if sum(map(bool, sources)) != 1:
            raise InvalidArgument.of(
                "run_yaml",
                "give exactly one of run_yaml, run_yaml_path, pipeline_id or source_run_id",
            )
        parameters = dict(new.parameters)
        disabled = list(new.disabled)
        pipeline_id = version_id = ""
        if new.run_yaml:
            text = new.run_yaml
            source = f"yaml:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        elif new.run_yaml_path:
            text = await self.spec_in_fs(tenant, new.fs_name, new.run_yaml_path)
            source = f"{new.fs_name}:{new.run_yaml_path}"
        elif new.pipeline_id:
            version_id = await self._pipelines.resolve_version(
                tenant, new.pipeline_id, new.pipeline_version_id
            )
            _, version = await self._pipelines.get_version(tenant, new.pipeline_id, version_id)
            text, pipeline_id = version.pipeline_yaml, new.pipeline_id
            source = f"{pipeline_id}@{version_id}"
        else:
            old = await self._record(tenant, new.source_run_id)
            text, pipeline_id, version_id = old.run_yaml, old.pipeline_id, old.pipeline_version_id
            parameters = parameters or dict(old.parameters)
            disabled = disabled or list(old.disabled)
            source = f"run:{old.run_id}"
        spec = parse_pipeline(text, "run_yaml")
        check_fs_name(new.fs_name)
        if new.check_spec is not None:
            new.check_spec(spec)
        run_id = new.run_id or f"run-{secrets.token_hex(4)}"
        username = tenant.user or DEFAULT_USER
        strategy = new.failure_strategy or spec.failure_strategy
        record = RunRecord(
            run_id=run_id,
            name=new.name or spec.name,
            username=username,
            run_yaml=text,
            source=source,
            create_time=self._clock(),
            description=new.description,
            parameters=parameters,
            disabled=tuple(disabled),
            failure_strategy=strategy,
            docker_env=new.docker_env or spec.docker_env,
            pipeline_id=pipeline_id,
            pipeline_version_id=version_id,
            schedule_id=new.schedule_id,
            scheduled_time=new.scheduled_time,
            owner=tenant.owner,
            # The file system its steps start in (compile.py): the spec's main_fs wins.
            fs_name=spec.main_fs.name if spec.main_fs else new.fs_name,
        )
        options = RunOptions(
            run_id=run_id,
            username=username,
            owner=tenant.owner,
            parameters=parameters,
            disabled=tuple(disabled),
            failure_strategy=strategy,
            docker_env=new.docker_env,
            pipeline_id=pipeline_id,
            fs_name=new.fs_name,
        )
        return record, options, spec

    async def spec_in_fs(
        self, tenant: Tenant, fs_name: str, path: str, field_name: str = "run_yaml_path"
    ) -> str:
        """The spec at `path` in the tenant's file system `fs_name`: a registered
        local:// folder or a server-managed one. An S3 file system is synced around
        steps only; the server reads no spec from a bucket."""
        if not fs_name:
            raise InvalidArgument.of("fs_name", f"names the file system {field_name} is in")
        check_fs_name(fs_name)
        spec_parts(path, field_name)
        where = (
            await self._file_systems.lookup(tenant.owner, fs_name)
            if self._file_systems is not None
            else None
        )
        if where is not None and where.scheme != "local":
            raise InvalidArgument.of(
                field_name,
                f"file system {quoted(fs_name)} is an S3 prefix: the server reads a spec "
                "from a local file system only; send the YAML itself",
            )
        if where is not None:
            folder = Path(where.path)
        elif self._fs_dir is not None:
            folder = fs_path(self._fs_dir, tenant.owner, fs_name)
        else:
            raise InvalidArgument.of(field_name, "this server has no file systems")
        return await asyncio.to_thread(read_spec, folder, path, field_name)

    async def get_run(self, tenant: Tenant, run_id: str, with_reusers: bool = False) -> RunView:
        record = await self._record(tenant, run_id)
        try:
            job = await self._jobs.get(run_id)
        except JobNotFound:
            raise NotFound("run", run_id) from None
        reusers = (
            tuple(await self._store.runs_reusing(run_id, record.owner)) if with_reusers else ()
        )
        return RunView(record, job, reusers)

    async def list_runs(
        self, tenant: Tenant, page_size: int, page_token: str, filter_text: str
    ) -> Page[RunView]:
        where = parse_filter(
            filter_text,
            {"username", "status", "pipeline_id", "name", "schedule_id", "run_id"},
            {"status": [status.value for status in RunStatus]},
        )
        wanted = RunStatus(where.pop("status")) if "status" in where else None
        limit = page_limit(page_size, 100)
        after = decode_token(Listing.RUNS, page_token, filter_text)
        states = job_states_for(wanted) if wanted else ()
        views: list[RunView] = []
        # A status maps to job states plus, for a few, the stop marker: fetch and refine
        # until the page is full, so that a page never comes back short while more exist.
        while True:
            page = await self._store.list_runs(
                after=after, limit=limit, where=where, states=states, owner=tenant.domain
            )
            jobs = {
                job.job_id: job
                for job in await self._job_store.get_jobs([record.run_id for record in page.items])
            }
            for index, record in enumerate(page.items):
                job = jobs.get(record.run_id)
                if job is not None and (wanted is None or run_status(job) is wanted):
                    views.append(RunView(record, job))
                    if len(views) == limit:
                        return Page(views, page.seqs[index])
            if page.next_token is None:
                return Page(views, None)
            after = page.next_token

    async def stop_run(self, tenant: Tenant, run_id: str, force: bool) -> RunView:
        record = await self._record(tenant, run_id)
        # The engine accepts a stop of a finished job as a no-op (Kuscia's StopJob does);
        # a run's stop refuses it, so that the caller learns the run was already over.
        view = await self.get_run(tenant, run_id)
        if view.job.state.is_terminal:
            raise FailedPrecondition(
                "run", run_id, f"it is {view.status.value}; only an unfinished run can be stopped"
            )
        job = await self._jobs.stop(run_id, "stopped by user", keep_post=not force)
        return RunView(record, job)

    async def retry_run(self, tenant: Tenant, run_id: str) -> RunView:
        view = await self.get_run(tenant, run_id)
        if view.status not in (RunStatus.FAILED, RunStatus.TERMINATED):
            raise FailedPrecondition(
                "run",
                run_id,
                f"only failed or terminated runs can be retried; it is {view.status.value}",
            )
        old = view.record
        reuse = {
            task.alias: old.run_id for task in view.job.tasks if task.state is TaskState.SUCCEEDED
        }
        new_id = f"run-{secrets.token_hex(4)}"
        record = RunRecord(
            run_id=new_id,
            name=old.name,
            username=old.username,
            run_yaml=old.run_yaml,
            source=f"retry:{old.run_id}",
            create_time=self._clock(),
            description=old.description,
            parameters=old.parameters,
            disabled=old.disabled,
            failure_strategy=old.failure_strategy,
            docker_env=old.docker_env,
            pipeline_id=old.pipeline_id,
            pipeline_version_id=old.pipeline_version_id,
            schedule_id=old.schedule_id,
            retried_from=old.run_id,
            owner=old.owner,
            fs_name=old.fs_name,
        )
        options = RunOptions(
            run_id=new_id,
            username=old.username,
            owner=old.owner,
            parameters=old.parameters,
            disabled=old.disabled,
            failure_strategy=old.failure_strategy,
            docker_env=old.docker_env,
            pipeline_id=old.pipeline_id,
            # The file system the retried run's steps started in (none recorded before
            # runs kept it: then only the spec's own main_fs, as before).
            fs_name=old.fs_name,
            reuse=reuse,
        )
        return await self._start(record, options, parse_pipeline(old.run_yaml, "run_yaml"))

    async def delete_run(self, tenant: Tenant, run_id: str, check_cache: bool) -> None:
        view = await self.get_run(tenant, run_id)
        if not view.job.state.is_terminal:
            raise FailedPrecondition(
                "run", run_id, f"it is {view.status.value}; stop it before deleting it"
            )
        # PaddleFlow's check (pkg/apiserver/controller/pipeline/run.go DeleteRun): refused
        # while runs that reused its outputs (its runCachedIDs) still exist.
        if check_cache and (reusers := await self._store.runs_reusing(run_id, view.record.owner)):
            raise FailedPrecondition(
                "run",
                run_id,
                f"runs reused its cached outputs ({', '.join(reusers)}); delete them first "
                "or pass check_cache=false",
            )
        await self._jobs.delete(run_id)
        await self._store.delete_run(run_id)

    async def watch_runs(
        self,
        tenant: Tenant,
        run_ids: Collection[str],
        resume_from: int,
        heartbeat_interval: float,
        lifetime: float | None,
    ) -> AsyncGenerator[tuple[WatchEvent, RunRecord | None], None]:
        events = watch_jobs(
            self._job_store,
            self._bus,
            where=WatchFilter(
                job_ids=frozenset(run_ids),
                visible=lambda job: _is_run(job, tenant),
                scope=JobScope(kind=JobKind.RUN),
            ),
            resume_from=resume_from,
            heartbeat_interval=heartbeat_interval,
            lifetime=lifetime,
        )
        try:
            async for event in events:
                record = None
                if event.job is not None:
                    record = await self._cached_record(event.job)
                yield event, record
        finally:
            await events.aclose()

    async def _record(self, tenant: Tenant, run_id: str) -> RunRecord:
        """The run's record; NotFound, in the same words, when it is missing or another
        domain's."""
        record = self._records.get(run_id) or await self._store.get_run(required("run_id", run_id))
        if record is None or not tenant.sees(record.owner):
            raise NotFound("run", run_id)
        self._remember(record)
        return record

    async def _cached_record(self, job: Job) -> RunRecord:
        """A run's record for a watch event; a deleted run's is rebuilt from its job."""
        try:
            return await self._record(EVERYONE, job.job_id)  # the watch checked the owner
        except NotFound:
            return RunRecord(
                run_id=job.job_id,
                name=job.job_id,
                username="",
                run_yaml="",
                source="",
                create_time=job.create_time,
                owner=owner_of(job),
            )

    def _remember(self, record: RunRecord) -> None:
        self._records[record.run_id] = record
        self._records.move_to_end(record.run_id)
        while len(self._records) > 10_000:
            self._records.popitem(last=False)

    # --- schedules (RunStarter) ------------------------------------------------------

    async def active_runs(self, schedule_id: str) -> list[tuple[str, datetime]]:
        active: list[tuple[str, datetime]] = []
        after = None
        while True:
            page = await self._store.list_runs(
                after=after,
                limit=MAX_PAGE_SIZE,
                where={"schedule_id": schedule_id},
                states=[s for s in JobState if not s.is_terminal],
            )
            active += [(record.run_id, record.create_time) for record in page.items]
            if page.next_token is None:
                break
            after = page.next_token
        return sorted(active, key=lambda item: item[1])

    async def runs_of_schedule(self, schedule_id: str, limit: int = 100) -> list[RunView]:
        page = await self._store.list_runs(
            after=None, limit=limit, where={"schedule_id": schedule_id}
        )
        jobs = {
            job.job_id: job
            for job in await self._job_store.get_jobs([r.run_id for r in page.items])
        }
        return [RunView(r, jobs[r.run_id]) for r in page.items if r.run_id in jobs]

    async def start_scheduled_run(self, run: ScheduledRun) -> None:
        await self.create_run(
            Tenant.of_owner(run.owner, run.username),
            NewRun(
                pipeline_id=run.pipeline_id,
                pipeline_version_id=run.pipeline_version_id,
                parameters=run.parameters,
                run_id=run.run_id,
                schedule_id=run.schedule_id,
                scheduled_time=run.scheduled_time,
            ),
        )

    async def force_stop(self, run_id: str, reason: str) -> None:
        with contextlib.suppress(EngineError):  # it finished meanwhile
            await self._jobs.stop(run_id, reason)


def owner_of(job: Job) -> str:
    """The owner domain of a run's job."""
    return job.spec.custom_fields.get(OWNER_FIELD, OPERATOR_OWNER)


def _is_run(job: Job, tenant: Tenant) -> bool:
    return job.spec.kind is JobKind.RUN and tenant.sees(owner_of(job))
