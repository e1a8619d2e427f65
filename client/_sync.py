# Generated from _async.py by _unasync.py (edit those, then run it): do not edit.
"""The blocking client: DagwireClient, JobHandle and RunHandle.

client/_sync.py, the blocking twin, is generated from client/_async.py by
client/_unasync.py: the source must read right as either (see the substitutions there).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import closing
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import grpc

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.v1 import (
    job_statistics_service_pb2_grpc,
    queue_service_pb2_grpc,
    step_execution_service_pb2_grpc,
    user_service_pb2_grpc,
    workflow_service_pb2_grpc,
)
from dagwire.v1 import workflow_request_response_pb2 as wf

from ._base import (
    DEFAULT_TARGET,
    DEFAULT_TIMEOUT,
    TLS,
    BaseDagwireClient,
    JobRequest,
    _JobWaiter,
    _RunWaiter,
    _RunWatchCursor,
    _watch_cursor,
    _WatchCursor,
)
from ._call import _Call
from ._errors import error_from_rpc
from ._models import Job, JobEvent, JobState, JobStatus
from ._queue_calls import (
    close_queue_call,
    create_cluster_call,
    create_flavour_call,
    create_queue_call,
    delete_cluster_call,
    delete_flavour_call,
    delete_queue_call,
    get_flavour_call,
    get_queue_call,
    grant_queue_call,
    list_cluster_resources_call,
    list_clusters_call,
    list_flavours_call,
    list_queues_call,
    update_queue_call,
)
from ._queue_models import Cluster, ClusterResource, Flavour, Grant, Queue, Resources
from ._step_calls import (
    StepParameters,
    act_on_step_call,
    get_step_call,
    list_steps_call,
    watch_steps_request,
)
from ._step_models import StepAction, StepExecution, StepExecutionStatus, StepTransition
from ._user_calls import (
    add_user_call,
    delete_user_call,
    list_users_call,
    login_call,
    update_password_call,
)
from ._user_models import Session, User
from ._workflow_calls import Parameters, PipelineSpec, _next_token
from ._workflow_models import (
    Artifact,
    ArtifactType,
    CacheEntry,
    ConcurrencyPolicy,
    FailureStrategy,
    FileSystem,
    LogChunk,
    LogPosition,
    Page,
    Pipeline,
    PipelineVersion,
    Run,
    RunEvent,
    RunStatus,
    Schedule,
    ScheduleStatus,
    StepLog,
    StepStatistics,
)

T = TypeVar("T")


class DagwireClient(BaseDagwireClient):
    """Client of the Kuscia-compatible JobService and of WorkflowService.

    Use it as a context manager (``with``), or call :meth:`close` when done::

        with DagwireClient(target="127.0.0.1:8083", token="...") as client:
            job = client.run_job(body)  # body: Kuscia's JSON as a dict
            print(job.status.state)
            handle = client.create_run(Path("diamond.yaml"))
            run = handle.result(timeout=600)
            print(run.status, [(s.name, s.status) for s in run.steps])

    JobService failures raise a :class:`~dagwire.client.KusciaError` subclass (its errors are
    in-band); WorkflowService failures and transport failures an
    :class:`~dagwire.client.RPCError` subclass picked by the gRPC status.
    """

    def __init__(
        self,
        *,
        target: str = DEFAULT_TARGET,
        timeout: float | None = DEFAULT_TIMEOUT,
        token: str | None = None,
        tls: TLS = False,
        metadata: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(target=target, timeout=timeout, token=token, tls=tls, metadata=metadata)
        # Made on first use: a channel bound to an event loop must bind to the one using it.
        self._channel: grpc.Channel | None = None
        self._stub_: Any = None
        self._workflow_stub_: Any = None
        self._step_stub_: Any = None
        self._queue_stub_: Any = None
        self._user_stub_: Any = None
        self._statistics_stub_: Any = None

    def _connect(self) -> None:
        if self._credentials is None:
            self._channel = grpc.insecure_channel(self.target, options=self._options)
        else:
            self._channel = grpc.secure_channel(
                self.target,
                self._credentials,
                options=self._options,
            )
        self._stub_ = job_pb2_grpc.JobServiceStub(self._channel)
        self._workflow_stub_ = workflow_service_pb2_grpc.WorkflowServiceStub(self._channel)
        self._step_stub_ = step_execution_service_pb2_grpc.StepExecutionServiceStub(self._channel)
        self._queue_stub_ = queue_service_pb2_grpc.QueueServiceStub(self._channel)
        self._user_stub_ = user_service_pb2_grpc.UserServiceStub(self._channel)
        self._statistics_stub_ = job_statistics_service_pb2_grpc.JobStatisticsServiceStub(
            self._channel
        )

    @property
    def _stub(self) -> Any:
        if self._stub_ is None:
            self._connect()
        return self._stub_

    @property
    def _workflow_stub(self) -> Any:
        if self._workflow_stub_ is None:
            self._connect()
        return self._workflow_stub_

    @property
    def _step_stub(self) -> Any:
        if self._step_stub_ is None:
            self._connect()
        return self._step_stub_

    @property
    def _queue_stub(self) -> Any:
        if self._queue_stub_ is None:
            self._connect()
        return self._queue_stub_

    @property
    def _user_stub(self) -> Any:
        if self._user_stub_ is None:
            self._connect()
        return self._user_stub_

    @property
    def _statistics_stub(self) -> Any:
        if self._statistics_stub_ is None:
            self._connect()
        return self._statistics_stub_

    def __enter__(self) -> DagwireClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        if self._channel is not None:
            self._channel.close()
            self._channel, self._stub_ = None, None
            self._workflow_stub_, self._step_stub_ = None, None
            self._queue_stub_, self._user_stub_ = None, None
            self._statistics_stub_ = None

    def _invoke(self, call: _Call[T]) -> T:
        stubs = {
            "job": lambda: self._stub,
            "workflow": lambda: self._workflow_stub,
            "steps": lambda: self._step_stub,
            "queues": lambda: self._queue_stub,
            "users": lambda: self._user_stub,
            "statistics": lambda: self._statistics_stub,
        }
        stub = stubs[call.service]()
        method = getattr(stub, call.method)
        try:
            response = method(call.request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return call.parse(response)

    # --- jobs ---------------------------------------------------------------------------

    def create_job(self, request: JobRequest) -> JobHandle:
        """Creates a job from a CreateJobRequest or Kuscia's JSON body (a dict)."""
        return JobHandle(self, self._invoke(self._create_call(request)))

    def submit_job(self, request: JobRequest) -> JobHandle:
        """Same as :meth:`create_job`: submit, and get a handle to wait on."""
        return self.create_job(request)

    def run_job(
        self,
        request: JobRequest,
        *,
        timeout: float | None = None,
    ) -> Job:
        """Creates a job and waits until it is terminal; see :meth:`JobHandle.result`."""
        handle = self.create_job(request)
        return handle.result(timeout=timeout)

    def job_handle(self, job_id: str) -> JobHandle:
        """A handle to an existing job (no call is made)."""
        return JobHandle(self, job_id)

    def get_job(self, job_id: str) -> Job:
        """The job's spec and status."""
        return self._invoke(self._get_call(job_id))

    def batch_status(self, job_ids: Iterable[str]) -> list[JobStatus]:
        """The status of each job, in the order asked."""
        return self._invoke(self._batch_status_call(job_ids))

    def list_jobs(
        self,
        *,
        states: Iterable[JobState | str] = (),
        page_size: int = 0,
        page_token: str = "",
        id_contains: str = "",
    ) -> Page[JobStatus]:
        """One page of the jobs the caller may see, oldest first (dagwire's ListJobs;
        Kuscia has none). ``states`` keeps those in any of them (``"Running"``),
        ``id_contains`` those whose job id contains it; pass the page's
        ``next_page_token`` as ``page_token`` for the next page."""
        call = self._list_jobs_call(states, page_size, page_token, id_contains)
        return self._invoke(call)

    def iter_jobs(
        self,
        *,
        states: Iterable[JobState | str] = (),
        page_size: int = 0,
        id_contains: str = "",
    ) -> Iterator[JobStatus]:
        """Every job :meth:`list_jobs` finds, fetching page after page."""
        return self._pages(
            functools.partial(
                self._list_jobs_call, tuple(states), page_size, id_contains=id_contains
            )
        )

    def stop_job(self, job_id: str, reason: str = "") -> None:
        """Terminates running tasks; the job fails with ``reason`` as its err_msg."""
        self._invoke(self._control_call("stop", job_id, reason))

    def suspend_job(self, job_id: str, reason: str = "") -> None:
        """Pauses a Pending, Running or AwaitingApproval job (else IllegalStateError)."""
        self._invoke(self._control_call("suspend", job_id, reason))

    def restart_job(self, job_id: str, reason: str = "") -> None:
        """Re-runs the unfinished tasks of a Suspended or Failed job (else IllegalStateError)."""
        self._invoke(self._control_call("restart", job_id, reason))

    def cancel_job(self, job_id: str, reason: str = "") -> None:
        """Cancels the job for good."""
        self._invoke(self._control_call("cancel", job_id, reason))

    def delete_job(self, job_id: str) -> None:
        """Stops what runs and removes the job."""
        self._invoke(self._delete_call(job_id))

    def approve_job(
        self,
        job_id: str,
        accept: bool,
        reason: str = "",
        domain_id: str = "",
    ) -> None:
        """Records ``domain_id``'s decision (default: the caller's domain) on a waiting job."""
        self._invoke(self._approve_call(job_id, accept, reason, domain_id))

    def watch_jobs(
        self,
        job_ids: Iterable[str] = (),
        resume_from: int = 0,
        include_heartbeats: bool = False,
        timeout_seconds: float = 0,
    ) -> Generator[JobEvent, None]:
        """Streams job events, across dropped connections, until ``timeout_seconds`` (0: never).

        Without ``resume_from`` the stream starts with an ADDED event per existing job.
        ``job_ids`` limits the events to those jobs. Heartbeats are hidden unless asked for.
        A stream that drops is resumed after the last event seen, so nothing is missed or
        repeated; :class:`WatchExpiredError` when the server no longer has those events.
        """
        cursor = _watch_cursor(job_ids, resume_from, include_heartbeats, timeout_seconds)
        with closing(self._watch(self._stub.WatchJob, cursor)) as events:
            yield from events

    def _watch(
        self,
        open_stream: Callable[..., Any],
        cursor: _WatchCursor,
    ) -> Generator[Any, None]:
        """Streams what ``cursor`` accepts, reconnecting (and resuming) as it decides."""
        delay: float | None
        while True:
            stream = open_stream(cursor.request(), metadata=self._metadata)
            try:
                for message in stream:
                    event = cursor.accept(message)
                    if event is not None:
                        yield event
            except grpc.RpcError as exc:
                delay = cursor.dropped(exc)
            else:
                delay = cursor.ended()
            finally:
                stream.cancel()
            if delay is None:
                return
            time.sleep(delay)

    # --- pipelines (WorkflowService) ----------------------------------------------------

    def create_pipeline(
        self,
        spec: PipelineSpec | None = None,
        *,
        description: str = "",
        username: str = "",
        request_id: str = "",
        fs_name: str = "",
        pipeline_yaml_path: str = "",
    ) -> Pipeline:
        """Adds a pipeline from a YAML spec (text, or a ``Path`` to read) as its version "1",
        or from the spec the server reads at ``pipeline_yaml_path`` in the caller's file
        system ``fs_name`` (PaddleFlow's fsname + yamlPath): exactly one of the two.

        Returns the pipeline with that version in ``versions``. InvalidArgumentError (with
        ``field_violations``) for a bad spec or path, AlreadyExistsError when the caller's
        user has a pipeline of that name. ``request_id`` makes a retry return the first
        answer instead of failing.
        """
        call = self._create_pipeline_call(
            spec,
            description,
            username,
            request_id,
            fs_name=fs_name,
            pipeline_yaml_path=pipeline_yaml_path,
        )
        return self._invoke(call)

    def get_pipeline(
        self, pipeline_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> Pipeline:
        """The pipeline with its versions in ``versions``, newest first: every one, or
        with ``page_size`` one page of them (``next_page_token`` then names the next page,
        to pass as ``page_token``; "" on the last)."""
        return self._invoke(self._get_pipeline_call(pipeline_id, page_size, page_token))

    def list_pipelines(
        self,
        *,
        name: str | None = None,
        username: str | None = None,
        filter: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[Pipeline]:
        """One page of pipelines, oldest first (``versions`` left empty).

        ``name`` and ``username`` filter, ``filter`` adds raw ``key=value AND ...`` terms;
        pass the page's ``next_page_token`` as ``page_token`` for the next page.
        """
        return self._invoke(
            self._list_pipelines_call(
                name=name,
                username=username,
                filter=filter,
                page_size=page_size,
                page_token=page_token,
            )
        )

    def iter_pipelines(
        self,
        *,
        name: str | None = None,
        username: str | None = None,
        filter: str = "",
        page_size: int = 0,
    ) -> Iterator[Pipeline]:
        """Every pipeline :meth:`list_pipelines` finds, fetching page after page."""
        return self._pages(
            functools.partial(
                self._list_pipelines_call,
                name=name,
                username=username,
                filter=filter,
                page_size=page_size,
            )
        )

    def update_pipeline(
        self,
        pipeline_id: str,
        spec: PipelineSpec | None = None,
        *,
        description: str = "",
        username: str = "",
        fs_name: str = "",
        pipeline_yaml_path: str = "",
    ) -> Pipeline:
        """Adds a version to a pipeline from a spec, or from ``pipeline_yaml_path`` in the
        file system ``fs_name`` (as create_pipeline); returns the pipeline with the new
        version in ``versions``. The spec's ``name`` must be the pipeline's."""
        call = self._update_pipeline_call(
            pipeline_id,
            spec,
            description,
            username,
            fs_name=fs_name,
            pipeline_yaml_path=pipeline_yaml_path,
        )
        return self._invoke(call)

    def delete_pipeline(self, pipeline_id: str) -> None:
        """Deletes a pipeline and its versions (its runs and schedules are kept).
        FailedPreconditionError while an active schedule uses it."""
        self._invoke(self._delete_pipeline_call(pipeline_id))

    def get_pipeline_version(self, pipeline_id: str, version_id: str) -> PipelineVersion:
        """One version of a pipeline, with its YAML."""
        return self._invoke(self._get_pipeline_version_call(pipeline_id, version_id))

    def delete_pipeline_version(self, pipeline_id: str, version_id: str) -> None:
        """Deletes one version; FailedPreconditionError for the last one or one in use."""
        self._invoke(self._delete_pipeline_version_call(pipeline_id, version_id))

    # --- runs -----------------------------------------------------------------------------

    def create_run(
        self,
        run_yaml: PipelineSpec | None = None,
        *,
        pipeline_id: str = "",
        pipeline_version_id: str = "",
        source_run_id: str = "",
        name: str = "",
        description: str = "",
        username: str = "",
        parameters: Parameters = None,
        disabled: Iterable[str] = (),
        failure_strategy: FailureStrategy | str | None = None,
        docker_env: str = "",
        request_id: str = "",
        fs_name: str = "",
        run_yaml_path: str = "",
    ) -> RunHandle:
        """Starts a run from exactly one source: ``run_yaml`` (text, or a ``Path``), a
        ``pipeline_id`` (its ``pipeline_version_id``, default the latest) or the spec of
        ``source_run_id``. Returns a handle to wait on; ``handle.run`` is the run as created.

        ``parameters`` override the spec's (``"p"`` on every step, ``"step.p"`` on one);
        ``disabled`` steps are skipped; ``failure_strategy`` (``"fail_fast"`` or
        ``"continue"``) overrides the spec's; ``fs_name`` is the file system every step
        starts in when the spec has no ``fs_options.main_fs`` (PaddleFlow's fs_name).
        ``run_yaml_path`` is another source: the spec the server reads at that path in
        the file system ``fs_name`` (PaddleFlow's runYamlPath).
        ValueError when not exactly one source is given; InvalidArgumentError for a bad
        spec, path, parameter or step name.
        """
        call = self._create_run_call(
            run_yaml,
            pipeline_id=pipeline_id,
            pipeline_version_id=pipeline_version_id,
            source_run_id=source_run_id,
            name=name,
            description=description,
            username=username,
            parameters=parameters,
            disabled=disabled,
            failure_strategy=failure_strategy,
            docker_env=docker_env,
            request_id=request_id,
            fs_name=fs_name,
            run_yaml_path=run_yaml_path,
        )
        run = self._invoke(call)
        return RunHandle(self, run.run_id, run)

    def run_handle(self, run_id: str) -> RunHandle:
        """A handle to an existing run (no call is made)."""
        return RunHandle(self, run_id)

    def get_run(self, run_id: str) -> Run:
        """The run with its DAG of steps and their status."""
        return self._invoke(self._get_run_call(run_id))

    def list_runs(
        self,
        *,
        username: str | None = None,
        status: RunStatus | str | None = None,
        pipeline_id: str | None = None,
        name: str | None = None,
        schedule_id: str | None = None,
        filter: str = "",
        page_size: int = 0,
        page_token: str = "",
        run_id: str | None = None,
    ) -> Page[Run]:
        """One page of runs, newest first (steps left out), filtered by the given fields
        (``status`` as a RunStatus or its name, ``"failed"``; ``run_id``, PaddleFlow's
        runFilter) and raw ``filter`` terms."""
        return self._invoke(
            self._list_runs_call(
                username=username,
                status=status,
                pipeline_id=pipeline_id,
                name=name,
                schedule_id=schedule_id,
                filter=filter,
                page_size=page_size,
                page_token=page_token,
                run_id=run_id,
            )
        )

    def iter_runs(
        self,
        *,
        username: str | None = None,
        status: RunStatus | str | None = None,
        pipeline_id: str | None = None,
        name: str | None = None,
        schedule_id: str | None = None,
        filter: str = "",
        page_size: int = 0,
        run_id: str | None = None,
    ) -> Iterator[Run]:
        """Every run :meth:`list_runs` finds, fetching page after page."""
        return self._pages(
            functools.partial(
                self._list_runs_call,
                username=username,
                status=status,
                pipeline_id=pipeline_id,
                name=name,
                schedule_id=schedule_id,
                filter=filter,
                page_size=page_size,
                run_id=run_id,
            )
        )

    def stop_run(self, run_id: str, *, force: bool = False) -> Run:
        """Stops a run: running steps are killed, pending ones skipped; the post step still
        runs unless ``force``. FailedPreconditionError once the run finished."""
        return self._invoke(self._stop_run_call(run_id, force))

    def retry_run(self, run_id: str) -> RunHandle:
        """Starts a new run of a failed or terminated run's spec that reuses its succeeded
        steps' outputs; returns the new run's handle (``handle.run.retried_from`` is
        ``run_id``)."""
        run = self._invoke(self._retry_run_call(run_id))
        return RunHandle(self, run.run_id, run)

    def delete_run(self, run_id: str, *, check_cache: bool = True) -> None:
        """Deletes a finished run (FailedPreconditionError while it runs, or with
        ``check_cache``, the default as in PaddleFlow's SDK, while runs that reused its
        outputs exist)."""
        self._invoke(self._delete_run_call(run_id, check_cache))

    def watch_runs(
        self,
        run_ids: Iterable[str] = (),
        resume_from: int = 0,
        include_heartbeats: bool = False,
        timeout_seconds: float = 0,
    ) -> Generator[RunEvent, None]:
        """Streams run events, across dropped connections, until ``timeout_seconds`` (0: never).

        Works as :meth:`watch_jobs`: an ADDED event per run first (unless ``resume_from``),
        ``run_ids`` limits the events, heartbeats are hidden unless asked for, and a dropped
        stream resumes after the last event seen (WatchExpiredError when the server no
        longer has it).
        """
        cursor = _watch_cursor(
            run_ids, resume_from, include_heartbeats, timeout_seconds, kind=_RunWatchCursor
        )
        with closing(self._watch(self._workflow_stub.WatchRuns, cursor)) as events:
            yield from events

    # --- cache, artifacts, logs -----------------------------------------------------------

    def list_cache_entries(
        self,
        *,
        username: str | None = None,
        run_id: str | None = None,
        step_name: str | None = None,
        pipeline_id: str | None = None,
        filter: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[CacheEntry]:
        """One page of cache entries, newest first, filtered by the given fields."""
        return self._invoke(
            self._list_cache_entries_call(
                username=username,
                run_id=run_id,
                step_name=step_name,
                pipeline_id=pipeline_id,
                filter=filter,
                page_size=page_size,
                page_token=page_token,
            )
        )

    def iter_cache_entries(
        self,
        *,
        username: str | None = None,
        run_id: str | None = None,
        step_name: str | None = None,
        pipeline_id: str | None = None,
        filter: str = "",
        page_size: int = 0,
    ) -> Iterator[CacheEntry]:
        """Every cache entry :meth:`list_cache_entries` finds, page after page."""
        return self._pages(
            functools.partial(
                self._list_cache_entries_call,
                username=username,
                run_id=run_id,
                step_name=step_name,
                pipeline_id=pipeline_id,
                filter=filter,
                page_size=page_size,
            )
        )

    def get_cache_entry(self, cache_id: str) -> CacheEntry:
        """One cache entry."""
        return self._invoke(self._get_cache_entry_call(cache_id))

    def delete_cache_entry(self, cache_id: str) -> None:
        """Drops a cache entry; later runs no longer reuse it."""
        self._invoke(self._delete_cache_entry_call(cache_id))

    def create_file_system(
        self, name: str, url: str, properties: Mapping[str, str] | None = None
    ) -> FileSystem:
        """Registers a file system of the caller's domain: ``local:///abs/path`` (an
        operator's) or ``s3://bucket/prefix`` (properties: endpoint, region, access_key,
        secret_key)."""
        return self._invoke(self._create_file_system_call(name, url, properties))

    def get_file_system(self, name: str) -> FileSystem:
        """One of the caller's file systems, secrets masked."""
        return self._invoke(self._get_file_system_call(name))

    def list_file_systems(self) -> list[FileSystem]:
        """The caller's file systems by name, secrets masked."""
        return self._invoke(self._list_file_systems_call())

    def delete_file_system(self, name: str) -> None:
        """Unregisters a file system; its content stays where it is."""
        self._invoke(self._delete_file_system_call(name))

    def list_artifacts(
        self,
        *,
        run_id: str | None = None,
        step_name: str | None = None,
        type: ArtifactType | str | None = None,
        path: str | None = None,
        username: str | None = None,
        name: str | None = None,
        filter: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[Artifact]:
        """One page of artifacts, newest first; ``type`` is ``"input"`` or ``"output"``,
        ``path`` matches as a prefix."""
        return self._invoke(
            self._list_artifacts_call(
                run_id=run_id,
                step_name=step_name,
                type=type,
                path=path,
                username=username,
                name=name,
                filter=filter,
                page_size=page_size,
                page_token=page_token,
            )
        )

    def iter_artifacts(
        self,
        *,
        run_id: str | None = None,
        step_name: str | None = None,
        type: ArtifactType | str | None = None,
        path: str | None = None,
        username: str | None = None,
        name: str | None = None,
        filter: str = "",
        page_size: int = 0,
    ) -> Iterator[Artifact]:
        """Every artifact :meth:`list_artifacts` finds, page after page."""
        return self._pages(
            functools.partial(
                self._list_artifacts_call,
                run_id=run_id,
                step_name=step_name,
                type=type,
                path=path,
                username=username,
                name=name,
                filter=filter,
                page_size=page_size,
            )
        )

    def get_run_log(
        self,
        run_id: str,
        step_name: str = "",
        *,
        page_size: int = 0,
        page_no: int = 0,
        position: LogPosition | str | None = None,
    ) -> list[StepLog]:
        """One page of the log of each started step (or of ``step_name`` only), in spec
        order. ``position="begin"`` numbers pages from the first line, ``"end"`` (the
        default) from the last; ``page_size`` lines a page (server default 100)."""
        call = self._get_run_log_call(run_id, step_name, page_size, page_no, position)
        return self._invoke(call)

    def get_step_statistics(
        self, run_id: str, step_name: str = "", *, with_samples: bool = False
    ) -> list[StepStatistics]:
        """What each finished attempt of the run's steps (or of ``step_name`` only) cost:
        CPU seconds, peak memory bytes, wall seconds, exit code; with ``with_samples``,
        the process tree over time too. NotFoundError for an unknown run or step."""
        call = self._get_step_statistics_call(run_id, step_name, with_samples)
        return self._invoke(call)

    def get_job_statistics(
        self, job_id: str, task_id: str = "", *, with_samples: bool = False
    ) -> list[StepStatistics]:
        """What each finished attempt of a Kuscia job's party processes (or of one task's,
        by task id or alias) cost; ``step_name`` is the task's alias. NotFoundError for a
        job the caller is no party of."""
        return self._invoke(self._get_job_statistics_call(job_id, task_id, with_samples))

    def tail_run_log(
        self,
        run_id: str,
        step_name: str,
        *,
        offset: int = 0,
        timeout_seconds: int = 0,
    ) -> Generator[LogChunk, None]:
        """Follows one step's log as it is written (TailRunLog): what it holds from byte
        ``offset``, then each new chunk, into the step's retries (a new ``attempt``
        starts at offset 0), until ``timeout_seconds`` (0: until the caller stops).
        NotFoundError for an unknown run or step."""
        request = wf.TailRunLogRequest(
            run_id=run_id, step_name=step_name, offset=offset, timeout_seconds=timeout_seconds
        )
        stream = self._workflow_stub.TailRunLog(request, metadata=self._metadata)
        try:
            for message in stream:
                yield LogChunk._from_proto(message)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        finally:
            stream.cancel()

    # --- schedules ------------------------------------------------------------------------

    def create_schedule(
        self,
        name: str,
        pipeline_id: str,
        crontab: str,
        *,
        pipeline_version_id: str = "",
        description: str = "",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        concurrency: int = 0,
        concurrency_policy: ConcurrencyPolicy | str | None = None,
        expire_interval: int = 0,
        catchup: bool = False,
        username: str = "",
        parameters: Parameters = None,
        request_id: str = "",
    ) -> Schedule:
        """Adds a schedule running ``pipeline_id`` (its ``pipeline_version_id``, default the
        latest) at every ``crontab`` tick (five fields, or six with seconds first) between
        ``start_time`` and ``end_time``. At most ``concurrency`` runs (default 1) are active
        at once; ``concurrency_policy`` (suspend, replace, skip) says what a tick does at the
        limit. With ``catchup`` ticks missed while the server was down run when it is back,
        those no older than ``expire_interval`` seconds (0: any)."""
        call = self._create_schedule_call(
            name,
            pipeline_id,
            crontab,
            pipeline_version_id=pipeline_version_id,
            description=description,
            start_time=start_time,
            end_time=end_time,
            concurrency=concurrency,
            concurrency_policy=concurrency_policy,
            expire_interval=expire_interval,
            catchup=catchup,
            username=username,
            parameters=parameters,
            request_id=request_id,
        )
        return self._invoke(call)

    def get_schedule(self, schedule_id: str) -> Schedule:
        """The schedule, with its recent runs (newest first) in ``runs``."""
        return self._invoke(self._get_schedule_call(schedule_id))

    def list_schedules(
        self,
        *,
        username: str | None = None,
        pipeline_id: str | None = None,
        pipeline_version_id: str | None = None,
        name: str | None = None,
        status: ScheduleStatus | str | None = None,
        filter: str = "",
        page_size: int = 0,
        page_token: str = "",
        schedule_id: str | None = None,
    ) -> Page[Schedule]:
        """One page of schedules, oldest first, filtered by the given fields
        (``schedule_id``: PaddleFlow's scheduleFilter)."""
        return self._invoke(
            self._list_schedules_call(
                username=username,
                pipeline_id=pipeline_id,
                pipeline_version_id=pipeline_version_id,
                name=name,
                status=status,
                filter=filter,
                page_size=page_size,
                page_token=page_token,
                schedule_id=schedule_id,
            )
        )

    def iter_schedules(
        self,
        *,
        username: str | None = None,
        pipeline_id: str | None = None,
        pipeline_version_id: str | None = None,
        name: str | None = None,
        status: ScheduleStatus | str | None = None,
        filter: str = "",
        page_size: int = 0,
        schedule_id: str | None = None,
    ) -> Iterator[Schedule]:
        """Every schedule :meth:`list_schedules` finds, page after page."""
        return self._pages(
            functools.partial(
                self._list_schedules_call,
                username=username,
                pipeline_id=pipeline_id,
                pipeline_version_id=pipeline_version_id,
                name=name,
                status=status,
                filter=filter,
                page_size=page_size,
                schedule_id=schedule_id,
            )
        )

    def stop_schedule(self, schedule_id: str) -> Schedule:
        """Stops a schedule for good (its active runs go on); FailedPreconditionError when
        it is not active."""
        return self._invoke(self._stop_schedule_call(schedule_id))

    def delete_schedule(self, schedule_id: str) -> None:
        """Deletes a schedule; its runs are kept."""
        self._invoke(self._delete_schedule_call(schedule_id))

    # --- queues, flavours and clusters (QueueService) ----------------------------------

    def create_queue(
        self,
        name: str,
        max: Resources,
        *,
        min: Resources | None = None,
    ) -> Queue:
        """Create an open queue (operators only); AlreadyExistsError if it exists."""
        return self._invoke(create_queue_call(name, max, min))

    def update_queue(
        self,
        name: str,
        *,
        max: Resources | None = None,
        min: Resources | None = None,
        status: str | None = None,
    ) -> Queue:
        """Change a queue's max, min or status (``open``/``closed``); unset keeps it."""
        return self._invoke(update_queue_call(name, max, min, status))

    def get_queue(self, name: str) -> Queue:
        """A queue the caller may use, with what runs and waits in it; NotFoundError else."""
        return self._invoke(get_queue_call(name))

    def list_queues(self) -> list[Queue]:
        """The queues the caller may use, the server's own ``default`` first."""
        return self._invoke(list_queues_call())

    def close_queue(self, name: str) -> Queue:
        """Close a queue: what runs finishes, what waits is refused."""
        return self._invoke(close_queue_call(name))

    def delete_queue(self, name: str) -> None:
        """Delete a queue; FailedPreconditionError while anything runs or waits in it."""
        self._invoke(delete_queue_call(name))

    def grant_queue(self, name: str, grants: Iterable[Grant]) -> Queue:
        """Let users or domains use a queue."""
        return self._invoke(grant_queue_call(name, grants, revoke=False))

    def revoke_queue(self, name: str, grants: Iterable[Grant]) -> Queue:
        """Take grants of a queue back."""
        return self._invoke(grant_queue_call(name, grants, revoke=True))

    def create_flavour(self, name: str, resources: Resources) -> Flavour:
        """Create a flavour (a named size, picked with PF_JOB_FLAVOUR)."""
        return self._invoke(create_flavour_call(name, resources))

    def get_flavour(self, name: str) -> Flavour:
        return self._invoke(get_flavour_call(name))

    def list_flavours(self) -> list[Flavour]:
        return self._invoke(list_flavours_call())

    def delete_flavour(self, name: str) -> None:
        self._invoke(delete_flavour_call(name))

    def create_cluster(
        self, name: str, address: str, resources: Resources, *, description: str = ""
    ) -> Cluster:
        """Register a Ray cluster by the address of its head."""
        return self._invoke(create_cluster_call(name, address, resources, description))

    def list_clusters(self) -> list[Cluster]:
        """The clusters: ``local`` (this server's machine) first."""
        return self._invoke(list_clusters_call())

    def delete_cluster(self, name: str) -> None:
        self._invoke(delete_cluster_call(name))

    def list_cluster_resources(self) -> list[ClusterResource]:
        """Each cluster's resources: total, in use and free."""
        return self._invoke(list_cluster_resources_call())

    # --- users and login (UserService) --------------------------------------------------

    def login(self, username: str, password: str) -> Session:
        """Exchange a user's password for a token (``Session.token``); send it afterwards
        as ``token=``. RPCError (UNAUTHENTICATED) for a wrong name or password."""
        return self._invoke(login_call(username, password))

    def add_user(self, username: str, password: str, *, domain: str = "") -> User:
        """Add a user (root and operators only); its domain defaults to its name,
        lower-cased. AlreadyExistsError if the name is taken (regardless of case)."""
        return self._invoke(add_user_call(username, password, domain))

    def delete_user(self, username: str) -> None:
        """Delete a user (root and operators only); its tokens stop working at once."""
        self._invoke(delete_user_call(username))

    def list_users(self, *, page_size: int = 0, page_token: str = "") -> Page[User]:
        """One page of users by name (root and operators only)."""
        return self._invoke(list_users_call(page_size, page_token))

    def update_password(self, username: str, password: str) -> None:
        """Change a user's password (a user its own; operators anyone's); the tokens
        issued before stop working."""
        self._invoke(update_password_call(username, password))

    # --- steps (StepExecutionService) ---------------------------------------------------

    def get_step(
        self,
        run_id: str = "",
        step_name: str = "",
        *,
        uuid: str = "",
    ) -> StepExecution:
        """One step, by run and name, or by its uuid alone; NotFoundError if there is none."""
        return self._invoke(get_step_call(run_id, step_name, uuid))

    def list_steps(
        self,
        run_id: str,
        *,
        status: StepExecutionStatus | str | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[StepExecution]:
        """One page of a run's steps, in spec order, optionally of one status."""
        return self._invoke(list_steps_call(run_id, status, page_size, page_token))

    def act_on_step(
        self,
        action: StepAction | str,
        run_id: str = "",
        step_name: str = "",
        *,
        uuid: str = "",
        parameters: StepParameters = None,
        data: Mapping[str, str] | None = None,
    ) -> StepExecution:
        """Retry, stop or continue a step; the step after the action. ``parameters`` and
        ``data`` (data requirements, by name) override the step's parameters."""
        call = act_on_step_call(action, run_id, step_name, uuid, parameters, data)
        return self._invoke(call)

    def retry_step(
        self,
        run_id: str = "",
        step_name: str = "",
        **options: Any,
    ) -> StepExecution:
        """Run a failed, stopped or held step again (see :meth:`act_on_step`)."""
        return self.act_on_step(StepAction.RETRY, run_id, step_name, **options)

    def stop_step(
        self,
        run_id: str = "",
        step_name: str = "",
        **options: Any,
    ) -> StepExecution:
        """Stop a running step (see :meth:`act_on_step`)."""
        return self.act_on_step(StepAction.STOP, run_id, step_name, **options)

    def continue_step(
        self,
        run_id: str = "",
        step_name: str = "",
        **options: Any,
    ) -> StepExecution:
        """Release a held step (see :meth:`act_on_step`)."""
        return self.act_on_step(StepAction.CONTINUE, run_id, step_name, **options)

    def watch_steps(
        self, run_id: str, step_names: Iterable[str] = (), *, timeout_seconds: int = 0
    ) -> Generator[StepTransition, None]:
        """Every status change of the run's steps, the history first; ends with the run
        (or after ``timeout_seconds``)."""
        request = watch_steps_request(run_id, step_names, timeout_seconds)
        stream = self._step_stub.WatchStepExecutions(request, metadata=self._metadata)
        try:
            for event in stream:
                yield StepTransition._from_proto(event)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        finally:
            stream.cancel()

    def _pages(self, page_call: Callable[..., _Call[Page[T]]]) -> Iterator[T]:
        """The items of every page, calling ``page_call(page_token=...)`` page after page."""
        token: str | None = ""
        seen: set[str] = set()
        while token is not None:
            page = self._invoke(page_call(page_token=token))
            yield from page
            token = _next_token(page, seen)


class JobHandle:
    """A job submitted through :class:`DagwireClient`."""

    def __init__(self, client: DagwireClient, job_id: str) -> None:
        self.client = client
        self.job_id = job_id

    def __repr__(self) -> str:
        return f"JobHandle(job_id={self.job_id!r})"

    def describe(self) -> Job:
        """The job's spec and current status."""
        return self.client.get_job(self.job_id)

    def result(self, timeout: float | None = None) -> Job:
        """Waits until the job is terminal (Succeeded, Failed, ApprovalReject, Cancelled).

        Returns the job whatever its final state; raises WaitTimeoutError after ``timeout``
        seconds, JobNotFoundError when the job is deleted meanwhile.
        """
        waiter = _JobWaiter(self.job_id, timeout)
        job = self.describe()
        if job.status.is_terminal:
            return job
        with closing(self.client.watch_jobs(**waiter.watch_args())) as events:
            for event in events:
                if waiter.finished(event):
                    return self.describe()
        raise waiter.timed_out()

    def cancel(self, reason: str = "") -> None:
        """Cancels the job for good."""
        self.client.cancel_job(self.job_id, reason)

    def stop(self, reason: str = "") -> None:
        """Stops the job; it ends Failed with ``reason``."""
        self.client.stop_job(self.job_id, reason)


class RunHandle:
    """A run started (or named) through :class:`DagwireClient`.

    ``run`` is the run as the call that made the handle returned it (None for
    :meth:`DagwireClient.run_handle`); :meth:`describe` fetches it afresh.
    """

    def __init__(self, client: DagwireClient, run_id: str, run: Run | None = None) -> None:
        self.client = client
        self.run_id = run_id
        self.run = run

    def __repr__(self) -> str:
        return f"RunHandle(run_id={self.run_id!r})"

    def describe(self) -> Run:
        """The run with its steps, as it is now."""
        return self.client.get_run(self.run_id)

    def result(self, timeout: float | None = None) -> Run:
        """Waits until the run finished (succeeded, failed or terminated) and returns it
        with its steps, whatever the outcome: check ``run.status``.

        Raises WaitTimeoutError after ``timeout`` seconds, NotFoundError when the run is
        deleted meanwhile.
        """
        waiter = _RunWaiter(self.run_id, timeout)
        run = self.describe()
        if run.is_finished:
            return run
        with closing(self.client.watch_runs(**waiter.watch_args())) as events:
            for event in events:
                if waiter.finished(event):
                    return self.describe()
        raise waiter.timed_out()

    def stop(self, *, force: bool = False) -> Run:
        """Stops the run (the post step still runs unless ``force``)."""
        return self.client.stop_run(self.run_id, force=force)

    def retry(self) -> RunHandle:
        """Starts a new run reusing this one's succeeded steps; returns its handle."""
        return self.client.retry_run(self.run_id)

    def delete(self, *, check_cache: bool = True) -> None:
        """Deletes the (finished) run; see ``delete_run`` for ``check_cache``."""
        self.client.delete_run(self.run_id, check_cache=check_cache)

    def logs(
        self,
        step_name: str = "",
        *,
        page_size: int = 0,
        page_no: int = 0,
        position: LogPosition | str | None = None,
    ) -> list[StepLog]:
        """One page of the run's step logs; see :meth:`DagwireClient.get_run_log`."""
        return self.client.get_run_log(
            self.run_id, step_name, page_size=page_size, page_no=page_no, position=position
        )
