"""The asyncio client: AsyncDagwireClient and AsyncJobHandle (twins of the sync ones)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable, Mapping
from contextlib import aclosing
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


class AsyncDagwireClient(BaseDagwireClient):
    """asyncio client of the Kuscia-compatible JobService; the twin of DagwireClient.

    Use it as an async context manager (or await :meth:`close`)::

        async with AsyncDagwireClient(target="127.0.0.1:8083") as client:
            job = await client.run_job(body)

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
        # Created on first use, so that the channel binds to the loop that uses it.
        self._channel: grpc.aio.Channel | None = None
        self._stub_: Any = None

    @property
    def _stub(self) -> Any:
        if self._stub_ is None:
            if self._credentials is None:
                self._channel = grpc.aio.insecure_channel(self.target, options=self._options)
            else:
                self._channel = grpc.aio.secure_channel(
                    self.target, self._credentials, options=self._options
                )
            self._stub_ = job_pb2_grpc.JobServiceStub(self._channel)
        return self._stub_

    async def __aenter__(self) -> AsyncDagwireClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        if self._channel is not None:
            await self._channel.close(grace=None)
            self._channel, self._stub_ = None, None

    async def _invoke(self, call: _Call[T]) -> T:
        method = getattr(self._stub, call.method)
        try:
            response = await method(call.request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return call.parse(response)

    # --- jobs ---------------------------------------------------------------------------

    async def create_job(self, request: JobRequest) -> AsyncJobHandle:
        """Creates a job from a CreateJobRequest or Kuscia's JSON body (a dict)."""
        return AsyncJobHandle(self, await self._invoke(self._create_call(request)))

    async def submit_job(self, request: JobRequest) -> AsyncJobHandle:
        """Same as :meth:`create_job`: submit, and get a handle to wait on."""
        return await self.create_job(request)

    async def run_job(
        self,
        request: JobRequest,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - same signature as the sync twin
    ) -> Job:
        """Creates a job and waits until it is terminal; see :meth:`AsyncJobHandle.result`."""
        return await (await self.create_job(request)).result(timeout=timeout)

    def job_handle(self, job_id: str) -> AsyncJobHandle:
        """A handle to an existing job (no call is made)."""
        return AsyncJobHandle(self, job_id)

    async def get_job(self, job_id: str) -> Job:
        """The job's spec and status."""
        return await self._invoke(self._get_call(job_id))

    async def batch_status(self, job_ids: Iterable[str]) -> list[JobStatus]:
        """The status of each job, in the order asked."""
        return await self._invoke(self._batch_status_call(job_ids))

    async def stop_job(self, job_id: str, reason: str = "") -> None:
        """Terminates running tasks; the job fails with ``reason`` as its err_msg."""
        await self._invoke(self._control_call("stop", job_id, reason))

    async def suspend_job(self, job_id: str, reason: str = "") -> None:
        """Pauses a Pending, Running or AwaitingApproval job (else IllegalStateError)."""
        await self._invoke(self._control_call("suspend", job_id, reason))

    async def restart_job(self, job_id: str, reason: str = "") -> None:
        """Re-runs the unfinished tasks of a Suspended or Failed job (else IllegalStateError)."""
        await self._invoke(self._control_call("restart", job_id, reason))

    async def cancel_job(self, job_id: str, reason: str = "") -> None:
        """Cancels the job for good."""
        await self._invoke(self._control_call("cancel", job_id, reason))

    async def delete_job(self, job_id: str) -> None:
        """Stops what runs and removes the job."""
        await self._invoke(self._delete_call(job_id))

    async def approve_job(
        self, job_id: str, accept: bool, reason: str = "", domain_id: str = ""
    ) -> None:
        """Records ``domain_id``'s decision (default: the caller's domain) on a waiting job."""
        await self._invoke(self._approve_call(job_id, accept, reason, domain_id))

    async def watch_jobs(
        self,
        job_ids: Iterable[str] = (),
        resume_from: int = 0,
        include_heartbeats: bool = False,
        timeout_seconds: float = 0,
    ) -> AsyncGenerator[JobEvent, None]:
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
                async for message in stream:
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
            await asyncio.sleep(delay)


class AsyncJobHandle:
    """A job submitted through an :class:`AsyncDagwireClient`."""

    def __init__(self, client: AsyncDagwireClient, job_id: str) -> None:
        self.client = client
        self.job_id = job_id

    def __repr__(self) -> str:
        return f"AsyncJobHandle(job_id={self.job_id!r})"

    async def describe(self) -> Job:
        """The job's spec and current status."""
        return await self.client.get_job(self.job_id)

    async def result(self, timeout: float | None = None) -> Job:  # noqa: ASYNC109 - sync parity
        """Waits until the job is terminal (Succeeded, Failed, ApprovalReject, Cancelled).

        Returns the job whatever its final state; raises WaitTimeoutError after ``timeout``
        seconds, JobNotFoundError when the job is deleted meanwhile.
        """
        waiter = _JobWaiter(self.job_id, timeout)
        job = await self.describe()
        if job.status.is_terminal:
            return job
        async with aclosing(self.client.watch_jobs(**waiter.watch_args())) as events:
            async for event in events:
                if waiter.finished(event):
                    return await self.describe()
        raise waiter.timed_out()

    async def cancel(self, reason: str = "") -> None:
        """Cancels the job for good."""
        await self.client.cancel_job(self.job_id, reason)

    async def stop(self, reason: str = "") -> None:
        """Stops the job; it ends Failed with ``reason``."""
        await self.client.stop_job(self.job_id, reason)
