"""The blocking client: DagwireClient and JobHandle."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Mapping
from contextlib import closing
from types import TracebackType
from typing import Any, TypeVar

import grpc

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2_grpc

from ._base import (
    DEFAULT_TARGET,
    DEFAULT_TIMEOUT,
    TLS,
    BaseDagwireClient,
    JobRequest,
    _Call,
    _JobWaiter,
    _watch_cursor,
)
from ._errors import error_from_rpc
from ._models import Job, JobEvent, JobStatus

T = TypeVar("T")


class DagwireClient(BaseDagwireClient):
    """Blocking client of the Kuscia-compatible JobService.

    Use it as a context manager (or call :meth:`close`)::

        with DagwireClient(target="127.0.0.1:8083", token="...") as client:
            job = client.run_job(body)          # body: Kuscia's JSON as a dict
            print(job.status.state)

    Server-side failures raise a :class:`~dagwire.client.KusciaError` subclass, transport
    failures :class:`~dagwire.client.RPCError`.
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
        if self._credentials is None:
            self._channel = grpc.insecure_channel(target, options=self._options)
        else:
            self._channel = grpc.secure_channel(target, self._credentials, options=self._options)
        self._stub: Any = job_pb2_grpc.JobServiceStub(self._channel)

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
        self._channel.close()

    def _invoke(self, call: _Call[T]) -> T:
        method = getattr(self._stub, call.method)
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

    def run_job(self, request: JobRequest, *, timeout: float | None = None) -> Job:
        """Creates a job and waits until it is terminal; see :meth:`JobHandle.result`."""
        return self.create_job(request).result(timeout=timeout)

    def job_handle(self, job_id: str) -> JobHandle:
        """A handle to an existing job (no call is made)."""
        return JobHandle(self, job_id)

    def get_job(self, job_id: str) -> Job:
        """The job's spec and status."""
        return self._invoke(self._get_call(job_id))

    def batch_status(self, job_ids: Iterable[str]) -> list[JobStatus]:
        """The status of each job, in the order asked."""
        return self._invoke(self._batch_status_call(job_ids))

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

    def approve_job(self, job_id: str, accept: bool, reason: str = "", domain_id: str = "") -> None:
        """Records ``domain_id``'s decision (default: the caller's domain) on a waiting job."""
        self._invoke(self._approve_call(job_id, accept, reason, domain_id))

    def watch_jobs(
        self,
        job_ids: Iterable[str] = (),
        resume_from: int = 0,
        include_heartbeats: bool = False,
        timeout_seconds: float = 0,
    ) -> Generator[JobEvent, None, None]:
        """Streams job events, across dropped connections, until ``timeout_seconds`` (0: never).

        Without ``resume_from`` the stream starts with an ADDED event per existing job.
        ``job_ids`` limits the events to those jobs. Heartbeats are hidden unless asked for.
        A stream that drops is resumed after the last event seen, so nothing is missed or
        repeated; :class:`WatchExpiredError` when the server no longer has those events.
        """
        cursor = _watch_cursor(job_ids, resume_from, include_heartbeats, timeout_seconds)
        delay: float | None
        while True:
            stream = self._stub.WatchJob(cursor.request(), metadata=self._metadata)
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


class JobHandle:
    """A job submitted through a :class:`DagwireClient`."""

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
