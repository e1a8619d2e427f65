"""Reassembling a watch of deltas into whole job states.

A dagwire server asked for ``deltas`` sends each job whole once per stream, then, for
every change, the job's status with only the tasks that changed (``delta`` set on the
event). The SDK keeps the last whole status of every unfinished job it watches and hands
its users whole states, as a plain Kuscia watch would. A server without the extension
(Kuscia) ignores the request field and sends every event whole; nothing is merged then.
"""

from __future__ import annotations

from dagwire.kuscia.v1alpha1.kusciaapi import job_pb2

from ._models import TERMINAL_STATES


class JobStates:
    """The last whole status of each unfinished job of one watch, by job id."""

    def __init__(self) -> None:
        self._states: dict[str, job_pb2.JobStatus] = {}
        self._positions: dict[str, dict[str, int]] = {}  # job -> task_id -> index

    def whole(self, message: job_pb2.WatchJobEventResponse) -> job_pb2.WatchJobEventResponse:
        """`message` with its job's whole status (itself unless it is a delta)."""
        if not message.HasField("object"):
            return message
        job_id = message.object.job_id
        if message.delta:
            message = self._merged(message)
        self._remember(job_id, message)
        return message

    def _merged(self, delta: job_pb2.WatchJobEventResponse) -> job_pb2.WatchJobEventResponse:
        base = self._states.get(delta.object.job_id)
        if base is None:
            raise ValueError(
                f"the server sent a delta of job {delta.object.job_id!r} before the job itself"
            )
        whole = job_pb2.WatchJobEventResponse()
        whole.CopyFrom(delta)
        whole.delta = False
        tasks = whole.object.status.tasks
        changed = list(tasks)
        del tasks[:]
        tasks.extend(base.status.tasks)
        positions = self._positions[delta.object.job_id]
        for task in changed:
            tasks[positions[task.task_id]].CopyFrom(task)
        return whole

    def _remember(self, job_id: str, message: job_pb2.WatchJobEventResponse) -> None:
        gone = message.type == job_pb2.DELETED
        if gone or message.object.status.state in TERMINAL_STATES:
            # The server forgets it too: its next event of the job comes whole.
            self._states.pop(job_id, None)
            self._positions.pop(job_id, None)
            return
        self._states[job_id] = message.object
        if job_id not in self._positions:
            self._positions[job_id] = {
                task.task_id: i for i, task in enumerate(message.object.status.tasks)
            }
