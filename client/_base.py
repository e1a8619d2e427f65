"""What the sync and asyncio clients share: configuration, request building, response
checking and the watch/wait bookkeeping. The twins in ``_sync.py`` and ``_async.py`` only
perform the calls (``stub.X(request)`` or ``await stub.X(request)``) and sleep.

JobService requests are built here, WorkflowService ones in ``_workflow_calls.py`` (a base
of :class:`BaseDagwireClient`); the watch cursors and waiters of both live here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import grpc

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2
from dagwire.v1 import workflow_request_response_pb2 as wf

from ._call import _Call
from ._deltas import JobStates
from ._errors import (
    ERROR_INFO_KEY,
    DagwireError,
    JobNotFoundError,
    NotFoundError,
    RPCError,
    WaitTimeoutError,
    error_from_rpc,
    error_from_status,
)
from ._models import EventType, Job, JobEvent, JobState, JobStatus, job_request_from_dict
from ._workflow_calls import _WorkflowCalls
from ._workflow_models import Page, RunEvent

T = TypeVar("T")

DEFAULT_TARGET = "127.0.0.1:8083"
DEFAULT_TIMEOUT = 30.0

#: A job to create: a ready CreateJobRequest or Kuscia's JSON body as a dict.
JobRequest: TypeAlias = "job_pb2.CreateJobRequest | Mapping[str, Any]"


@dataclass(frozen=True)
class TLSConfig:
    """TLS settings: server CA, client certificate and key for mTLS (PEM bytes).

    ``server_hostname`` overrides the name the server certificate is checked against.
    """

    root_certificates: bytes | None = None
    private_key: bytes | None = None
    certificate_chain: bytes | None = None
    server_hostname: str | None = None

    @classmethod
    def from_files(
        cls,
        *,
        ca: str | Path | None = None,
        cert: str | Path | None = None,
        key: str | Path | None = None,
        server_hostname: str | None = None,
    ) -> TLSConfig:
        """Reads the PEM files that are given (Kuscia's ca.crt, client .crt and .key)."""

        def read(path: str | Path | None) -> bytes | None:
            return Path(path).read_bytes() if path is not None else None

        return cls(read(ca), read(key), read(cert), server_hostname)

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            self.root_certificates, self.private_key, self.certificate_chain
        )


#: ``tls``: False (plaintext), True (system roots), a TLSConfig, or ready credentials.
TLS: TypeAlias = "bool | TLSConfig | grpc.ChannelCredentials"


def _checked(response: Any) -> Any:
    """The response itself when its in-band status is OK; the precise KusciaError otherwise."""
    if response.status.code != 0:
        raise error_from_status(response.status)
    return response


def _job_id_of(response: Any) -> str:
    return str(_checked(response).data.job_id)


def _nothing(response: Any) -> None:
    _checked(response)


# Stop / suspend / restart / cancel take the same (job_id, reason) request.
_CONTROL_RPCS: Mapping[str, tuple[str, Any]] = {
    "stop": ("StopJob", job_pb2.StopJobRequest),
    "suspend": ("SuspendJob", job_pb2.SuspendJobRequest),
    "restart": ("RestartJob", job_pb2.RestartJobRequest),
    "cancel": ("CancelJob", job_pb2.CancelJobRequest),
}


class BaseDagwireClient(_WorkflowCalls):
    """Configuration and request building shared by DagwireClient and AsyncDagwireClient.

    ``target`` is ``host:port``; ``timeout`` the deadline in seconds of each unary call
    (None: no deadline; watches never have one); ``token`` goes out as the ``token``
    metadata Kuscia expects; ``metadata`` adds further key/value pairs to every call.
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
        self.target = target
        self.timeout = timeout
        pairs = list(metadata.items() if isinstance(metadata, Mapping) else metadata)
        # Ask a dagwire server for the ErrorInfo it leaves out of Kuscia-compatible error
        # answers by default; Kuscia itself ignores the key.
        pairs.append((ERROR_INFO_KEY, "1"))
        if token:
            pairs.append(("token", token))
        self._metadata: tuple[tuple[str, str], ...] = tuple(pairs)
        self._credentials, self._options = self._channel_config(tls)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target!r})"

    @staticmethod
    def _channel_config(
        tls: TLS,
    ) -> tuple[grpc.ChannelCredentials | None, list[tuple[str, Any]]]:
        """Channel credentials (None for plaintext) and channel options."""
        if isinstance(tls, grpc.ChannelCredentials):
            return tls, []
        if isinstance(tls, TLSConfig):
            options = [("grpc.ssl_target_name_override", tls.server_hostname)]
            return tls.credentials(), options if tls.server_hostname else []
        return (grpc.ssl_channel_credentials() if tls else None), []

    # --- request building: one _Call per RPC --------------------------------------------

    @staticmethod
    def _create_call(request: JobRequest) -> _Call[str]:
        if isinstance(request, Mapping):
            request = job_request_from_dict(request)
        return _Call("CreateJob", request, _job_id_of)

    @staticmethod
    def _get_call(job_id: str) -> _Call[Job]:
        return _Call(
            "QueryJob",
            job_pb2.QueryJobRequest(job_id=job_id),
            lambda response: Job._from_proto(_checked(response).data),
        )

    @staticmethod
    def _batch_status_call(job_ids: Iterable[str]) -> _Call[list[JobStatus]]:
        return _Call(
            "BatchQueryJobStatus",
            job_pb2.BatchQueryJobStatusRequest(job_ids=list(job_ids)),
            lambda response: [JobStatus._from_proto(j) for j in _checked(response).data.jobs],
        )

    @staticmethod
    def _list_jobs_call(
        states: Iterable[JobState | str] = (),
        page_size: int = 0,
        page_token: str = "",
        id_contains: str = "",
    ) -> _Call[Page[JobStatus]]:
        request = job_pb2.ListJobsRequest(
            states=[str(state) for state in states],
            page_size=page_size,
            page_token=page_token,
            job_id_contains=id_contains,
        )

        def parse(response: Any) -> Page[JobStatus]:
            data = _checked(response).data
            jobs = tuple(JobStatus._from_proto(j) for j in data.jobs)
            return Page(jobs, data.next_page_token, response)

        return _Call("ListJobs", request, parse)

    @staticmethod
    def _control_call(action: str, job_id: str, reason: str) -> _Call[None]:
        method, request_type = _CONTROL_RPCS[action]
        return _Call(method, request_type(job_id=job_id, reason=reason), _nothing)

    @staticmethod
    def _delete_call(job_id: str) -> _Call[None]:
        return _Call("DeleteJob", job_pb2.DeleteJobRequest(job_id=job_id), _nothing)

    @staticmethod
    def _approve_call(job_id: str, accept: bool, reason: str, domain_id: str) -> _Call[None]:
        result = job_pb2.APPROVE_RESULT_ACCEPT if accept else job_pb2.APPROVE_RESULT_REJECT
        request = job_pb2.ApproveJobRequest(
            job_id=job_id, result=result, reason=reason, domain_id=domain_id
        )
        return _Call("ApproveJob", request, _nothing)


# --- watching --------------------------------------------------------------------------------

#: Stream failures after which a watch reconnects (resuming where it left off).
#: RESOURCE_EXHAUSTED is how the server cuts off a subscriber that fell behind.
RECONNECT_STATUSES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
#: ...unless the ErrorInfo reason says resuming cannot help: an event larger than the
#: server's send limit would come again.
FATAL_REASONS = frozenset({"EVENT_TOO_LARGE"})
RECONNECT_INITIAL_DELAY = 0.1
RECONNECT_MAX_DELAY = 2.0
#: Consecutive failed (re)connections, without a single message in between, before giving up.
RECONNECT_ATTEMPTS = 10


class _WatchCursor:
    """Where a watch stands, across reconnections; decides what reaches the caller.

    It remembers the last resource_version seen (events and heartbeats) and resumes from it,
    so the caller misses nothing and gets nothing twice. A fresh stream starts with a burst
    of synthetic ADDED events that cannot be resumed half-way, so until the burst is over
    (the first heartbeat or non-ADDED event) a reconnection re-lists instead and the ADDED
    events already delivered are not repeated.

    Against a server without the resource_version extension (Kuscia), every reconnection
    re-lists, so ADDED events for existing jobs can come again.

    This one watches jobs; :class:`_RunWatchCursor` overrides the three hooks (``_request``,
    ``_event``, ``_key``) for runs.
    """

    def __init__(
        self,
        *,
        job_ids: Iterable[str],
        resume_from: int,
        include_heartbeats: bool,
        timeout_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job_ids = frozenset(job_ids)
        self.last_rv = resume_from
        self.include_heartbeats = include_heartbeats
        self._clock = clock
        self._deadline = clock() + timeout_seconds if timeout_seconds > 0 else None
        self._listing = resume_from <= 0  # inside the initial ADDED burst
        self._listed: set[tuple[str, int]] = set()  # (job_id, rv) delivered in the burst
        self._floor = 0  # resume_from of the current stream
        self._failures = 0
        self._states = JobStates()

    def request(self) -> Any:
        """The request for the next stream: resuming after the last version when possible."""
        resume = 0 if self._listing else self.last_rv
        self._floor = resume
        timeout = 0
        if self._deadline is not None:
            timeout = max(1, math.ceil(self._deadline - self._clock()))
        return self._request(resume, timeout)

    def _request(self, resume: int, timeout: int) -> Any:
        # Deltas: each change costs the tasks it changed, not the whole job; JobStates
        # turns them back into whole states. A new stream starts from whole jobs again.
        self._states = JobStates()
        return job_pb2.WatchJobRequest(
            timeout_seconds=timeout, resume_from=resume, job_ids=sorted(self.job_ids), deltas=True
        )

    def _whole(self, message: Any) -> Any:
        return self._states.whole(message)

    @staticmethod
    def _event(message: Any) -> Any:
        return JobEvent._from_proto(message)

    @staticmethod
    def _key(event: Any) -> str:
        """The id of the object an event is about."""
        return str(event.job_id)

    def accept(self, message: Any) -> Any:
        """The event to hand to the caller, or None when it is to be hidden."""
        self._failures = 0
        event = self._event(self._whole(message))
        rv = event.resource_version
        if self._floor and 0 < rv <= self._floor and event.type is not EventType.HEARTBEAT:
            return None  # replayed: delivered before the reconnection
        if self._listing:
            if event.type is EventType.ADDED:
                if (self._key(event), rv) in self._listed:
                    return None
                self._listed.add((self._key(event), rv))
            else:
                self._listing, self._listed = False, set()
        if not self._listing:
            self.last_rv = max(self.last_rv, rv)
        if event.type is EventType.HEARTBEAT:
            return event if self.include_heartbeats else None
        if self.job_ids and self._key(event) not in self.job_ids:
            return None
        return event

    def dropped(self, exc: grpc.RpcError) -> float:
        """Seconds to wait before reconnecting after the stream failed; raises when fatal."""
        error = error_from_rpc(exc)
        if error.status not in RECONNECT_STATUSES or error.reason in FATAL_REASONS:
            raise error from None
        return self._backoff(error)

    def ended(self) -> float | None:
        """After the server ended the stream: None when the watch is over, else a delay."""
        if self._deadline is not None:
            return None  # timeout_seconds elapsed: a normal end
        return self._backoff(RPCError(grpc.StatusCode.UNAVAILABLE, "watch stream ended"))

    def _backoff(self, error: RPCError) -> float:
        self._failures += 1
        if self._failures > RECONNECT_ATTEMPTS:
            raise error
        return min(RECONNECT_INITIAL_DELAY * 2.0 ** (self._failures - 1), RECONNECT_MAX_DELAY)


class _RunWatchCursor(_WatchCursor):
    """The same bookkeeping for WatchRuns (``job_ids`` holds the run ids)."""

    def _request(self, resume: int, timeout: int) -> wf.WatchRunsRequest:
        return wf.WatchRunsRequest(
            timeout_seconds=timeout, resume_from=resume, run_ids=sorted(self.job_ids)
        )

    def _whole(self, message: Any) -> Any:
        return message

    @staticmethod
    def _event(message: Any) -> RunEvent:
        return RunEvent._from_proto(message)

    @staticmethod
    def _key(event: Any) -> str:
        return str(event.run_id)


def _watch_cursor(
    job_ids: Iterable[str] | str,
    resume_from: int,
    include_heartbeats: bool,
    timeout_seconds: float,
    kind: type[_WatchCursor] = _WatchCursor,
) -> _WatchCursor:
    """A cursor for jobs, or for runs with ``kind=_RunWatchCursor``."""
    if isinstance(job_ids, str):  # a lone id, not its characters
        job_ids = (job_ids,)
    return kind(
        job_ids=job_ids,
        resume_from=resume_from,
        include_heartbeats=include_heartbeats,
        timeout_seconds=timeout_seconds,
    )


class _JobWaiter:
    """Waiting for one job to reach a terminal state, shared by both job handles."""

    def __init__(self, job_id: str, timeout: float | None) -> None:
        self.job_id = job_id
        self.timeout = timeout
        self._deadline = time.monotonic() + timeout if timeout is not None else None

    def watch_args(self) -> dict[str, Any]:
        """Arguments for watch_jobs: this job only, heartbeats on so the deadline is checked."""
        seconds = 0 if self.timeout is None else max(1, math.ceil(self.timeout))
        return {"job_ids": (self.job_id,), "include_heartbeats": True, "timeout_seconds": seconds}

    def finished(self, event: JobEvent) -> bool:
        """True once ``event`` shows the job terminal; raises when it can never be."""
        if event.job_id == self.job_id:
            if event.type is EventType.DELETED:
                raise JobNotFoundError(
                    f"job {self.job_id!r} was deleted before it finished", reason="JOB_NOT_FOUND"
                )
            if event.status is not None and event.status.is_terminal:
                return True
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise self.timed_out()
        return False

    def timed_out(self) -> DagwireError:
        return WaitTimeoutError(f"job {self.job_id!r} did not finish within {self.timeout} seconds")


class _RunWaiter:
    """Waiting for one run to finish (succeeded, failed, terminated), for both run handles."""

    def __init__(self, run_id: str, timeout: float | None) -> None:
        self.run_id = run_id
        self.timeout = timeout
        self._deadline = time.monotonic() + timeout if timeout is not None else None

    def watch_args(self) -> dict[str, Any]:
        """Arguments for watch_runs: this run only, heartbeats on so the deadline is checked."""
        seconds = 0 if self.timeout is None else max(1, math.ceil(self.timeout))
        return {"run_ids": (self.run_id,), "include_heartbeats": True, "timeout_seconds": seconds}

    def finished(self, event: RunEvent) -> bool:
        """True once ``event`` shows the run finished; raises when it never can."""
        if event.run_id == self.run_id and event.run is not None:
            if event.type is EventType.DELETED:
                raise NotFoundError(
                    grpc.StatusCode.NOT_FOUND,
                    f"run {self.run_id!r} was deleted before it finished",
                    resource_type="run",
                    resource_name=self.run_id,
                )
            if event.run.is_finished:
                return True
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise self.timed_out()
        return False

    def timed_out(self) -> DagwireError:
        return WaitTimeoutError(f"run {self.run_id!r} did not finish within {self.timeout} seconds")
