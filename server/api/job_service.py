"""The Kuscia-compatible JobService: decode -> runtime call -> encode."""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2 as pb
from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc
from dagwire.server.api import convert
from dagwire.server.api.answer_size import (
    check_answer_size,
    require_batch_fits,
    require_fits,
)
from dagwire.server.api.kuscia_validation import validate_create_request
from dagwire.server.api.status import (
    REQUEST_INVALID,
    UNEXPECTED,
    failure,
    kuscia_errors,
    success,
)
from dagwire.server.api.watch_errors import abort_stream, event_too_large, too_slow
from dagwire.server.auth.policy import (
    approving_domain,
    can_see,
    require_initiator,
    require_party,
    require_visible,
)
from dagwire.server.auth.principal import Principal, current_principal
from dagwire.server.bus.base import EventBus, SubscriberOverflow
from dagwire.server.engine.errors import InvalidRequest, JobNotFound
from dagwire.server.engine.model import Job, JobKind
from dagwire.server.runtime.jobs import Guard, JobRuntime
from dagwire.server.runtime.listing import list_jobs, page_size
from dagwire.server.runtime.watch import (
    ResumeExpired,
    WatchEvent,
    WatchEventType,
    WatchFilter,
    WatchInterrupted,
    watch_jobs,
)
from dagwire.server.store.base import JobScope, JobStore

Context = grpc.aio.ServicerContext[Any, Any]

MAX_WATCH_TIMEOUT = 2**31 - 1
# The most ids one BatchQueryJobStatus may name (11100 beyond).
MAX_BATCH_QUERY_IDS = 1_000
MAX_WATCH_JOB_IDS = 1_000
# A lifecycle or approval reason is copied into the job and each of its tasks' messages,
# so its size multiplies by the job's size in the store and in every answer: a 3 MB
# reason on a 100-task job grew the store by 600 MB per call. Kuscia sets no bound; a
# human-readable reason fits well within this.
MAX_REASON_CHARS = 1_024

_DECISIONS = {pb.APPROVE_RESULT_ACCEPT: True, pb.APPROVE_RESULT_REJECT: False}


def kuscia_rejection(method: MethodDescriptor, why: str) -> Message:
    """The in-band answer to a gRPC request that could not even be decoded (11100)."""
    return _rejection(method, REQUEST_INVALID, why)


def kuscia_http_rejection(method: MethodDescriptor, why: str) -> Message:
    """The in-band answer to an HTTP body that could not be decoded: 11101, as Kuscia's
    HTTP layer answers every binding error with its unexpected-error handler
    (secretflow/kuscia pkg/web/decorator/proto_decorator.go, ProtoDecorator ->
    getProtoRequest -> UnexpectedErrorHandler; pkg/kusciaapi/bean/http_server_bean.go
    protoDecorator passes ErrorCode_KusciaAPIErrForUnexpected)."""
    return _rejection(method, UNEXPECTED, why)


def _rejection(method: MethodDescriptor, code: int, why: str) -> Message:
    response = GetMessageClass(method.output_type)()
    # Set through the field rather than as a keyword: the stubs type an arbitrary
    # message class as the bare `Message`, whose constructor takes no fields.
    response.status.CopyFrom(failure(code, why))  # type: ignore[attr-defined]
    return response


def _party_guard() -> Guard:
    """The caller may act only on Kuscia jobs (not pipeline runs, which share the engine)
    it is a party of; operators on every job. Any other job answers as a missing one."""
    principal = current_principal()

    def guard(job: Job) -> None:
        if job.spec.kind is not JobKind.JOB:
            raise JobNotFound(job.job_id)
        require_visible(principal, job)

    return guard


def _watchable(principal: Principal, job: Job) -> bool:
    return job.spec.kind is JobKind.JOB and can_see(principal, job)


def _require_job_id(job_id: str) -> str:
    if not job_id:
        raise InvalidRequest("job_id is required")
    return job_id


def _bounded_reason(reason: str) -> str:
    """The request's reason, refused (before any lookup) when it is too long to copy."""
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidRequest(
            f"reason may be at most {MAX_REASON_CHARS} characters, got {len(reason)}"
        )
    return reason


class EncodedEvents:
    """Wire bytes of recent watch events, shared by every stream: with N watchers an
    event is converted and serialized once instead of N times. Bounded by count and by
    bytes (an event of a big job is megabytes); an event larger than the byte bound is
    not kept."""

    def __init__(self, capacity: int = 4096, max_bytes: int = 64 << 20) -> None:
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._held = 0
        self._cache: OrderedDict[tuple[WatchEventType, int, bool], bytes] = OrderedDict()

    def encode(self, event: WatchEvent) -> bytes:
        # A delta is the same for every stream that gets one: each sent the job's
        # previous version (runtime/watch.py).
        key = (event.type, event.resource_version, event.changed is not None)
        encoded = self._cache.get(key)
        if encoded is not None:
            self._cache.move_to_end(key)
            return encoded
        encoded = convert.watch_event(event)
        if len(encoded) <= self._max_bytes:
            self._cache[key] = encoded
            self._held += len(encoded)
            while len(self._cache) > self._capacity or self._held > self._max_bytes:
                self._held -= len(self._cache.popitem(last=False)[1])
        return encoded


class JobServicer(job_pb2_grpc.JobServiceServicer):
    def __init__(
        self,
        runtime: JobRuntime,
        store: JobStore,
        bus: EventBus,
        heartbeat_interval: float,
        max_message_bytes: int = 8 << 20,
    ) -> None:
        self._runtime = runtime
        self._store = store
        self._bus = bus
        self._heartbeat_interval = heartbeat_interval
        self._max_message_bytes = max_message_bytes
        self._encoded = EncodedEvents()

    @kuscia_errors("CreateJob", pb.CreateJobResponse)
    async def CreateJob(
        self, request: pb.CreateJobRequest, context: Context
    ) -> pb.CreateJobResponse:
        caller = current_principal()
        validate_create_request(request)
        spec = convert.job_spec_from_proto(request)
        require_party(caller, spec)
        require_initiator(caller, spec)
        check_answer_size(request, self._max_message_bytes)
        job = await self._runtime.create(spec)
        return pb.CreateJobResponse(
            status=success(), data=pb.CreateJobResponseData(job_id=job.job_id)
        )

    @kuscia_errors("QueryJob", pb.QueryJobResponse)
    async def QueryJob(self, request: pb.QueryJobRequest, context: Context) -> pb.QueryJobResponse:
        guard = _party_guard()
        job = await self._runtime.get(_require_job_id(request.job_id), guard)
        response = pb.QueryJobResponse(status=success(), data=convert.query_data(job))
        if response.ByteSize() > self._max_message_bytes:
            # Long err_msgs: the answer create-time bounds (answer_size.py) fits.
            response.data.CopyFrom(convert.query_data(job, convert.TRIMMED))
            require_fits(response.ByteSize(), self._max_message_bytes, job.job_id)
        return response

    @kuscia_errors("BatchQueryJobStatus", pb.BatchQueryJobStatusResponse)
    async def BatchQueryJobStatus(
        self, request: pb.BatchQueryJobStatusRequest, context: Context
    ) -> pb.BatchQueryJobStatusResponse:
        # Bounded first, before any query and the guard's work (the caller's identity is
        # checked next): the store reads the ids in one statement and the answer must fit
        # the send limit.
        if len(request.job_ids) > MAX_BATCH_QUERY_IDS:
            raise InvalidRequest(
                f"job_ids may list at most {MAX_BATCH_QUERY_IDS} job ids, "
                f"got {len(request.job_ids)}: query them in batches"
            )
        guard = _party_guard()
        if not request.job_ids or not all(request.job_ids):
            raise InvalidRequest("job_ids must list at least one non-empty job id")
        jobs = await self._runtime.get_many(list(request.job_ids), guard)
        data = pb.BatchQueryJobStatusResponseData(jobs=[convert.job_status(job) for job in jobs])
        if data.ByteSize() > self._max_message_bytes:
            data = pb.BatchQueryJobStatusResponseData(
                jobs=[convert.job_status(job, convert.TRIMMED) for job in jobs]
            )
            require_batch_fits(data.ByteSize(), self._max_message_bytes, len(jobs))
        return pb.BatchQueryJobStatusResponse(status=success(), data=data)

    @kuscia_errors("ListJobs", pb.ListJobsResponse)
    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        principal = current_principal()
        states = {convert.job_state_from_name(name) for name in request.states}
        page = await list_jobs(
            self._store,
            lambda job: _watchable(principal, job),
            states,
            request.page_token,
            page_size(request.page_size),
            request.job_id_contains,
        )
        data = pb.ListJobsResponseData(
            jobs=[convert.job_status(job) for job in page.jobs],
            next_page_token=page.next_page_token,
        )
        return pb.ListJobsResponse(status=success(), data=data)

    @kuscia_errors("DeleteJob", pb.DeleteJobResponse)
    async def DeleteJob(
        self, request: pb.DeleteJobRequest, context: Context
    ) -> pb.DeleteJobResponse:
        guard = _party_guard()
        await self._runtime.delete(_require_job_id(request.job_id), guard)
        return pb.DeleteJobResponse(
            status=success(), data=pb.DeleteJobResponseData(job_id=request.job_id)
        )

    @kuscia_errors("StopJob", pb.StopJobResponse)
    async def StopJob(self, request: pb.StopJobRequest, context: Context) -> pb.StopJobResponse:
        guard = _party_guard()
        reason = _bounded_reason(request.reason)
        job = await self._runtime.stop(_require_job_id(request.job_id), reason, guard)
        return pb.StopJobResponse(status=success(), data=pb.StopJobResponseData(job_id=job.job_id))

    @kuscia_errors("SuspendJob", pb.SuspendJobResponse)
    async def SuspendJob(
        self, request: pb.SuspendJobRequest, context: Context
    ) -> pb.SuspendJobResponse:
        guard = _party_guard()
        reason = _bounded_reason(request.reason)
        job = await self._runtime.suspend(_require_job_id(request.job_id), reason, guard)
        return pb.SuspendJobResponse(
            status=success(), data=pb.SuspendJobResponseData(job_id=job.job_id)
        )

    @kuscia_errors("RestartJob", pb.RestartJobResponse)
    async def RestartJob(
        self, request: pb.RestartJobRequest, context: Context
    ) -> pb.RestartJobResponse:
        guard = _party_guard()
        reason = _bounded_reason(request.reason)
        job = await self._runtime.restart(_require_job_id(request.job_id), reason, guard)
        return pb.RestartJobResponse(
            status=success(), data=pb.RestartJobResponseData(job_id=job.job_id)
        )

    @kuscia_errors("CancelJob", pb.CancelJobResponse)
    async def CancelJob(
        self, request: pb.CancelJobRequest, context: Context
    ) -> pb.CancelJobResponse:
        guard = _party_guard()
        reason = _bounded_reason(request.reason)
        job = await self._runtime.cancel(_require_job_id(request.job_id), reason, guard)
        return pb.CancelJobResponse(
            status=success(), data=pb.CancelJobResponseData(job_id=job.job_id)
        )

    @kuscia_errors("ApproveJob", pb.ApproveJobResponse)
    async def ApproveJob(
        self, request: pb.ApproveJobRequest, context: Context
    ) -> pb.ApproveJobResponse:
        caller = current_principal()
        if request.result not in _DECISIONS:
            raise InvalidRequest(
                "result must be APPROVE_RESULT_ACCEPT or APPROVE_RESULT_REJECT, "
                f"got {request.result}"
            )
        reason = _bounded_reason(request.reason)
        job = await self._runtime.approve(
            _require_job_id(request.job_id),
            approving_domain(caller, request.domain_id or None),
            _DECISIONS[request.result],
            reason,
            _party_guard(),
        )
        return pb.ApproveJobResponse(
            status=success(), data=pb.ApproveJobResponseData(job_id=job.job_id)
        )

    # Yields pre-encoded events (EncodedEvents), hence the override of the stub's type.
    async def WatchJob(  # type: ignore[override]
        self, request: pb.WatchJobRequest, context: Context
    ) -> AsyncIterator[bytes]:
        caller = current_principal()
        if not 0 <= request.timeout_seconds <= MAX_WATCH_TIMEOUT:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"timeout_seconds must be within [0, {MAX_WATCH_TIMEOUT}], "
                f"got {request.timeout_seconds}",
            )
        if request.resume_from < 0:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"resume_from must not be negative, got {request.resume_from}",
            )
        if len(request.job_ids) > MAX_WATCH_JOB_IDS:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"job_ids may list at most {MAX_WATCH_JOB_IDS} jobs, got {len(request.job_ids)}",
            )
        events = watch_jobs(
            self._store,
            self._bus,
            where=WatchFilter(
                job_ids=frozenset(request.job_ids),
                visible=functools.partial(_watchable, caller),
                scope=JobScope(kind=JobKind.JOB, domain=caller.domain),
            ),
            resume_from=request.resume_from,
            heartbeat_interval=self._heartbeat_interval,
            lifetime=float(request.timeout_seconds) or None,
            deltas=request.deltas,
        )
        last = request.resume_from
        try:
            async for event in events:
                encoded = self._encoded.encode(event)
                if len(encoded) > self._max_message_bytes:
                    encoded = convert.watch_event(event, convert.TRIMMED)
                if len(encoded) > self._max_message_bytes:
                    size, limit = len(encoded), self._max_message_bytes
                    await abort_stream(context, event_too_large(event, size, limit))
                last = event.resource_version
                yield encoded
        except ResumeExpired as error:
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, str(error))
        except WatchInterrupted as error:  # shutdown: unlike a timeout's OK, "resume"
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(error))
        except SubscriberOverflow as error:
            await abort_stream(context, too_slow(str(error), last))
        finally:
            await events.aclose()
